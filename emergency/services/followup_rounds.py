"""What a follow-up round is: the plan that paces it, who it goes to, what it says.

A round is an alert (kind "follow_up" to travellers, "contact_check" to their emergency
contacts) linked to the safety check it follows up, so the fan-out, its exactly-once
delivery and the approval rules are the same as for the first send. This module decides
and creates; when to run is `jobs.followup`'s business, and the coordinator's actions are in
`services.followup`.

Who is still to be asked is decided at two moments: when a round's recipients are frozen
(everyone on the safety check's list with no answer about them and no case; a companion's
answer about themselves says nothing about the traveller), and again
just before each message leaves (`answered_since_freeze`), so an answer that arrives in
between stops that message too.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, exists, func, select
from sqlalchemy.exc import IntegrityError

from common.clock import utcnow
from common.i18n import N_
from emergency.core.database import db_session
from emergency.core.models import (
    CONTACT_ROUND,
    Alert,
    AlertRecipient,
    Case,
    FollowupPlan,
    Incident,
    SafetyResponse,
    User,
)
from emergency.core.timeutil import as_utc
from emergency.services.errors import ServiceError
from notify.providers.base import placeholder
from notify.segments import gsm_safe
from registry.bulk import insert_rows, membership
from registry.models import EmergencyContact, Traveller

FOLLOW_UP = "follow_up"
CONTACT_CHECK = "contact_check"
FOLLOWUP_KINDS = (FOLLOW_UP, CONTACT_CHECK)
DELAY_RANGE = (5, 2880)
ROUNDS_RANGE = (0, 5)
OTHER_CHANNEL = {"email": "sms", "sms": "email"}
# The error of a follow-up message left unsent because the person had answered by then.
SKIPPED_ANSWERED = "answered"
# The substitution that puts the traveller's name in a message to their contact.
TRAVELLER_NAME = "traveller_name"


class FollowupError(ServiceError):
    """A refused follow-up action (see `ServiceError`)."""


# --- the plan -----------------------------------------------------------------------------

@dataclass
class Plan:
    """An incident's plan as it applies now: its row's values, or the defaults."""

    incident_id: int
    delay_minutes: int
    max_rounds: int
    tell_contacts: bool
    paused: bool
    saved: bool  # a row exists (else these are the settings' defaults)
    updated_at: datetime | None = None
    updated_by: User | None = None

    @property
    def delay(self) -> timedelta:
        return timedelta(minutes=self.delay_minutes)


def plan_row(incident_id: int) -> FollowupPlan | None:
    return db_session().scalar(select(FollowupPlan).where(FollowupPlan.incident_id == incident_id))


def plan_for(incident_id: int) -> Plan:
    row = plan_row(incident_id)
    if row is None:
        config = current_app.config
        return Plan(incident_id, config["FOLLOWUP_DELAY_MINUTES"], config["FOLLOWUP_ROUNDS"], True, False, False)
    user = db_session().get(User, row.updated_by_id) if row.updated_by_id else None
    return Plan(incident_id, row.delay_minutes, row.max_rounds, row.tell_contacts, row.paused, True,
                as_utc(row.updated_at), user)


def ensure_plan_row(incident_id: int) -> FollowupPlan:
    """The incident's plan row, created with the defaults if missing (a concurrent creator
    wins; its row is returned). Flushes; the caller commits."""
    row = plan_row(incident_id)
    if row is not None:
        return row
    config = current_app.config
    session = db_session()
    row = FollowupPlan(incident_id=incident_id, delay_minutes=config["FOLLOWUP_DELAY_MINUTES"],
                       max_rounds=config["FOLLOWUP_ROUNDS"], tell_contacts=True, paused=False, updated_at=utcnow())
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        row = plan_row(incident_id)
    return row


def _whole_number(value, field: str, low: int, high: int, message: str) -> int:
    if isinstance(value, bool):
        raise FollowupError(message, field=field, low=low, high=high)
    if isinstance(value, str):
        value = value.strip()
        if not value.lstrip("-").isdigit():
            raise FollowupError(message, field=field, low=low, high=high)
        value = int(value)
    if not isinstance(value, int) or not low <= value <= high:
        raise FollowupError(message, field=field, low=low, high=high)
    return value


def clean_delay(value) -> int:
    return _whole_number(value, "delay_minutes", *DELAY_RANGE,
                         N_("The delay must be a whole number of minutes from %(low)s to %(high)s."))


def clean_rounds(value) -> int:
    return _whole_number(value, "max_rounds", *ROUNDS_RANGE,
                         N_("The number of rounds must be a whole number from %(low)s to %(high)s."))


def clean_flag(value, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on", "y"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", "off", "n", ""):
        return False
    raise FollowupError(N_("This must be true or false."), field=field)


# --- where an incident's follow-up stands ---------------------------------------------------

@dataclass
class Step:
    """The incident's follow-up now: the safety check followed up, its rounds, and what
    comes next (`kind` and `number`, None when nothing is left) and when (`due_at`).
    `blocked` says why nothing can be sent now, whatever the time: "closed", "no_check",
    "waiting" (a round awaits approval or sending), "preparing" (the last message's
    recipients are not frozen yet), "done" (nothing left)."""

    check: Alert | None
    rounds: list[Alert]
    last: Alert | None
    kind: str | None
    number: int | None
    due_at: datetime | None
    blocked: str | None
    waiting: Alert | None = None


def latest_check(incident_id: int) -> Alert | None:
    """The safety check being followed up: the incident's latest one that was sent."""
    return db_session().scalar(
        select(Alert).where(Alert.incident_id == incident_id, Alert.kind == "safety_check",
                            Alert.status.in_(("sending", "sent")))
        .order_by(Alert.sent_at.desc(), Alert.id.desc()).limit(1))


