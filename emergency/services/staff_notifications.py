"""The on-call list, and the messages its officers get when a case opens or an approval is
requested.

Coordinators and up are staff who may be on call (`users.on_call`); each gets an email, and
an SMS when their phone is set, in their own language. A case that opens or reopens because
someone asked for help tells every on-call officer; an alert waiting for approval tells the
on-call approvers (never its author), or the on-call coordinators when no approver is on
call, so that someone goes and finds one.

Messages follow the delivery engine's rule: a `StaffNotification` row per (officer, event,
channel) exists before the provider call and is claimed with one conditional UPDATE,
committed first, so a job run twice tells nobody twice. The job that sends them is
`emergency.jobs.staff_notifications`; the functions here take the job's own session,
because the job may run inside its caller's commit (see `core.database.after_commit`).

Changes to the list are audited with ids only: a phone number is personal data.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from common.clock import utcnow
from common.i18n import N_
from emergency.core import audit
from emergency.core.database import db_session
from emergency.core.models import (
    ROLE_RANK,
    Alert,
    AuditEntry,
    Case,
    CaseEvent,
    Hazard,
    StaffNotification,
    TriggerFiring,
    User,
)
from emergency.services.errors import ServiceError
from notify.providers.base import EmailBatch, EmailRecipient, SendResult, SmsMessage
from notify.segments import gsm_safe
from registry.errors import ValidationFailed
from registry.validation import normalise_phone

ON_CALL_ROLE = "coordinator"  # who may be on call, see the list and change it
APPROVER_ROLE = "approver"
KINDS = ("case_opened", "case_reopened", "approval_requested", "rule_fired", "hazard_withdrawn")
HAZARD_KINDS = ("rule_fired", "hazard_withdrawn")
CASE_KINDS = {"opened": "case_opened", "reopened": "case_reopened"}  # case event kind -> notification kind
RECENT = 50  # notifications the on-call page lists
_ERROR_MAX = 2000


class OnCallError(ServiceError):
    """A refused change to the on-call list (see `ServiceError`)."""


# --- the list -----------------------------------------------------------------------------

def _staff_roles(role: str = ON_CALL_ROLE) -> list[str]:
    return [r for r, rank in ROLE_RANK.items() if rank >= ROLE_RANK[role]]


def staff(session: Session | None = None) -> list[User]:
    """Everyone who may be on call (active coordinators and up), on call first, then by name."""
    session = session or db_session()
    return list(session.scalars(
        select(User).where(User.active.is_(True), User.role.in_(_staff_roles()))
        .order_by(User.on_call.desc(), User.name, User.id)))


def on_call(session: Session, role: str = ON_CALL_ROLE, exclude_user_id: int | None = None) -> list[User]:
    """The active users on call with at least `role`, by id."""
    query = select(User).where(User.active.is_(True), User.on_call.is_(True), User.role.in_(_staff_roles(role)))
    if exclude_user_id is not None:
        query = query.where(User.id != exclude_user_id)
    return list(session.scalars(query.order_by(User.id)))


def clean_phone(raw) -> str | None:
    """An SMS-capable number in E.164, or None for an empty field (no text messages)."""
    if raw is None or not str(raw).strip():
        return None
    try:
        return normalise_phone(raw)
    except ValidationFailed as failed:
        error = failed.errors[0]
        raise OnCallError(error.message, field="phone", **error.params) from None


def staff_member(user_id) -> User:
    """The staff user `user_id` names; OnCallError when it names nobody who may be on call."""
    valid_id = isinstance(user_id, int) and not isinstance(user_id, bool)
    user = db_session().get(User, user_id) if valid_id else None
    if user is None or not user.has_role(ON_CALL_ROLE):
        raise OnCallError(N_("Only an active coordinator, approver or administrator can be on call."), field="user")
    return user


_UNCHANGED = object()


def update_member(user: User, on_call=_UNCHANGED, phone=_UNCHANGED, commit: bool = True) -> bool:
    """Put `user` on or off call and/or set their phone (None or "" removes it); returns
    whether anything changed. Validates everything before changing anything."""
    if not user.has_role(ON_CALL_ROLE):
        raise OnCallError(N_("Only an active coordinator, approver or administrator can be on call."), field="user")
    if on_call is not _UNCHANGED and not isinstance(on_call, bool):
        raise OnCallError(N_("On call must be true or false."), field="on_call")
    if phone is not _UNCHANGED:
        if phone is not None and not isinstance(phone, str):
            raise OnCallError(N_("Write the number in international format, starting with + and "
                                 "the country code, like +1 613 555 0199."), field="phone")
        phone = clean_phone(phone)
    changed = False
    if phone is not _UNCHANGED and phone != user.phone:
        user.phone = phone
        audit.record("user.phone_changed", "user", user.id, has_phone=phone is not None)
        changed = True
    if on_call is not _UNCHANGED and on_call != user.on_call:
        user.on_call = on_call
        audit.record("user.on_call" if on_call else "user.off_call", "user", user.id)
        changed = True
    session = db_session()
    if commit:
        session.commit()
    else:
        session.flush()
    return changed


def recent(limit: int = RECENT) -> list[StaffNotification]:
    """The latest messages to on-call officers, newest first (the on-call page's list)."""
    return list(db_session().scalars(
        select(StaffNotification).order_by(StaffNotification.id.desc()).limit(limit)))


# --- what an event says -------------------------------------------------------------------

def public_url(endpoint: str, _anchor: str | None = None, **values) -> str:
    """A console URL under PUBLIC_BASE_URL, built outside any request (jobs run in none)."""
    parts = urlsplit(current_app.config["PUBLIC_BASE_URL"].rstrip("/"))
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "https")
    url = adapter.build(endpoint, values, force_external=True)
    return f"{url}#{_anchor}" if _anchor else url


