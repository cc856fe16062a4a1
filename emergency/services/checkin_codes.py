"""One-time codes that prove a check-in comes from the person who holds the contact.

A check-in whose email or phone matches a registered traveller is kept as an unverified
report (`emergency.services.checkin_reports`); a 6-digit code goes to that traveller's own
phone or email, and entering it on the page the check-in led to makes the answer theirs.

The code is random (`secrets`), valid CODE_TTL, and stored only as an HMAC keyed with
SECRET_KEY and bound to the report, so a copy of the database does not give it away. At
most MAX_TRIES tries count per report; each try is claimed with a conditional UPDATE, so
parallel posts cannot try more, and the report is verified by one too, so a double submit
records the answer once. The page's URL carries the report id signed with itsdangerous
(its own salt), never the code.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import update

from common.clock import utcnow
from emergency.core import audit
from emergency.core.database import db_session
from emergency.core.models import CheckinReport
from emergency.core.timeutil import as_utc
from emergency.services.responses import record_response

SALT = "checkin-report-v1"
CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=30)
MAX_TRIES = 5


class ReportLinkInvalid(Exception):
    """The report id in the URL was altered or is not ours."""


# --- the signed report id in the code page's URL -----------------------------------------

def _serializer() -> URLSafeSerializer:
    # Untimed: the code's own expiry (CODE_TTL, stored on the report) decides how long it works.
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def report_token(report_id: int) -> str:
    return _serializer().dumps(report_id)


def read_report_token(token: str) -> int:
    try:
        report_id = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        raise ReportLinkInvalid() from None
    if not isinstance(report_id, int) or isinstance(report_id, bool):
        raise ReportLinkInvalid()
    return report_id


# --- the code ----------------------------------------------------------------------------

def _digest(report_id: int, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"checkin-code:{report_id}:{code}".encode(), hashlib.sha256).hexdigest()


def issue_code(report: CheckinReport) -> str:
    """A fresh code for the report, valid CODE_TTL from now; only its HMAC is stored
    (caller commits). A new code replaces the last one; tries already used still count."""
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    report.code_hash = _digest(report.id, code)
    report.code_expires_at = utcnow() + CODE_TTL
    return code


def clean_code(text: str | None) -> str | None:
    """The code as typed, without spaces or dashes; None unless it is CODE_DIGITS digits."""
    code = "".join(ch for ch in (text or "") if ch not in " -\u00a0\t")
    return code if len(code) == CODE_DIGITS and code.isascii() and code.isdigit() else None


@dataclass(frozen=True)
class CodeCheck:
    """What entering a code did. `outcome`: verified | already_verified | expired |
    too_many | wrong; `tries_left` after this try."""

    outcome: str
    tries_left: int


def check_code(report: CheckinReport, code: str) -> CodeCheck:
    """Check a well-formed code against the report and act on it (commits).

    The right code records the report's answer as the traveller's (channel "checkin") and
    marks the report verified. Every other try counts, until MAX_TRIES."""
    session = db_session()
    if report.verified_at is not None:
        return CodeCheck("already_verified", 0)
    expires = as_utc(report.code_expires_at)
    if report.attempts >= MAX_TRIES:
        return CodeCheck("too_many", 0)
    if expires is None or utcnow() > expires:
        return CodeCheck("expired", max(0, MAX_TRIES - report.attempts))
    claimed = session.execute(
        update(CheckinReport)
        .where(CheckinReport.id == report.id, CheckinReport.attempts < MAX_TRIES,
               CheckinReport.verified_at.is_(None))
        .values(attempts=CheckinReport.attempts + 1)
    ).rowcount
    if claimed != 1:
        session.commit()
        session.refresh(report)
        return CodeCheck("already_verified" if report.verified_at else "too_many", 0)
    session.refresh(report)
    tries_left = max(0, MAX_TRIES - report.attempts)
    right = report.code_hash is not None and hmac.compare_digest(report.code_hash, _digest(report.id, code))
    if not right:
        audit.record("checkin.code_failed", "checkin_report", report.id, actor="public",
                     incident_id=report.incident_id, tries=report.attempts)
        session.commit()
        return CodeCheck("wrong", tries_left)
    verified = session.execute(
        update(CheckinReport)
        .where(CheckinReport.id == report.id, CheckinReport.verified_at.is_(None))
        .values(verified_at=utcnow(), code_hash=None)
    ).rowcount
    if verified != 1:
        session.commit()
        return CodeCheck("already_verified", tries_left)
    record_response(report.incident_id, report.traveller_id, report.answer, "checkin",
                    message=report.message, commit=False)
    audit.record("checkin.verified", "checkin_report", report.id, actor=f"traveller:{report.traveller_id}",
                 incident_id=report.incident_id, traveller_id=report.traveller_id)
    session.commit()
    session.refresh(report)
    return CodeCheck("verified", tries_left)
