"""Field-level checks and normalisation for traveller data, shared by the web form, the API
and the bulk importer so that every way in accepts and refuses exactly the same things.

Each function returns the clean value or raises `ValidationFailed` naming the field (the
`field` argument, so callers can say `stops-2-country`). Messages are English templates
marked with `N_`; the web layer translates them.
"""
from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from phonenumbers import PhoneNumberType

from common.i18n import N_
from geo import countries
from registry.errors import ValidationFailed

LANGUAGES = ("en", "fr")
MAX_NAME_LENGTH = 100
MAX_PLACE_LENGTH = 200
MAX_EMAIL_LENGTH = 254

# Types that can receive an SMS. FIXED_LINE_OR_MOBILE is what North American numbers
# parse as: the numbering plan does not tell landlines and mobiles apart.
_SMS_CAPABLE = {
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE,
    PhoneNumberType.PERSONAL_NUMBER,
    PhoneNumberType.VOIP,
}


def _fail(field: str, message: str, **params: Any) -> ValidationFailed:
    return ValidationFailed.single(field, message, **params)


def _text(raw: Any) -> str:
    return "" if raw is None else str(raw).strip()


def normalise_email(raw: Any, field: str = "email") -> str:
    """A syntactically valid address with its domain lower-cased (no DNS lookup: a consular
    registry must accept a traveller whose mail server is down in a crisis)."""
    text = _text(raw)
    if not text:
        raise _fail(field, N_("Enter an email address."))
    if len(text) > MAX_EMAIL_LENGTH:
        raise _fail(field, N_("An email address can have at most %(max)d characters."),
                    max=MAX_EMAIL_LENGTH)
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise _fail(field, N_("%(value)s is not a valid email address, like name@example.com."),
                    value=text) from None
    local, _, domain = result.normalized.rpartition("@")
    return f"{local}@{domain.lower()}"


def normalise_phone(raw: Any, region_hint: str | None = None, field: str = "phone") -> str:
    """An SMS-capable number in E.164 (`+16135550199`).

    Numbers must be written in international format (`+1 613 555 0199`) unless the caller
    knows the region the number was written for (`region_hint`, an alpha-2 code): travellers
    abroad type numbers from many countries, and guessing the country would text a stranger.
    """
    text = _text(raw)
    if not text:
        raise _fail(field, N_("Enter a mobile phone number."))
    if not text.startswith(("+", "00")) and not region_hint:
        raise _fail(field, N_("Write the number in international format, starting with + and "
                              "the country code, like +1 613 555 0199."), value=text)
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, (region_hint or "").upper() or None)
    except phonenumbers.NumberParseException:
        raise _fail(field, N_("%(value)s is not a phone number we can read."), value=text) from None
    if not phonenumbers.is_valid_number(number):
        raise _fail(field, N_("%(value)s is not a valid phone number."), value=text)
    if phonenumbers.number_type(number) not in _SMS_CAPABLE:
        raise _fail(field, N_("%(value)s cannot receive text messages; give a mobile number."),
                    value=text)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_country(code: Any, field: str = "country") -> str:
    """An upper-case ISO 3166-1 alpha-2 code that `geo` knows."""
    text = _text(code).upper()
    if not text:
        raise _fail(field, N_("Choose a country."))
    if len(text) != 2 or not countries.is_country(text):
        raise _fail(field, N_("Unknown country code %(code)s."), code=text)
    return text


def normalise_language(raw: Any, field: str = "language") -> str:
    """`en` or `fr`: the language alerts are written in first."""
    text = _text(raw).lower()
    if text not in LANGUAGES:
        raise _fail(field, N_("Choose English (en) or French (fr)."), value=text)
    return text


def normalise_name(raw: Any, field: str) -> str:
    """A required name, trimmed, inner runs of spaces collapsed, at most 100 characters."""
    text = " ".join(_text(raw).split())
    if not text:
        raise _fail(field, N_("This field is required."))
    if len(text) > MAX_NAME_LENGTH:
        raise _fail(field, N_("At most %(max)d characters."), max=MAX_NAME_LENGTH)
    return text


def normalise_place(raw: Any, field: str = "place") -> str | None:
    """An optional place name (None when blank)."""
    text = " ".join(_text(raw).split())
    if not text:
        return None
    if len(text) > MAX_PLACE_LENGTH:
        raise _fail(field, N_("At most %(max)d characters."), max=MAX_PLACE_LENGTH)
    return text


def parse_date(text: Any, field: str = "date", required: bool = True) -> date | None:
    """An ISO 8601 calendar date (`2025-03-14`; a date-time keeps its date part)."""
    if isinstance(text, datetime):
        return text.date()
    if isinstance(text, date):
        return text
    raw = _text(text)
    if not raw:
        if required:
            raise _fail(field, N_("Enter a date."))
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).date()
    except ValueError:
        raise _fail(field, N_("%(value)s is not a date; use the form YYYY-MM-DD."),
                    value=raw) from None


def check_window(arrival: date | None, departure: date | None, field: str = "departure") -> None:
    """Departure may be open (None) but never before arrival."""
    if arrival is not None and departure is not None and departure < arrival:
        raise _fail(field, N_("The departure date is before the arrival date."),
                    arrival=arrival.isoformat(), departure=departure.isoformat())


def _coordinate(raw: Any, field: str, limit: float) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise _fail(field, N_("%(value)s is not a number."), value=_text(raw)) from None
    if not math.isfinite(value) or not -limit <= value <= limit:
        raise _fail(field, N_("Must be between -%(limit)s and %(limit)s."),
                    value=_text(raw), limit=int(limit))
    return value


def parse_lat(raw: Any, field: str = "lat") -> float | None:
    """An optional latitude in degrees, within [-90, 90]."""
    return _coordinate(raw, field, 90.0)


def parse_lon(raw: Any, field: str = "lon") -> float | None:
    """An optional longitude in degrees, within [-180, 180]."""
    return _coordinate(raw, field, 180.0)