@dataclass
class Event:
    """What one notification is about, loaded once per job: the words are made per reader."""

    kind: str
    object_type: str
    object_id: int
    event_id: int
    url: str
    incident: str
    name: str = ""  # the traveller (cases) or the alert's author (approvals)
    unverified: bool = False
    count: int = 0
    author_id: int | None = None
    no_approver: bool = False
    action: str = ""  # rule_fired: notify | draft | send


def load_event(session: Session, kind: str, object_id: int, event_id: int) -> Event | None:
    """The event a notification job names, or None when it no longer exists (a case deleted
    with its traveller, a transaction that never committed)."""
    if kind in ("case_opened", "case_reopened"):
        event = session.get(CaseEvent, event_id)
        if event is None or event.case_id != object_id or CASE_KINDS.get(event.kind) != kind:
            return None
        case: Case = event.case
        traveller = case.traveller
        return Event(kind, "case", case.id, event.id, public_url("cases.case_page", case_id=case.id),
                     case.incident.title, name=f"{traveller.given_name} {traveller.family_name}".strip(),
                     unverified=event.unverified)
    if kind == "approval_requested":
        entry = session.get(AuditEntry, event_id)
        alert = session.get(Alert, object_id)
        if (entry is None or alert is None or entry.action != "alert.approval_requested"
                or entry.object_id != str(alert.id)):
            return None
        author = session.get(User, alert.created_by_id) if alert.created_by_id else None
        return Event(kind, "alert", alert.id, entry.id,
                     public_url("console.incident", incident_id=alert.incident_id, _anchor=f"alert-{alert.id}"),
                     alert.incident.title, name=(author.name or author.email) if author else "",
                     count=int((entry.details or {}).get("recipients") or 0), author_id=alert.created_by_id)
    if kind in HAZARD_KINDS:
        return _hazard_event(session, kind, object_id, event_id)
    raise ValueError(f"unknown notification kind {kind!r}")


