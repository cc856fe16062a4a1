"""Check-in reports: what a crisis-time check-in said, kept apart from the safety check.

A check-in that matches a registered traveller by email or phone does not speak for them:
its answer is stored here, unverified, and shown to coordinators as such; it never counts
as that traveller's answer until the code sent to their own contact is entered
(`emergency.services.checkin_codes`). An unverified "need help" is still a call for help:
it opens (or adds to) the traveller's case at once, flagged unverified, so none waits on
a code; `unverified_help_reports` lists them too.
"""
from __future__ import annotations

from sqlalchemy import case, select

from common.clock import utcnow
from emergency.core import audit
from emergency.core.database import db_session
from emergency.core.models import CheckinReport, Incident
from emergency.services import cases
from emergency.services.checkin_codes import CODE_TTL
from registry.models import Traveller


def code_contact(traveller: Traveller, clean: dict) -> tuple[str, str]:
    """(channel, address) the code goes to: the matched traveller's own phone when the form
    gave that phone, else their own email. The address is the record's, never the form's,
    so a code can only reach the person who registered the contact."""
    if clean.get("phone") and traveller.phone == clean["phone"]:
        return "sms", traveller.phone
    if clean.get("email") and traveller.email and traveller.email.lower() == clean["email"].lower():
        return "email", traveller.email
    # find_traveller_by_contact matched on one of the two, so this is not reached; if it
    # were, the record's own contact is still the only safe destination.
    return ("sms", traveller.phone) if traveller.phone else ("email", traveller.email or "")


def create_report(incident: Incident, traveller: Traveller, matched: bool, clean: dict,
                  answer: str, message: str | None) -> CheckinReport:
    """Store the check-in as sent (caller commits). A report that `matched` a registered
    traveller waits for its code; one from a newcomer is kept so that both get the same page,
    and its code page accepts no code."""
    if matched:
        channel, contact = code_contact(traveller, clean)
    else:
        channel, contact = ("sms", clean["phone"]) if clean.get("phone") else ("email", clean["email"])
    now = utcnow()
    report = CheckinReport(incident_id=incident.id, traveller_id=traveller.id, matched=matched,
                           contact_channel=channel, contact=contact, answer=answer,
                           message=(message or "").strip()[:2000] or None, language=clean["language"],
                           created_at=now, code_expires_at=now + CODE_TTL, attempts=0)
    session = db_session()
    session.add(report)
    session.flush()
    if matched and answer == "need_help":
        # Unverified, but a call for help: an officer sees it now, not once a code arrives.
        cases.open_case_for_help(incident.id, traveller.id, "checkin", checkin_report_id=report.id)
    if matched:
        audit.record("checkin.report_created", "checkin_report", report.id, actor="public",
                     incident_id=incident.id, traveller_id=traveller.id, answer=answer)
    return report


def _claims(incident_id: int):
    return (select(CheckinReport, Traveller)
            .join(Traveller, Traveller.id == CheckinReport.traveller_id)
            .where(CheckinReport.incident_id == incident_id, CheckinReport.matched.is_(True)))


def unverified_help_reports(incident_id: int) -> list[CheckinReport]:
    """Unverified "need help" check-ins of the incident, oldest first: calls for help that
    name a registered traveller and belong in the case queue, flagged unverified."""
    return list(db_session().scalars(
        select(CheckinReport)
        .where(CheckinReport.incident_id == incident_id, CheckinReport.matched.is_(True),
               CheckinReport.verified_at.is_(None), CheckinReport.answer == "need_help")
        .order_by(CheckinReport.created_at, CheckinReport.id)))


def report_rows(incident_id: int, limit: int = 200) -> list[dict]:
    """Check-ins that claimed a registered traveller, for the incident page: unverified
    "need help" first, then the rest, newest first within each."""
    first = case((CheckinReport.verified_at.is_(None) & (CheckinReport.answer == "need_help"), 0), else_=1)
    query = _claims(incident_id).order_by(first, CheckinReport.created_at.desc(), CheckinReport.id.desc())
    return [{
        "id": report.id, "answer": report.answer, "created_at": report.created_at,
        "verified_at": report.verified_at, "verified": report.verified_at is not None,
        "urgent": report.verified_at is None and report.answer == "need_help",
        "message": report.message, "language": report.language,
        "traveller_id": traveller.id, "claimed_name": f"{traveller.given_name} {traveller.family_name}".strip(),
        "channel": report.contact_channel,
    } for report, traveller in db_session().execute(query.limit(limit))]
