"""A traveller's SMS answer is read in English or French, whatever its case or accents."""
import pytest

from notify.replies import parse_reply


@pytest.mark.parametrize("body", ["1", "SAFE", "safe", "Sauf", "OK", "ok", "Yes", "OUI", "oui",
                                  " Oui. ", "ok!", "Safe!!", "\"OK\"", "1."])
def test_safe_keywords_mean_safe(body):
    assert parse_reply(body) == "safe"


@pytest.mark.parametrize("body", ["2", "HELP", "help", "Aide", "AIDE!", "sos", "SOS!!!", " 2 "])
def test_help_keywords_mean_need_help(body):
    assert parse_reply(body) == "need_help"


@pytest.mark.parametrize("body", ["STOP", "stop", "Stop.", "STOPALL", "UNSUBSCRIBE", "END", "QUIT",
                                  "CANCEL", "ARRET", "ARRÊT", "arrêt", "Arrêt!"])
def test_opt_out_keywords_mean_opt_out(body):
    assert parse_reply(body) == "opt_out"


@pytest.mark.parametrize("body", ["START", "start", "UNSTOP", "Start."])
def test_opt_in_keywords_mean_opt_in(body):
    assert parse_reply(body) == "opt_in"


def test_yes_is_safe_not_opt_in():
    assert parse_reply("YES") == "safe"


@pytest.mark.parametrize("body", ["safe thanks", "Oui je vais bien", "OK, all good here",
                                  "1 - tout va bien", "Sauf, merci"])
def test_longer_reply_starting_with_a_safe_word_is_safe(body):
    assert parse_reply(body) == "safe"


@pytest.mark.parametrize("body", ["help we are trapped", "SOS inondation", "Aide svp", "2 blessé"])
def test_longer_reply_starting_with_a_help_word_needs_help(body):
    assert parse_reply(body) == "need_help"


@pytest.mark.parametrize("body", ["oui mais j'ai besoin d'aide", "ok but need help", "yes, not safe",
                                  "1 2", "OK pas bien"])
def test_safe_word_contradicted_later_goes_to_a_human(body):
    assert parse_reply(body) is None


@pytest.mark.parametrize("body", ["stop sending me these", "start again please", "arret svp"])
def test_opt_out_and_opt_in_only_count_as_the_whole_reply(body):
    assert parse_reply(body) is None


@pytest.mark.parametrize("body", ["", "   ", None, "...", "🙂", "Where is the embassy?",
                                  "I'm fine", "3", "okapi", "safety?", "not safe"])
def test_unknown_replies_are_kept_for_a_human(body):
    assert parse_reply(body) is None