def _hazard_event(session: Session, kind: str, hazard_id: int, event_id: int) -> Event | None:
    """A rule that fired for a hazard (event_id: the firing), or a hazard its source
    withdrew (event_id: the audit entry)."""
    hazard = session.get(Hazard, hazard_id)
    if hazard is None:
        return None
    if kind == "rule_fired":
        firing = session.get(TriggerFiring, event_id)
        if firing is None or firing.hazard_id != hazard.id:
            return None
        incident_id, count = firing.incident_id, firing.affected
        action = "notify" if firing.incident_id is None else ("send" if firing.alert_id and firing.action == "send" else "draft")
    else:
        entry = session.get(AuditEntry, event_id)
        if entry is None or entry.action != "trigger.withdrawn" or entry.object_id != str(hazard.id):
            return None
        incident_id, count, action = hazard.incident_id, hazard.affected or 0, ""
    if incident_id:
        url = public_url("console.incident", incident_id=incident_id)
        title = hazard.incident.title if hazard.incident else hazard.title
    else:
        url, title = public_url("feeds.index", _anchor=f"hazard-{hazard.id}"), hazard.title
    return Event(kind, "hazard", hazard.id, event_id, url, title, count=count, action=action)


def readers(session: Session, event: Event) -> list[User]:
    """Who is told: every on-call officer of a case; the on-call approvers of an approval
    other than its author, or, when there is none, the on-call coordinators other than the
    author (then `event.no_approver` is set, and the message says so)."""
    if event.object_type in ("case", "hazard"):
        return on_call(session)
    approvers = on_call(session, APPROVER_ROLE, exclude_user_id=event.author_id)
    if approvers:
        return approvers
    event.no_approver = True
    return on_call(session, exclude_user_id=event.author_id)


def headline(event: Event, name: str | None = None, incident: str | None = None) -> str:
    """The one line that says what happened, in the current locale (`name` and `incident`
    stand in for the event's own, see `sms_body`)."""
    name = event.name if name is None else name
    incident = event.incident if incident is None else incident
    if event.kind == "case_opened":
        return _("Case opened: %(name)s needs help — %(incident)s", name=name, incident=incident)
    if event.kind == "case_reopened":
        return _("Case reopened: %(name)s needs help again — %(incident)s", name=name, incident=incident)
    if event.kind == "rule_fired":
        return ngettext("Hazard alert: %(incident)s — %(num)d registered traveller in the zone",
                        "Hazard alert: %(incident)s — %(num)d registered travellers in the zone", event.count,
                        incident=incident)
    if event.kind == "hazard_withdrawn":
        return _("Hazard withdrawn by its source: %(incident)s", incident=incident)
    return ngettext("Approval needed: alert to %(num)d person for %(incident)s",
                    "Approval needed: alert to %(num)d people for %(incident)s", event.count, incident=incident)


def notes(event: Event, name: str | None = None) -> list[str]:
    """What the reader should know besides the headline, in the current locale."""
    name = event.name if name is None else name
    lines = []
    if event.unverified:
        lines.append(_("Unverified check-in: confirm who it is before acting on their record."))
    if event.object_type == "alert" and event.name:
        lines.append(_("Written by %(name)s.", name=name))
    if event.no_approver:
        lines.append(_("No approver is on call: find one to approve it."))
    if event.kind == "rule_fired" and event.action == "draft":
        lines.append(_("A draft incident and safety check are ready: review them and send."))
    if event.kind == "rule_fired" and event.action == "send":
        lines.append(_("A rule sent the safety check (or asked for its approval): follow the answers."))
    if event.kind == "hazard_withdrawn":
        lines.append(_("Its incident stays open: close it if nothing happened."))
    return lines


_NAME, _INCIDENT = "@@name@@", "@@incident@@"


def sms_body(event: Event, lang: str) -> str:
    """The SMS in `lang`: headline, notes and the link. Our words are made GSM-7 (a
    translator's ’ or ê would double the segments); names stay as written, since an officer
    must read them right. No contact details of the traveller: an SMS shows on a lock screen."""
    with force_locale(lang):
        words = gsm_safe(" ".join([headline(event, _NAME, _INCIDENT), *notes(event, _NAME)]))
    return f"{words.replace(_NAME, event.name).replace(_INCIDENT, event.incident)} {event.url}"


