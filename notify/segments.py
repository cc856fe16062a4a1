"""SMS length in real segments, as the carrier bills and splits it.

An SMS is GSM-7 only if every character is in the GSM 03.38 basic set or its extension
table; a single other character (â, ê, œ, ’, an emoji...) turns the whole message into
UCS-2, which cuts a segment from 160 to 70 characters. French text is full of such
characters, so coordinators must see the real count, and `gsm_safe` offers a variant that
keeps the accents GSM-7 has (é è ù ì ò à ...) and folds the others.

Long messages are sent as concatenated parts whose header takes room: 153 units per part
in GSM-7, 67 in UCS-2. An escaped extension character (two units) or a UTF-16 surrogate
pair (two units) is never split across parts, so parts are packed the way phones do.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# GSM 03.38 basic character set (the escape 0x1B itself is left out: it is not text).
# Lowercase ç is deliberately absent: the table's 0x09 is capital Ç, and phones and
# gateways disagree on whether ç maps to it, so we count ç as UCS-2 to be safe.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: each costs two units (escape + code).
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True)
class SmsInfo:
    """How an SMS body will travel: its encoding, size in units and number of parts."""

    encoding: str  # "GSM-7" or "UCS-2"
    length_units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int  # 0 for an empty body
    chars: int  # characters (code points) as a person counts them


def is_gsm7(text: str) -> bool:
    """True if every character of `text` can be sent in GSM-7."""
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def _units(text: str, gsm: bool) -> list[int]:
    if gsm:
        return [2 if c in GSM7_EXTENSION else 1 for c in text]
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


def _pack(units: list[int], part_size: int) -> int:
    """Number of parts when characters are packed greedily without being split."""
    parts, used = 1, 0
    for u in units:
        if used + u > part_size:
            parts += 1
            used = 0
        used += u
    return parts


def sms_info(text: str) -> SmsInfo:
    """Encoding, length in units and number of segments of `text` sent as one SMS."""
    gsm = is_gsm7(text)
    units = _units(text, gsm)
    total = sum(units)
    single, part = (GSM7_SINGLE, GSM7_PART) if gsm else (UCS2_SINGLE, UCS2_PART)
    if total == 0:
        segments = 0
    elif total <= single:
        segments = 1
    else:
        segments = _pack(units, part)
    return SmsInfo("GSM-7" if gsm else "UCS-2", total, segments, len(text))


# Replacements for common characters outside GSM-7. Accents GSM-7 has are kept.
_REPLACEMENTS = {
    "â": "a", "ê": "e", "î": "i", "ô": "o", "û": "u", "ë": "e", "ï": "i", "ÿ": "y",
    "á": "a", "í": "i", "ó": "o", "ú": "u", "ã": "a", "õ": "o", "ç": "c",
    "œ": "oe", "Œ": "OE",
    "À": "A", "Â": "A", "Á": "A", "Ã": "A", "È": "E", "Ê": "E", "Ë": "E", "Î": "I",
    "Ï": "I", "Í": "I", "Ì": "I", "Ô": "O", "Ó": "O", "Ò": "O", "Õ": "O", "Û": "U",
    "Ù": "U", "Ú": "U", "Ÿ": "Y",
    "’": "'", "‘": "'", "‚": "'", "ʼ": "'", "′": "'", "`": "'", "´": "'",
    "“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "″": '"',
    "‹": "'", "›": "'",
    "–": "-", "—": "-", "‑": "-", "‐": "-", "−": "-",
    "…": "...", "•": "-", "·": ".",
    "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ", "\t": " ",
    "\u200b": "", "\ufeff": "", "\u200d": "", "\ufe0f": "",
    "°": "o", "×": "x", "™": "TM", "©": "(c)", "®": "(R)",
}


def _fold(c: str) -> str:
    if c in GSM7_BASIC or c in GSM7_EXTENSION:
        return c
    if c in _REPLACEMENTS:
        return _REPLACEMENTS[c]
    # Anything else: drop its accents if that gives GSM-7 text, else a visible '?'.
    stripped = "".join(ch for ch in unicodedata.normalize("NFD", c) if not unicodedata.combining(ch))
    if stripped and is_gsm7(stripped):
        return stripped
    return "?"


def gsm_safe(text: str) -> str:
    """A GSM-7-only variant of `text`: keeps é è à ù ... and folds â ê œ ’ « » and the like.

    Characters with no sensible GSM-7 form (emoji, other scripts) become '?', so the
    reader sees that something was there.
    """
    text = unicodedata.normalize("NFC", text)
    return "".join(_fold(c) for c in text)
