"""The rest of a complete record: companions, emergency contacts at home, date of birth,
a second phone, the purpose of travel and a stop's address.

Kept apart from `registry.service` so the core traveller rules stay short; the service calls
these checks, so the web form, the API and self-service refuse the same things. Field names
follow the form: `companions-<i>-<field>`, `contacts-<i>-<field>`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable

from common.i18n import N_
from registry.errors import FieldError, ValidationFailed
from registry.models import AGE_BANDS, MAX_COMPANIONS, TRIP_PURPOSES
from registry.validation import (
    normalise_email,
    normalise_language,
    normalise_name,
    normalise_phone,
    parse_date,
)

MAX_CONTACTS = 5
MAX_ADDRESS_LENGTH = 300
MAX_RELATIONSHIP_LENGTH = 100
MAX_CONTACT_NAME_LENGTH = 200
OLDEST_AGE_YEARS = 125


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str:
    return "" if value is None else " ".join(str(value).split())


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return _text(value).lower() in ("1", "on", "yes", "true", "y")


@dataclass(kw_only=True)
class CompanionInput:
    """Someone travelling with the traveller, as typed. Own contacts are optional."""

    given_name: Any
    family_name: Any
    age_band: Any
    email: Any = None
    phone: Any = None
    non_citizen: Any = False


@dataclass(kw_only=True)
class ContactInput:
    """Someone at home, as typed: a phone or an email (or both) is needed."""

    name: Any
    relationship: Any = None
    phone: Any = None
    email: Any = None
    language: Any = "en"


@dataclass(frozen=True)
class CleanCompanion:
    given_name: str
    family_name: str
    age_band: str
    email: str | None
    phone: str | None
    non_citizen: bool


@dataclass(frozen=True)
class CleanContact:
    name: str
    relationship: str | None
    phone: str | None
    email: str | None
    language: str


def _collect(errors: list[FieldError], check, *args, **kwargs):
    try:
        return check(*args, **kwargs)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
        return None


def _optional_email(raw: Any, field: str, errors: list[FieldError]) -> str | None:
    return None if _blank(raw) else _collect(errors, normalise_email, raw, field=field)


def _optional_phone(raw: Any, field: str, errors: list[FieldError]) -> str | None:
    return None if _blank(raw) else _collect(errors, normalise_phone, raw, field=field)


def validate_companion(data: CompanionInput, index: int) -> CleanCompanion:
    p = f"companions-{index}-"
    errors: list[FieldError] = []
    given = _collect(errors, normalise_name, data.given_name, field=f"{p}given_name")
    family = _collect(errors, normalise_name, data.family_name, field=f"{p}family_name")
    band = _text(data.age_band)
    if band not in AGE_BANDS:
        errors.append(FieldError(f"{p}age_band", N_("Choose an age group."), {"value": band}))
    email = _optional_email(data.email, f"{p}email", errors)
    phone = _optional_phone(data.phone, f"{p}phone", errors)
    if errors:
        raise ValidationFailed(errors)
    return CleanCompanion(given_name=given, family_name=family, age_band=band, email=email,
                          phone=phone, non_citizen=_flag(data.non_citizen))


def validate_companions(items: Iterable[CompanionInput] | None) -> tuple[CleanCompanion, ...]:
    """Every companion checked; more than `MAX_COMPANIONS` is one error on `companions`."""
    items = list(items or [])
    if len(items) > MAX_COMPANIONS:
        raise ValidationFailed.single("companions", N_("At most %(max)d people can travel with you "
                                                       "on one registration."), max=MAX_COMPANIONS)
    errors: list[FieldError] = []
    clean = [_collect(errors, validate_companion, item, i) for i, item in enumerate(items)]
    if errors:
        raise ValidationFailed(errors)
    return tuple(clean)


def validate_contact(data: ContactInput, index: int) -> CleanContact:
    p = f"contacts-{index}-"
    errors: list[FieldError] = []
    name = _text(data.name)
    if not name:
        errors.append(FieldError(f"{p}name", N_("This field is required.")))
    elif len(name) > MAX_CONTACT_NAME_LENGTH:
        errors.append(FieldError(f"{p}name", N_("At most %(max)d characters."),
                                 {"max": MAX_CONTACT_NAME_LENGTH}))
    relationship = _text(data.relationship) or None
    if relationship and len(relationship) > MAX_RELATIONSHIP_LENGTH:
        errors.append(FieldError(f"{p}relationship", N_("At most %(max)d characters."),
                                 {"max": MAX_RELATIONSHIP_LENGTH}))
    if _blank(data.phone) and _blank(data.email):
        errors.append(FieldError(f"{p}phone", N_("Give a phone number or an email address for "
                                                 "this contact.")))
    phone = _optional_phone(data.phone, f"{p}phone", errors)
    email = _optional_email(data.email, f"{p}email", errors)
    language = _collect(errors, normalise_language, data.language or "en", field=f"{p}language")
    if errors:
        raise ValidationFailed(errors)
    return CleanContact(name=name, relationship=relationship, phone=phone, email=email,
                        language=language)


def validate_contacts(items: Iterable[ContactInput] | None) -> tuple[CleanContact, ...]:
    items = list(items or [])
    if len(items) > MAX_CONTACTS:
        raise ValidationFailed.single("contacts", N_("At most %(max)d emergency contacts."),
                                      max=MAX_CONTACTS)
    errors: list[FieldError] = []
    clean = [_collect(errors, validate_contact, item, i) for i, item in enumerate(items)]
    if errors:
        raise ValidationFailed(errors)
    return tuple(clean)


def normalise_date_of_birth(raw: Any, today: date | None = None,
                            field: str = "date_of_birth") -> date | None:
    """An optional date of birth, not in the future and not absurdly old."""
    if _blank(raw):
        return None
    value = parse_date(raw, field=field)
    today = today or date.today()
    if value > today:
        raise ValidationFailed.single(field, N_("The date of birth is in the future."))
    if today.year - value.year > OLDEST_AGE_YEARS:
        raise ValidationFailed.single(field, N_("Check the year of birth."))
    return value


def normalise_purpose(raw: Any, field: str = "purpose") -> str | None:
    """One of `TRIP_PURPOSES`, or None when not given."""
    if _blank(raw):
        return None
    value = _text(raw).lower()
    if value not in TRIP_PURPOSES:
        raise ValidationFailed.single(field, N_("Choose a purpose of travel from the list."),
                                      value=value)
    return value


def normalise_address(raw: Any, field: str = "address") -> str | None:
    """An optional accommodation or street address, at most 300 characters."""
    text = _text(raw)
    if not text:
        return None
    if len(text) > MAX_ADDRESS_LENGTH:
        raise ValidationFailed.single(field, N_("At most %(max)d characters."), max=MAX_ADDRESS_LENGTH)
    return text
