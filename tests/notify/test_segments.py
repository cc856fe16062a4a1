"""SMS length is counted in real segments: GSM-7 vs UCS-2, French accents matter."""
import pytest

from notify.segments import gsm_safe, is_gsm7, sms_info


def test_plain_ascii_of_160_characters_is_one_gsm7_segment():
    info = sms_info("a" * 160)
    assert (info.encoding, info.length_units, info.segments, info.chars) == ("GSM-7", 160, 1, 160)


def test_plain_ascii_of_161_characters_takes_two_segments():
    assert sms_info("a" * 161).segments == 2


def test_long_gsm7_message_is_split_in_parts_of_153():
    assert sms_info("a" * 306).segments == 2
    assert sms_info("a" * 307).segments == 3


def test_empty_message_has_no_segment():
    assert sms_info("").segments == 0


def test_one_circumflex_turns_the_whole_message_into_ucs2():
    info = sms_info("Restez à l'intérieur, fenêtres fermées")
    assert info.encoding == "UCS-2"


def test_ucs2_message_of_70_is_one_segment_and_71_is_two():
    assert sms_info("ê" * 70).segments == 1
    assert sms_info("ê" * 71).segments == 2
    assert sms_info("ê" * 134).segments == 2
    assert sms_info("ê" * 135).segments == 3


def test_euro_sign_counts_double_in_gsm7():
    info = sms_info("€" * 80)
    assert (info.encoding, info.length_units, info.segments) == ("GSM-7", 160, 1)
    assert sms_info("€" + "a" * 159).segments == 2


@pytest.mark.parametrize("char", list("€{}[]~\\|^"))
def test_extension_characters_are_gsm7_but_cost_two_units(char):
    info = sms_info(char)
    assert (info.encoding, info.length_units) == ("GSM-7", 2)


def test_escaped_character_is_not_split_across_parts():
    # 152 plain characters then '€': the escape pair cannot straddle the part boundary.
    text = "a" * 152 + "€" + "a" * 10
    assert sms_info(text).length_units == 164
    assert sms_info(text).segments == 2
    assert sms_info("a" * 152 + "€" * 77).segments == 3  # 152+154 units, packed 152|152|2


def test_french_sentence_with_only_e_acute_e_grave_and_a_grave_stays_gsm7():
    text = "Séisme près de la côte".replace("ô", "o") + ": évacuez à pied, très vite."
    info = sms_info(text)
    assert info.encoding == "GSM-7"
    assert info.segments == 1


@pytest.mark.parametrize("char", list("éèùìòàäöñüÇÉ"))
def test_accents_in_the_gsm7_table_are_gsm7(char):
    assert is_gsm7(char)


@pytest.mark.parametrize("char", list("âêîôûëïœçÀÈÊ’«»"))
def test_french_characters_outside_gsm7_are_ucs2(char):
    assert sms_info("Alerte " + char).encoding == "UCS-2"


def test_emoji_count_as_two_utf16_units():
    info = sms_info("🙂" * 35)
    assert (info.encoding, info.length_units, info.chars, info.segments) == ("UCS-2", 70, 35, 1)
    assert sms_info("🙂" * 36).segments == 2


def test_emoji_is_not_split_across_ucs2_parts():
    # 66 units then an emoji: the surrogate pair goes whole into the second part, so
    # 134 units need three parts (66 | 2+65 | 1), not the two that 134 / 67 suggests.
    assert sms_info("ê" * 66 + "🙂" + "ê" * 65).segments == 2
    assert sms_info("ê" * 66 + "🙂" + "ê" * 66).segments == 3


def test_gsm_safe_folds_circumflexes_and_keeps_gsm7_accents():
    text = "Fenêtres fermées, île, hôtel, sûr, Noël, naïf, cœur, ça, À, È, Être l’été «vite»"
    safe = gsm_safe(text)
    assert safe == 'Fenetres fermées, ile, hotel, sur, Noel, naif, coeur, ca, A, E, Etre l\'été "vite"'
    assert sms_info(safe).encoding == "GSM-7"


def test_gsm_safe_keeps_e_acute_e_grave_a_grave_and_u_grave():
    assert gsm_safe("éè à où") == "éè à où"


def test_gsm_safe_keeps_extension_characters():
    assert gsm_safe("10 € [x]") == "10 € [x]"


def test_gsm_safe_replaces_unknown_symbols_with_a_visible_mark():
    assert gsm_safe("Restez calme 🙏") == "Restez calme ?"


def test_gsm_safe_composes_decomposed_accents_first():
    assert gsm_safe("e\u0301te\u0302") == "éte"


def test_gsm_safe_folds_spaces_and_dashes_word_processors_insert():
    assert gsm_safe("a\u00a0:\u202fb — c…") == "a : b - c..."
