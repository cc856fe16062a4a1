"""Safety responses: every answer is kept; the latest one per traveller counts.

Recording is idempotent: the same answer again (a second click, a re-delivered SMS)
adds nothing, so the dashboard counts each person once.

Every "need help" that is recorded opens the traveller's case, or adds to it
(`cases.open_case_for_help`): this is the one place all channels pass through.
"""
from __future__ import annotations

from sqlalchemy import select

from emergency.core import audit
from emergency.core.database import db_session
from emergency.core.models import RESPONSE_STATUSES, SafetyResponse
from emergency.services import cases


def latest_response(incident_id: int, traveller_id: int) -> SafetyResponse | None:
    return db_session().scalar(
        select(SafetyResponse)
        .where(SafetyResponse.incident_id == incident_id, SafetyResponse.traveller_id == traveller_id)
        .order_by(SafetyResponse.received_at.desc(), SafetyResponse.id.desc())
        .limit(1)
    )


def record_response(incident_id: int, traveller_id: int, status: str, channel: str,
                    message: str | None = None, commit: bool = True) -> tuple[SafetyResponse, bool]:
    """Store an answer; returns (the current answer, whether a new row was added)."""
    if status not in RESPONSE_STATUSES:
        raise ValueError(f"unknown status {status!r}")
    message = (message or "").strip()[:2000] or None
    latest = latest_response(incident_id, traveller_id)
    if latest is not None and latest.status == status and not message:
        return latest, False
    response = SafetyResponse(incident_id=incident_id, traveller_id=traveller_id, status=status,
                              channel=channel, message=message)
    session = db_session()
    session.add(response)
    session.flush()
    if status == "need_help":
        cases.open_case_for_help(incident_id, traveller_id, channel, response_id=response.id)
    audit.record("safety.response", "incident", incident_id, actor=f"traveller:{traveller_id}",
                 status=status, channel=channel)
    if commit:
        session.commit()
    return response, True