def rounds_of(check: Alert) -> list[Alert]:
    return list(db_session().scalars(select(Alert).where(Alert.followup_of == check.id).order_by(Alert.id)))


def _frozen(alert: Alert) -> bool:
    if alert.status == "sent":
        return True
    return db_session().scalar(select(AlertRecipient.id).where(AlertRecipient.alert_id == alert.id).limit(1)) \
        is not None


def next_step(incident: Incident, plan: Plan) -> Step:
    check = latest_check(incident.id)
    if check is None:
        return Step(None, [], None, None, None, None, "no_check")
    rounds = rounds_of(check)
    sent = [a for a in (check, *rounds) if a.status in ("sending", "sent") and a.sent_at is not None]
    last = max(sent, key=lambda a: (as_utc(a.sent_at), a.id))
    done = max((a.round for a in rounds if a.kind == FOLLOW_UP), default=0)
    contact_done = any(a.round == CONTACT_ROUND for a in rounds)
    kind = number = None
    if not contact_done and done < plan.max_rounds:
        kind, number = FOLLOW_UP, done + 1
    elif not contact_done and plan.tell_contacts:
        kind, number = CONTACT_CHECK, CONTACT_ROUND
    due_at = as_utc(last.sent_at) + plan.delay if kind else None
    waiting = next((a for a in rounds if a.status in ("draft", "approved")), None)
    blocked = None
    if incident.status != "active":
        blocked = "closed"
    elif waiting is not None:
        blocked = "waiting"
    elif kind is None:
        blocked = "done"
    elif not _frozen(last):
        blocked = "preparing"
    return Step(check, rounds, last, kind, number, due_at, blocked, waiting)


def is_due(step: Step, plan: Plan, now: datetime | None = None) -> bool:
    return (step.blocked is None and not plan.paused and step.due_at is not None
            and (now or utcnow()) >= step.due_at)


# --- who is still to be asked ------------------------------------------------------------

def _heard_from(incident_id: int, traveller_id_column):
    """Whether we have heard about this traveller: an answer about them (late or not, by
    anyone: themselves, a contact, an officer) or a case. A companion's answer about
    themselves is not about the traveller, who is still asked."""
    answered = exists().where(SafetyResponse.incident_id == incident_id,
                              SafetyResponse.traveller_id == traveller_id_column,
                              SafetyResponse.companion_id.is_(None))
    case = exists().where(Case.incident_id == incident_id, Case.traveller_id == traveller_id_column)
    return answered | case


def silent_recipients(check: Alert):
    """SELECT of the safety check's frozen recipients we have not heard from:
    (traveller_id, precision, zone_id)."""
    return (select(AlertRecipient.traveller_id, AlertRecipient.precision, AlertRecipient.zone_id)
            .where(AlertRecipient.alert_id == check.id, ~_heard_from(check.incident_id, AlertRecipient.traveller_id)))


