"""When follow-up rounds go out: scheduled ticks, a sweep, and sending a round.

Each time a safety check or a round is sent, a `tick` of its incident is scheduled for
when the next round is due (RQ's scheduler; a timer in the embedded runner). A tick that
finds the round due creates it and sends it, or leaves it for approval when it reaches
more people than APPROVAL_THRESHOLD. Rounds are unique per (safety check, number) in the
database, so two ticks at once, or a tick and a coordinator's "send now", create one round.

A scheduled tick can be lost (Redis restarted, a worker killed): `sweep_due`, run every
minute by `emergency cron` (and by a timer in the embedded runner), ticks every active
incident that has a round due, so the round still goes out once, a minute late at worst.
Once created, a round is an alert like any other: its preparation and deliveries are the
fan-out's, exactly once under the same faults.
"""
from __future__ import annotations

from sqlalchemy import exists, select

from common.clock import utcnow
from common.i18n import N_
from emergency.core import audit
from emergency.core.database import db_session
from emergency.core.models import Alert, Incident, User
from emergency.jobs.runner import enqueue, enqueue_in, job
from emergency.services import followup_rounds as rounds
from emergency.services.approvals import request_approval
from emergency.services.followup_rounds import FollowupError

DUE_MARGIN = 1.0  # seconds after the due time a scheduled tick runs, so it does not find it a hair early

# Why "send a round now" is refused, by `Step.blocked`.
BLOCKED = {
    "closed": N_("This incident is closed; no follow-up is sent."),
    "no_check": N_("No safety check has been sent for this incident yet."),
    "waiting": N_("A follow-up round is waiting for approval or to be sent."),
    "preparing": N_("The previous message is still being prepared. Try again in a moment."),
    "done": N_("The plan has no round left to send."),
}


def schedule(incident_id: int) -> bool:
    """Schedule a tick for when the incident's next round is due (at once if it is past).
    The job id names the due time, so scheduling the same moment twice queues one tick."""
    incident = db_session().get(Incident, incident_id)
    if incident is None:
        return False
    step = rounds.next_step(incident, rounds.plan_for(incident_id))
    if step.due_at is None or step.blocked in ("closed", "done", "no_check"):
        return False
    delay = max(0.0, (step.due_at - utcnow()).total_seconds()) + DUE_MARGIN
    return enqueue_in(delay, tick, incident_id, queue="alerts",
                      job_id=f"followup-{incident_id}-{step.last.id}-due{int(step.due_at.timestamp())}")


def alert_sent(alert: Alert) -> None:
    """After a safety check or a round was sent (committed, preparation queued): the
    incident gets its plan row (the defaults) on its first safety check, and the next
    round is scheduled."""
    if alert.kind != "safety_check" and alert.followup_of is None:
        return
    if alert.kind == "safety_check":
        rounds.ensure_plan_row(alert.incident_id)
        db_session().commit()
    schedule(alert.incident_id)


def send_round(alert: Alert, user: User | None = None) -> Alert:
    """Send a created round: commit it as sending, then queue its preparation (the
    fan-out's job and job id), then schedule the next tick."""
    from emergency.jobs.fanout import prepare_alert

    alert.status = "sending"
    alert.sent_at = utcnow()
    alert.sent_by_id = user.id if user else None
    audit.record("alert.sent", "alert", alert.id, incident_id=alert.incident_id, kind=alert.kind, round=alert.round)
    db_session().commit()
    enqueue(prepare_alert, alert.id, job_id=f"alert-{alert.id}-prepare", queue="alerts")
    schedule(alert.incident_id)
    return alert


def advance(incident_id: int, *, force: bool = False, user: User | None = None) -> Alert | None:
    """Create and send the incident's next round if it is due (with `force`, now, even if
    the plan is paused): the round alert, or None when nothing was due or another
    scheduler created it. A round over APPROVAL_THRESHOLD stays a draft for approval.
    With `force`, a refusal raises FollowupError instead of returning None."""
    session = db_session()
    incident = session.get(Incident, incident_id)
    if incident is None:
        return None
    plan = rounds.plan_for(incident_id)
    step = rounds.next_step(incident, plan)
    if force:
        if step.blocked:
            raise FollowupError(BLOCKED[step.blocked])
    elif not rounds.is_due(step, plan):
        return None
    size = rounds.step_size(step.check, step.kind)
    if size == 0:
        if force:
            raise FollowupError(N_("Nobody is left to ask: everyone has answered, or has no contact we may tell."))
        return None
    alert = rounds.create_round(incident, step, user)
    if alert is None:  # another tick, or a coordinator, created this round a moment ago
        session.rollback()
        if force:
            raise FollowupError(N_("This round has just been created by someone else."))
        return None
    audit.record("followup.round_created", "alert", alert.id, incident_id=incident_id, kind=alert.kind,
                 round=alert.round, size=size, forced=force)
    if rounds.approval_needed(size):
        request_approval(alert, size)  # commits
        return alert
    return send_round(alert, user)


@job
def tick(incident_id: int) -> int | None:
    """Send the incident's next round if it is due; the round's alert id, if one was created."""
    alert = advance(incident_id)
    return alert.id if alert is not None else None


@job
def sweep_due() -> int:
    """Tick every active incident whose next round is due (a scheduled tick may have been
    lost); returns how many were queued. The job id is per incident and minute."""
    session = db_session()
    sent_check = exists().where(Alert.incident_id == Incident.id, Alert.kind == "safety_check",
                                Alert.status.in_(("sending", "sent")))
    ids = list(session.scalars(select(Incident.id).where(Incident.status == "active", sent_check)))
    now = utcnow()
    bucket = int(now.timestamp() // 60)
    queued = 0
    for incident_id in ids:
        plan = rounds.plan_for(incident_id)
        if rounds.is_due(rounds.next_step(session.get(Incident, incident_id), plan), plan, now):
            enqueue(tick, incident_id, job_id=f"followup-{incident_id}-sweep{bucket}", queue="alerts")
            queued += 1
    return queued

