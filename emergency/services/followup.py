"""Follow-up as coordinators see and steer it: the plan, its rounds, what comes next, and
the actions (change the plan, pause, resume, send the next round now). The console and the
API call these, so both apply the same rules; each action is audited.

A plan change takes effect at once: the next round's time is recomputed from the last
message sent, and a tick is scheduled for it (a tick scheduled for an older time finds
nothing due and does nothing).
"""
from __future__ import annotations

from common.clock import utcnow
from common.i18n import N_
from emergency.core import audit
from emergency.core.auth import acting_user
from emergency.core.database import db_session
from emergency.core.models import Alert, Incident
from emergency.jobs import followup as scheduling
from emergency.services import followup_rounds as rounds
from emergency.services.followup_rounds import FollowupError

PLAN_FIELDS = ("delay_minutes", "max_rounds", "tell_contacts", "paused")


def _incident(incident_id: int) -> Incident:
    incident = db_session().get(Incident, incident_id)
    if incident is None:
        raise FollowupError(N_("No such incident."))
    return incident


def clean_changes(changes: dict) -> dict:
    """The plan fields in `changes`, checked; FollowupError (naming the field) on the first
    bad one, so nothing is changed."""
    clean = {}
    if "delay_minutes" in changes:
        clean["delay_minutes"] = rounds.clean_delay(changes["delay_minutes"])
    if "max_rounds" in changes:
        clean["max_rounds"] = rounds.clean_rounds(changes["max_rounds"])
    for flag in ("tell_contacts", "paused"):
        if flag in changes:
            clean[flag] = rounds.clean_flag(changes[flag], flag)
    return clean


def update_plan(incident_id: int, changes: dict) -> rounds.Plan:
    """Change any of delay_minutes, max_rounds, tell_contacts and paused, all or nothing."""
    _incident(incident_id)
    clean = clean_changes(changes)
    if not clean:
        raise FollowupError(N_("Give at least one of delay_minutes, max_rounds, tell_contacts and paused."))
    row = rounds.ensure_plan_row(incident_id)
    changed = {name: value for name, value in clean.items() if getattr(row, name) != value}
    for name, value in changed.items():
        setattr(row, name, value)
    if changed:
        user = acting_user()
        row.updated_at = utcnow()
        row.updated_by_id = user.id if user else None
        action = "followup.plan_updated"
        if set(changed) == {"paused"}:
            action = "followup.paused" if changed["paused"] else "followup.resumed"
        audit.record(action, "incident", incident_id, **changed)
    db_session().commit()
    if changed and not row.paused:
        scheduling.schedule(incident_id)
    return rounds.plan_for(incident_id)


def pause(incident_id: int) -> rounds.Plan:
    return update_plan(incident_id, {"paused": True})


def resume(incident_id: int) -> rounds.Plan:
    """Resume the plan; a round already overdue goes out at once."""
    return update_plan(incident_id, {"paused": False})


def send_round_now(incident_id: int) -> Alert:
    """The next round, now (even if the plan is paused or the delay has not passed): sent,
    or left for approval when it reaches more than APPROVAL_THRESHOLD people.
    FollowupError says why there is none to send."""
    _incident(incident_id)
    alert = scheduling.advance(incident_id, force=True, user=acting_user())
    audit.record("followup.round_sent_now", "alert", alert.id, incident_id=incident_id, round=alert.round,
                 status=alert.status)
    db_session().commit()
    return alert


def overview(incident: Incident) -> dict:
    """What the follow-up panel and the API show: the plan, the rounds so far with their
    figures, the next round (what, when, how many now) and the state:
    "no_check", "closed", "paused", "waiting" (a round awaits approval or sending),
    "preparing", "done" or "scheduled"."""
    plan = rounds.plan_for(incident.id)
    step = rounds.next_step(incident, plan)
    done = []
    for alert in step.rounds:
        done.append({"alert": alert, "number": alert.round, "kind": alert.kind, "status": alert.status,
                     "sent_at": alert.sent_at, "size": rounds.round_size(alert), "lead": (alert.channels or [None])[0],
                     **rounds.round_figures(alert)})
    upcoming = None
    if step.kind is not None and step.blocked not in ("closed", "no_check"):
        upcoming = {"kind": step.kind, "number": step.number, "due_at": step.due_at,
                    "size": rounds.step_size(step.check, step.kind),
                    "lead": rounds.lead_channel(step.check, step.number) if step.kind == rounds.FOLLOW_UP else None}
    state = step.blocked or "scheduled"
    if plan.paused and state in ("scheduled", "preparing"):
        state = "paused"
    return {"plan": plan, "check": step.check, "rounds": done, "next": upcoming, "state": state,
            "waiting": step.waiting,
            "contacts": rounds.contact_counts(step.check) if step.check is not None else None}