def _first_contact():
    """Each traveller's first emergency contact (lowest id)."""
    return (select(EmergencyContact.traveller_id, func.min(EmergencyContact.id).label("contact_id"))
            .group_by(EmergencyContact.traveller_id).subquery())


def contact_counts(check: Alert) -> dict[str, int]:
    """Of those we have not heard from: how many have a contact we may tell (consent and a
    contact), and how many not."""
    silent = silent_recipients(check).subquery()
    first = _first_contact()
    session = db_session()
    total = session.scalar(select(func.count()).select_from(silent)) or 0
    told = session.scalar(
        select(func.count()).select_from(silent)
        .join(Traveller, Traveller.id == silent.c.traveller_id)
        .join(first, first.c.traveller_id == silent.c.traveller_id)
        .where(Traveller.consent_at.is_not(None))) or 0
    return {"contacts": told, "no_contact": total - told}


def step_size(check: Alert, kind: str) -> int:
    """How many would receive this step if it were sent now."""
    if kind == CONTACT_CHECK:
        return contact_counts(check)["contacts"]
    return db_session().scalar(select(func.count()).select_from(silent_recipients(check).subquery())) or 0


def round_size(alert: Alert) -> int:
    """A follow-up alert's size: frozen, once sent; else who it would reach now."""
    if alert.status in ("sending", "sent"):
        return alert.recipient_count
    check = db_session().get(Alert, alert.followup_of)
    return step_size(check, alert.kind) if check is not None else 0


def freeze_round(alert: Alert) -> int:
    """Write the round's recipient rows (the caller checked none exist): the silent
    recipients of the safety check, with their current address and language, or for the
    contact step their first contact's. Returns how many. Flushes; the caller commits."""
    session = db_session()
    check = session.get(Alert, alert.followup_of)
    silent = silent_recipients(check).subquery()
    if alert.kind == CONTACT_CHECK:
        first = _first_contact()
        query = (select(silent.c.traveller_id, silent.c.precision, EmergencyContact.language,
                        EmergencyContact.email, EmergencyContact.phone, EmergencyContact.id.label("contact_id"))
                 .join(Traveller, Traveller.id == silent.c.traveller_id)
                 .join(first, first.c.traveller_id == silent.c.traveller_id)
                 .join(EmergencyContact, EmergencyContact.id == first.c.contact_id)
                 .where(Traveller.consent_at.is_not(None)))
    else:
        query = (select(silent.c.traveller_id, silent.c.precision, silent.c.zone_id, Traveller.language,
                        Traveller.email, Traveller.phone)
                 .join(Traveller, Traveller.id == silent.c.traveller_id))
    rows = [{"alert_id": alert.id, "incident_id": alert.incident_id, "traveller_id": r.traveller_id,
             "language": r.language, "email": r.email, "phone": r.phone, "precision": r.precision,
             "zone_id": getattr(r, "zone_id", None), "emergency_contact_id": getattr(r, "contact_id", None)}
            for r in session.execute(query.order_by(silent.c.traveller_id))]
    insert_rows(session, AlertRecipient.__table__, rows)
    return len(rows)


def answered_since_freeze(alert: Alert, traveller_ids: list[int]) -> set[int]:
    """Of these recipients of a follow-up, those we have heard from by now."""
    if not traveller_ids:
        return set()
    session = db_session()
    member, chunk = membership(session)
    found: set[int] = set()
    ids = sorted(set(traveller_ids))
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        found.update(session.scalars(select(SafetyResponse.traveller_id).distinct().where(
            SafetyResponse.incident_id == alert.incident_id, SafetyResponse.companion_id.is_(None),
            member(SafetyResponse.traveller_id, part))))
        found.update(session.scalars(select(Case.traveller_id).where(
            Case.incident_id == alert.incident_id, member(Case.traveller_id, part))))
    return found


# --- what a round says -------------------------------------------------------------------

def lead_channel(check: Alert, number: int) -> str:
    """Round 1 leads with the channel the safety check did not lead with, round 2 with the
    check's own, and so on: whoever did not see the first message gets the other one first."""
    first = (check.channels or ["email"])[0]
    return OTHER_CHANNEL[first] if number % 2 else first


