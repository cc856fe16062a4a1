"""A signed-in traveller's new email or phone number counts only once they prove they hold it.

Otherwise anyone signed in could put another person's address on their own record and get
what it brings: sign-in links sent by email, SMS replies matched by number, the right to
answer for that person. So a new address waits in `contact_changes` while a 6-digit code
goes to it (`emergency.jobs.contact_codes`); entering the code on the traveller's page
writes it to the record. Every new address is treated so, whether or not another record
has it, so the page never tells whether an address is registered.

The code is random (`secrets`), valid CODE_TTL, stored as an HMAC keyed with SECRET_KEY and
bound to the change; at most MAX_TRIES tries, each claimed with a conditional UPDATE.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select, update

from common.clock import utcnow
from emergency.core import audit
from emergency.core.database import db_session
from emergency.core.models import ContactChange
from emergency.core.timeutil import as_utc
from emergency.services.traveller_mail import bilingual_email, bilingual_sms, code_section
from notify.providers.base import EmailBatch
from registry.models import Traveller
from registry.selfservice import CONTACT_FIELDS

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=30)
MAX_TRIES = 5


def new_addresses(traveller: Traveller, clean: dict) -> dict[str, str]:
    """The fields of `clean` (checked contact details) that bring an address the record
    does not have yet."""
    return {name: clean[name] for name in CONTACT_FIELDS
            if clean.get(name) and clean[name] != getattr(traveller, name)}


def pending(traveller_id: int) -> list[ContactChange]:
    return list(db_session().scalars(select(ContactChange).where(ContactChange.traveller_id == traveller_id)
                                     .order_by(ContactChange.field)))


def request_changes(traveller: Traveller, addresses: dict[str, str]) -> list[int]:
    """Keep each new address waiting for its code (a second request for a field replaces
    the first, and its tries start again); the ids of the changes to send a code for.
    Fields no longer being changed drop their waiting address. Caller commits."""
    session = db_session()
    session.execute(delete(ContactChange).where(ContactChange.traveller_id == traveller.id,
                                                ContactChange.field.not_in(list(addresses) or [""])))
    ids = []
    for field, value in addresses.items():
        change = session.scalar(select(ContactChange).where(ContactChange.traveller_id == traveller.id,
                                                            ContactChange.field == field))
        if change is None:
            change = ContactChange(traveller_id=traveller.id, field=field, value=value, attempts=0)
            session.add(change)
        change.value, change.attempts, change.code_hash, change.expires_at = value, 0, None, None
        change.created_at = utcnow()
        session.flush()
        ids.append(change.id)
    return ids


def _digest(change: ContactChange, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    message = f"contact-code:{change.id}:{change.field}:{change.value}:{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def issue_code(change: ContactChange) -> str:
    """A fresh code for the change; only its HMAC is stored (caller commits)."""
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    change.code_hash = _digest(change, code)
    change.expires_at = utcnow() + CODE_TTL
    return code


def clean_code(text: str | None) -> str | None:
    code = "".join(ch for ch in (text or "") if ch not in " -\u00a0\t")
    return code if len(code) == CODE_DIGITS and code.isascii() and code.isdigit() else None


def check_code(traveller: Traveller, field: str, text: str | None) -> str:
    """Check a code for the traveller's waiting `field` and, when right, write the address
    to the record (commits). Outcome: verified | wrong | expired | too_many | none."""
    session = db_session()
    change = session.scalar(select(ContactChange).where(ContactChange.traveller_id == traveller.id,
                                                        ContactChange.field == field))
    if change is None:
        return "none"
    if change.attempts >= MAX_TRIES:
        return "too_many"
    expires = as_utc(change.expires_at)
    if expires is None or utcnow() > expires:
        return "expired"
    claimed = session.execute(update(ContactChange)
                              .where(ContactChange.id == change.id, ContactChange.attempts < MAX_TRIES)
                              .values(attempts=ContactChange.attempts + 1)).rowcount
    if claimed != 1:
        session.commit()
        return "too_many"
    code = clean_code(text)
    if code is None or not hmac.compare_digest(change.code_hash or "", _digest(change, code)):
        audit.record("traveller.contact_code_failed", "traveller", traveller.id, actor=f"traveller:{traveller.id}",
                     field=field)
        session.commit()
        return "wrong"
    setattr(traveller, field, change.value)
    traveller.updated_at = utcnow()
    session.delete(change)
    audit.record("traveller.updated", "traveller", traveller.id, actor=f"traveller:{traveller.id}",
                 change=f"{field}_verified")
    session.commit()
    return "verified"


# --- the message that carries the code -----------------------------------------------------

def sms_body(code: str, language: str | None) -> str:
    return bilingual_sms(language, lambda lang: _(
        "Your code: %(code)s. Enter it on your registration page to add this number. "
        "Not you? Ignore this message.", code=code))


def _section(code: str, lang: str) -> dict:
    return code_section(
        lang, subject=_("Your code to confirm your new email address"), heading=_("Your code: %(code)s", code=code),
        paragraph=_("Someone, probably you, asked to add this email address to a registration with the "
                    "consulate. Enter this code on the registration page to confirm it. It expires in "
                    "%(minutes)d minutes.", minutes=int(CODE_TTL.total_seconds() // 60)),
        not_you=_("If it was not you, ignore this email: nothing changes without the code."))


def email_batch(code: str, language: str | None, to: str) -> EmailBatch:
    return bilingual_email(language, to, lambda lang: _section(code, lang))
