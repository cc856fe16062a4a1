"""Travel advisories: per country, a level from 0 to 3 and a text in English and French.

Coordinators keep them current (console /advisories, API PUT /api/v1/advisories/<cc>); a
traveller's confirmation shows the advisory of each destination (`advisory_for`,
`advisories_for`). The scale is the one travellers know from government travel advice.
"""
from __future__ import annotations

from typing import Any, Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from common.clock import utcnow
from common.i18n import N_
from emergency.core import audit
from emergency.core.database import db_session
from emergency.core.models import Advisory
from registry.errors import FieldError, ValidationFailed
from registry.validation import normalise_country

LEVELS = (0, 1, 2, 3)
LEVEL_LABELS = {
    0: _l("Take normal security precautions"),
    1: _l("Exercise a high degree of caution"),
    2: _l("Avoid non-essential travel"),
    3: _l("Avoid all travel"),
}
LEVEL_COLOURS = {0: "#2e7d32", 1: "#f9a825", 2: "#ef6c00", 3: "#c62828"}
MAX_TEXT_LENGTH = 5000


def advisory_for(country: str | None) -> Advisory | None:
    """The advisory for an ISO alpha-2 code (any case), or None when there is none."""
    code = (country or "").strip().upper()
    if len(code) != 2:
        return None
    return db_session().scalar(select(Advisory).where(Advisory.country == code))


def advisories_for(countries: Iterable[str]) -> dict[str, Advisory]:
    """Advisories of several countries at once (a trip's destinations), keyed by code."""
    codes = sorted({(c or "").strip().upper() for c in countries if c})
    if not codes:
        return {}
    rows = db_session().scalars(select(Advisory).where(Advisory.country.in_(codes)))
    return {a.country: a for a in rows}


def list_advisories() -> list[Advisory]:
    return list(db_session().scalars(select(Advisory).order_by(Advisory.level.desc(), Advisory.country)))


def _level(raw: Any) -> int:
    if isinstance(raw, bool):
        raw = None
    if isinstance(raw, int):
        value = raw
    else:
        try:
            value = int(str(raw).strip())
        except (TypeError, ValueError):
            raise ValidationFailed.single("level", N_("The level must be a whole number from 0 to 3.")) from None
    if value not in LEVELS:
        raise ValidationFailed.single("level", N_("The level must be a whole number from 0 to 3."))
    return value


_MISSING_TEXT = {"text_en": N_("Write the advisory text in English."),
                 "text_fr": N_("Write the advisory text in French.")}


def _text(raw: Any, field: str) -> str:
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        raise ValidationFailed.single(field, _MISSING_TEXT[field])
    if len(text) > MAX_TEXT_LENGTH:
        raise ValidationFailed.single(field, N_("At most %(max)d characters."), max=MAX_TEXT_LENGTH)
    return text


def validate(country: Any, level: Any, text_en: Any, text_fr: Any) -> tuple[str, int, str, str]:
    """Check every field and report all that are wrong at once (ValidationFailed)."""
    errors: list[FieldError] = []
    results: dict[str, Any] = {}
    checks = (
        ("country", lambda: normalise_country(country)),
        ("level", lambda: _level(level)),
        ("text_en", lambda: _text(text_en, "text_en")),
        ("text_fr", lambda: _text(text_fr, "text_fr")),
    )
    for name, check in checks:
        try:
            results[name] = check()
        except ValidationFailed as failed:
            errors.extend(failed.errors)
    if errors:
        raise ValidationFailed(errors)
    return results["country"], results["level"], results["text_en"], results["text_fr"]


def set_advisory(country: Any, level: Any, text_en: Any, text_fr: Any) -> Advisory:
    """Create or replace the advisory of `country`, dated today, by the acting user; audited.

    Raises ValidationFailed (fields country, level, text_en, text_fr) and changes nothing
    when any field is wrong. Commits."""
    code, level, text_en, text_fr = validate(country, level, text_en, text_fr)
    session = db_session()
    advisory = session.scalar(select(Advisory).where(Advisory.country == code))
    previous = None if advisory is None else advisory.level
    if advisory is None:
        advisory = Advisory(country=code)
        session.add(advisory)
    advisory.level = level
    advisory.text_en = text_en
    advisory.text_fr = text_fr
    advisory.updated_on = utcnow().date()
    advisory.updated_by = audit.actor_name()
    audit.record("advisory.set", "advisory", code, level=level, previous_level=previous)
    session.commit()
    return advisory


def advisory_json(advisory: Advisory) -> dict:
    return {"country": advisory.country, "level": advisory.level, "text_en": advisory.text_en,
            "text_fr": advisory.text_fr, "updated_on": advisory.updated_on.isoformat(),
            "updated_by": advisory.updated_by}
