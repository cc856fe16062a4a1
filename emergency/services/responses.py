"""Safety responses: every answer is kept, with who gave it, what it came from and whom it is
about (the traveller, or one of their companions: `companion_id`); the latest one per person
counts, except that a companion's own answer always wins (see `households`).

Recording is idempotent: the same answer again from the same person (a second click, a
re-delivered SMS) adds nothing, so the dashboard counts each person once. The same answer
from someone else (a companion confirming what the traveller said) is kept, since who
vouched for it is part of the answer.

An answer to a closed incident is recorded all the same (a late "need help" must reach an
officer), marked `late`: the closed incident's figures stay as they were at closing.

Every "need help" that is recorded opens the traveller's case, or adds to it
(`cases.open_case_for_help`): this is the one place all channels pass through. A companion's
"need help" goes to the traveller's case too (one case per registration); its event points
at the answer, which names the companion.
"""
from __future__ import annotations

from sqlalchemy import select

from emergency.core import audit
from emergency.core.database import db_session
from emergency.core.models import REPORTERS, RESPONSE_STATUSES, Incident, SafetyResponse
from emergency.services import cases
from registry.models import Companion


def latest_response(incident_id: int, traveller_id: int, companion_id: int | None = None) -> SafetyResponse | None:
    """The latest answer about the traveller themselves, or, given `companion_id`, the latest
    one given about that companion by anyone (`households` decides which one counts)."""
    about = (SafetyResponse.companion_id.is_(None) if companion_id is None
             else SafetyResponse.companion_id == companion_id)
    return db_session().scalar(
        select(SafetyResponse)
        .where(SafetyResponse.incident_id == incident_id, SafetyResponse.traveller_id == traveller_id, about)
        .order_by(SafetyResponse.received_at.desc(), SafetyResponse.id.desc())
        .limit(1)
    )


def _clean(text: str | None, limit: int) -> str | None:
    return (text or "").strip()[:limit] or None


def record_response(incident_id: int, traveller_id: int, status: str, channel: str,
                    message: str | None = None, commit: bool = True, *,
                    reported_by: str = "traveller", reporter_name: str | None = None,
                    source_message: str | None = None,
                    companion_id: int | None = None) -> tuple[SafetyResponse, bool]:
    """Store an answer; returns (the current answer, whether a new row was added).

    `reported_by` says who gave it (one of REPORTERS) and `reporter_name` their name when it
    is not the traveller; `source_message` what it came from ("delivery:<id>",
    "inbound:<id>"; None for a web page). With `companion_id` (a companion on this
    traveller's registration; callers check ids that come from outside) the answer is about
    that companion: "companion" then means the companion themselves.
    """
    if status not in RESPONSE_STATUSES:
        raise ValueError(f"unknown status {status!r}")
    if reported_by not in REPORTERS:
        raise ValueError(f"unknown reporter {reported_by!r}")
    message = _clean(message, 2000)
    reporter_name = None if reported_by == "traveller" else _clean(reporter_name, 200)
    session = db_session()
    if companion_id is not None:
        companion = session.get(Companion, companion_id)
        if companion is None or companion.traveller_id != traveller_id:
            raise ValueError(f"companion {companion_id!r} is not on traveller {traveller_id}'s registration")
    latest = latest_response(incident_id, traveller_id, companion_id)
    if (latest is not None and latest.status == status and not message
            and (latest.reported_by, latest.reporter_name) == (reported_by, reporter_name)
            and not _asks_again_after_help_came(incident_id, traveller_id, status)):
        return latest, False
    incident = session.get(Incident, incident_id)
    late = incident is not None and incident.status == "closed"
    response = SafetyResponse(incident_id=incident_id, traveller_id=traveller_id, status=status,
                              channel=channel, message=message, reported_by=reported_by,
                              reporter_name=reporter_name, source_message=source_message, late=late,
                              companion_id=companion_id)
    session.add(response)
    session.flush()
    if status == "need_help":
        cases.open_case_for_help(incident_id, traveller_id, channel, response_id=response.id,
                                 by_officer=reported_by == "officer")
    # An officer's entry is theirs (the signed-in user); any other answer came from the
    # traveller's side. Ids and kinds only: the audit log never holds a person's name.
    if reported_by == "officer":
        actor = None
    elif reported_by == "companion" and companion_id is not None:
        actor = f"companion:{companion_id}"
    else:
        actor = f"traveller:{traveller_id}"
    audit.record("safety.response", "incident", incident_id, actor=actor, traveller_id=traveller_id,
                 companion_id=companion_id, status=status, channel=channel, reported_by=reported_by,
                 source_message=source_message, late=late)
    if commit:
        session.commit()
    return response, True


def _asks_again_after_help_came(incident_id: int, traveller_id: int, status: str) -> bool:
    """A "need help" repeated after the person's case was settled (resolved or closed) is a new
    call for help, not a second click: it is recorded and reopens the case."""
    if status != "need_help":
        return False
    case = cases.case_for(incident_id, traveller_id)
    return case is None or not case.is_open