def _round_texts(check: Alert, kind: str, incident: Incident) -> dict[str, str]:
    texts = {}
    name = placeholder(TRAVELLER_NAME)
    for lang in ("en", "fr"):
        with force_locale(lang):
            if kind == CONTACT_CHECK:
                subject = _("Have you heard from %(name)s?", name=name)
                body = _("You are listed as an emergency contact of %(name)s. We have not heard from "
                         "%(name)s since %(title)s. If you have heard from them, please tell us whether "
                         "they are safe or need help. If you have not, you do not need to reply.",
                         name=name, title=incident.title_in(lang))
                sms = gsm_safe(_("Consular services: we have not heard from %(name)s since %(title)s. If you "
                                 "have, reply 1 if they are safe, 2 if they need help. No reply needed "
                                 "otherwise.", name=name, title=incident.title_in(lang)))
            else:
                subject = _("Reminder: %(subject)s", subject=getattr(check, f"subject_{lang}"))
                body = _("We have not received your answer yet.") + "\n\n" + getattr(check, f"body_{lang}")
                sms = gsm_safe(_("Reminder:")) + " " + getattr(check, f"sms_{lang}")
        texts.update({f"subject_{lang}": subject[:200], f"body_{lang}": body, f"sms_{lang}": sms})
    return texts


def create_round(incident: Incident, step: Step, user: User | None) -> Alert | None:
    """Insert the alert of `step` as a draft; None when another scheduler created this
    round first (the unique (followup_of, round) pair decides). Flushes; the caller commits."""
    check = step.check
    if step.kind == CONTACT_CHECK:
        channels = list(check.channels or ["email", "sms"])
        channels += [c for c in ("email", "sms") if c not in channels]
    else:
        lead = lead_channel(check, step.number)
        channels = [lead, OTHER_CHANNEL[lead]]
    alert = Alert(incident_id=incident.id, kind=step.kind, status="draft", channels=channels,
                  followup_of=check.id, round=step.number, created_by_id=user.id if user else None,
                  **_round_texts(check, step.kind, incident))
    session = db_session()
    try:
        with session.begin_nested():
            session.add(alert)
            session.flush()
    except IntegrityError:
        return None
    return alert


def approval_needed(size: int) -> bool:
    return size > current_app.config["APPROVAL_THRESHOLD"]


def contact_recipients(alert: Alert, traveller_ids: list[int]) -> dict[int, tuple[int | None, str]]:
    """For a contact step: traveller id -> (their contact's id, the traveller's name)."""
    if alert.kind != CONTACT_CHECK or not traveller_ids:
        return {}
    session = db_session()
    member, chunk = membership(session)
    found = {}
    ids = sorted(set(traveller_ids))
    for start in range(0, len(ids), chunk):
        for r in session.execute(
            select(AlertRecipient.traveller_id, AlertRecipient.emergency_contact_id, Traveller.given_name,
                   Traveller.family_name)
            .join(Traveller, Traveller.id == AlertRecipient.traveller_id)
            .where(AlertRecipient.alert_id == alert.id, member(AlertRecipient.traveller_id, ids[start:start + chunk]))
        ):
            found[r.traveller_id] = (r.emergency_contact_id, f"{r.given_name} {r.family_name}")
    return found


def round_figures(alert: Alert) -> dict:
    """A sent round's delivered (people reached) and answers since it was sent."""
    from notify.models import Delivery

    session = db_session()
    delivered = session.scalar(
        select(func.count(func.distinct(Delivery.recipient_id)))
        .where(Delivery.campaign_id == alert.id, Delivery.status.in_(("sent", "delivered")))) or 0
    answers = 0
    if alert.sent_at is not None:
        answers = session.scalar(
            select(func.count(func.distinct(AlertRecipient.traveller_id)))
            .join(SafetyResponse, and_(SafetyResponse.incident_id == AlertRecipient.incident_id,
                                       SafetyResponse.traveller_id == AlertRecipient.traveller_id))
            .where(AlertRecipient.alert_id == alert.id, SafetyResponse.received_at >= alert.sent_at)) or 0
    return {"delivered": delivered, "answers": answers}
