"""Find travellers the way an enquiry arrives: a name, an email address or a phone number.

Names match without regard to accents or case ("Helene" finds "Hélène"), word by word, in
any order. A phone number matches however it is written: "+33 6 12 34 56 78",
"0033612345678" and "06 12 34 56 78" all find +33612345678 (the international form is parsed
with `phonenumbers`; a national form matches on its significant digits, i.e. the end of the
stored E.164 number). Anything with an @ is an email.

Accent folding runs in the database: PostgreSQL's `unaccent` extension (created by migration
0003) and, on SQLite, a `fold` SQL function registered on every new connection.
"""
from __future__ import annotations

import re
import sqlite3
import unicodedata

import phonenumbers
from sqlalchemy import event, func, literal, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from registry.models import Traveller

MAX_RESULTS = 100
MIN_PHONE_DIGITS = 6


def fold(text: str | None) -> str | None:
    """Lower case, accents removed: the comparison form of a name."""
    if text is None:
        return None
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


@event.listens_for(Engine, "connect")
def _register_fold(dbapi_connection, _record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function("fold", 1, fold, deterministic=True)


def _folded(session: Session, column):
    if session.get_bind().dialect.name == "postgresql":
        return func.lower(func.unaccent(column))
    return func.fold(column)


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def phone_candidates(query: str) -> tuple[str | None, str | None]:
    """(E.164 number if the query is an international number, significant digits) or
    (None, None) when the query does not look like a phone number."""
    text = query.strip()
    if re.search(r"[^\d\s+().\-/]", text):
        return None, None
    digits = re.sub(r"\D", "", text)
    if len(digits) < MIN_PHONE_DIGITS:
        return None, None
    international = None
    if text.startswith("+") or digits.startswith("00"):
        raw = "+" + (digits[2:] if not text.startswith("+") else digits)
        try:
            number = phonenumbers.parse(raw, None)
            if phonenumbers.is_possible_number(number):
                international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        except phonenumbers.NumberParseException:
            international = None
        if international:
            return international, None
    national = digits.lstrip("0")
    return None, (national if len(national) >= MIN_PHONE_DIGITS else None)


def _phone_columns():
    """Both numbers a traveller may give: a search by phone finds either."""
    return [Traveller.phone, Traveller.phone2]


def search_travellers(session: Session, query: str, limit: int = MAX_RESULTS) -> list[Traveller]:
    """Travellers matching `query` by email, phone or name; at most `limit`, by family name."""
    text = " ".join((query or "").split())
    if not text:
        return []
    stmt = select(Traveller)
    if "@" in text:
        pattern = f"%{_like_escape(text.lower())}%"
        stmt = stmt.where(func.lower(Traveller.email).like(pattern, escape="\\"))
    else:
        international, national = phone_candidates(text)
        if international or national:
            conditions = []
            for column in _phone_columns():
                if international:
                    conditions.append(column == international)
                else:
                    conditions.append(column.like(f"%{national}"))
            stmt = stmt.where(or_(*conditions))
        else:
            full_name = _folded(session, Traveller.given_name + literal(" ") + Traveller.family_name)
            for word in fold(text).split():
                stmt = stmt.where(full_name.like(f"%{_like_escape(word)}%", escape="\\"))
    stmt = stmt.order_by(Traveller.family_name, Traveller.given_name, Traveller.id).limit(limit)
    return list(session.scalars(stmt))