def email_batch(event: Event, lang: str, to: str) -> EmailBatch:
    """The email in `lang` (staff read their own language only)."""
    with force_locale(lang):
        subject = headline(event)
        lines = [subject, "", *notes(event)]
        lines += ["", _("Open it in the console: %(url)s", url=event.url), "",
                  _("You receive this because you are on call. The On call page of the console "
                    "changes the list: %(url)s", url=public_url("oncall.index"))]
    text = "\n".join(lines).replace("\n\n\n", "\n\n")
    return EmailBatch(language=lang, subject=subject, text=text, html=None,
                      recipients=[EmailRecipient(None, to, {})])


# --- rows, claims and results -------------------------------------------------------------

def _insert(session: Session):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def create_rows(session: Session, event: Event, users: list[User]) -> None:
    """One pending row per reader and channel (email; SMS when they have a phone); rows that
    exist already are left as they are, so a job run again adds only newcomers to the list.
    Does not commit."""
    now = utcnow()
    values = []
    for user in users:
        language = user.language if user.language in ("en", "fr") else "en"
        for channel, address in (("email", user.email), ("sms", user.phone)):
            if address:
                values.append(dict(user_id=user.id, kind=event.kind, object_type=event.object_type,
                                   object_id=event.object_id, event_id=event.event_id, channel=channel,
                                   address=address, language=language, status="pending", attempts=0,
                                   created_at=now))
    if values:
        stmt = _insert(session)(StaffNotification.__table__).on_conflict_do_nothing(
            index_elements=["user_id", "kind", "object_id", "event_id", "channel"])
        session.execute(stmt, values)


def waiting(session: Session, event: Event, stale_after: timedelta) -> list[int]:
    """The ids of this event's rows still to send: pending, or claimed by a worker that has
    been gone longer than `stale_after`."""
    stale = utcnow() - stale_after
    return list(session.scalars(
        select(StaffNotification.id).where(
            StaffNotification.kind == event.kind, StaffNotification.object_id == event.object_id,
            StaffNotification.event_id == event.event_id,
            or_(StaffNotification.status == "pending",
                (StaffNotification.status == "sending") & (StaffNotification.claimed_at < stale)))
        .order_by(StaffNotification.id)))


def claim(session: Session, row_id: int, stale_after: timedelta, now: datetime | None = None) -> StaffNotification | None:
    """Take one row for this worker with one conditional UPDATE and commit the claim before
    any provider call; None when another worker has it (or it was sent meanwhile)."""
    now = now or utcnow()
    result = session.execute(
        update(StaffNotification)
        .where(StaffNotification.id == row_id,
               or_(StaffNotification.status == "pending",
                   (StaffNotification.status == "sending") & (StaffNotification.claimed_at < now - stale_after)))
        .values(status="sending", claimed_at=now, attempts=StaffNotification.attempts + 1)
        .execution_options(synchronize_session=False))
    session.commit()
    if result.rowcount != 1:
        return None
    return session.get(StaffNotification, row_id, populate_existing=True)


def record(session: Session, row: StaffNotification, result: SendResult, max_attempts: int) -> bool:
    """Store the provider's answer; a temporary failure puts the row back to pending while
    attempts remain. Returns whether the row still waits. Commits."""
    if result.ok:
        row.status, row.error = "sent", None
        row.provider_message_id = result.provider_message_id
        row.sent_at = utcnow()
    else:
        row.error = (result.error or "provider failure")[:_ERROR_MAX]
        row.status = "pending" if result.retryable and row.attempts < max_attempts else "failed"
    session.commit()
    return row.status == "pending"


def message_for(event: Event, row: StaffNotification) -> EmailBatch | SmsMessage:
    if row.channel == "sms":
        return SmsMessage(None, row.address, sms_body(event, row.language))
    return email_batch(event, row.language, row.address)
