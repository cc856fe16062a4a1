"""Application tables: coordinators, incidents, alerts, the frozen recipient list,
safety responses, cases and the audit log. Foreign keys to travellers point across to the
registry's metadata by column object, so each package keeps its own MetaData."""
from __future__ import annotations

from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, synonym
from werkzeug.security import check_password_hash, generate_password_hash

from common.clock import utcnow
from common.models import package_metadata
from registry.models import Companion, EmergencyContact, Partner, Traveller


class AppBase(DeclarativeBase):
    """The application's tables (their own MetaData; Alembic's env.py combines the packages')."""

    metadata = package_metadata()


# "partner" ranks below viewer: a partner's API token reaches only
# /api/v1/partners/me/..., never a coordinator or viewer endpoint.
ROLES = ("partner", "viewer", "coordinator", "approver", "admin")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}


class User(UserMixin, AppBase):
    """A console user (consular staff) or a trigger system with an API token."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="viewer")
    language: Mapped[str] = mapped_column(String(2), default="en")
    password_hash: Mapped[str | None] = mapped_column(String(300))
    api_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey(Partner.id), index=True)  # role "partner"
    phone: Mapped[str | None] = mapped_column(String(20))  # E.164, for on-call text messages
    # On the on-call list: told by email (and SMS when `phone` is set) when a case opens or
    # an approval is requested (see services.staff_notifications).
    on_call: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Part of the session's log-in id (see `get_id`): signing out bumps it, so a copy of
    # the session cookie taken before that is refused on the server side.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Base32 secret of the user's TOTP second factor; None until they enrol.
    totp_secret: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (CheckConstraint("role IN ('partner','viewer','coordinator','approver','admin')",
                                      name="role"),)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    def has_role(self, role: str) -> bool:
        return self.active and ROLE_RANK[self.role] >= ROLE_RANK[role]

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    def get_id(self) -> str:  # Flask-Login: what the session cookie names
        return f"{self.id}:{self.session_version or 0}"


class Incident(AppBase):
    """A crisis: a zone (normalised GeoJSON in WGS84) and a time window."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title_en: Mapped[str] = mapped_column(String(200))
    title_fr: Mapped[str | None] = mapped_column(String(200))  # None: the English title serves both
    # `title` is the English title under the name the API, the CLI and older callers use.
    title = synonym("title_en")
    status: Mapped[str] = mapped_column(String(12), default="active")  # active | closed
    zone_geojson: Mapped[dict] = mapped_column(JSON)  # normalised geometry (MultiPolygon)
    zone_source: Mapped[dict | None] = mapped_column(JSON)  # how it was given: kind + parameters
    zone_note: Mapped[str | None] = mapped_column(Text)  # e.g. repaired geometry
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    alerts: Mapped[list["Alert"]] = relationship(back_populates="incident", order_by="Alert.id")
    zones: Mapped[list["IncidentZone"]] = relationship(
        back_populates="incident", order_by="(IncidentZone.severity, IncidentZone.id)",
        cascade="all, delete-orphan", passive_deletes=True)
    cap_messages: Mapped[list["CapMessage"]] = relationship(
        back_populates="incident", order_by="(CapMessage.received_at, CapMessage.id)",
        cascade="all, delete-orphan", passive_deletes=True)

    __table_args__ = (CheckConstraint("status IN ('active','closed')", name="status"),)

    def title_in(self, lang: str) -> str:
        """The title a reader of `lang` sees: the French one when there is one, else the English."""
        return self.title_fr if lang == "fr" and self.title_fr else self.title_en


class IncidentZone(AppBase):
    """One of an incident's zones (severity rings): 1 is the most severe. A traveller in
    several zones belongs to the most severe one and receives that zone's message.
    `Incident.zone_geojson` keeps the union of all zones (the API's `zone`)."""

    __tablename__ = "incident_zones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    severity: Mapped[int] = mapped_column(Integer, default=1)
    label_en: Mapped[str | None] = mapped_column(String(200))
    label_fr: Mapped[str | None] = mapped_column(String(200))
    zone_geojson: Mapped[dict] = mapped_column(JSON)
    zone_source: Mapped[dict | None] = mapped_column(JSON)
    zone_note: Mapped[str | None] = mapped_column(Text)
    message_en: Mapped[str | None] = mapped_column(Text)
    message_fr: Mapped[str | None] = mapped_column(Text)

    incident: Mapped[Incident] = relationship(back_populates="zones")

    __table_args__ = (CheckConstraint("severity >= 1", name="severity"),)


CAP_ACTIONS = ("opened", "updated", "cancelled", "recorded")


class CapMessage(AppBase):
    """One CAP message that opened or acted on an incident (see services.cap_in).

    (sender, identifier) is CAP's own key of a message: a later Update or Cancel names its
    predecessors by it in <references>, which is how it finds the incident, and the unique
    constraint makes a message posted twice (a retrying trigger, two feeds) act once.
    `action` is what it did: opened the draft, updated its zone and texts, cancelled it, or
    only `recorded` (an update or cancel that came after an alert went out: the coordinator
    decides). `notes` are codes the incident page explains (a language missing, ...);
    `texts` the draft alert's wording taken from the message, in both languages where given."""

    __tablename__ = "cap_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    sender: Mapped[str] = mapped_column(String(255))
    identifier: Mapped[str] = mapped_column(String(255))
    sent: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_text: Mapped[str] = mapped_column(String(40))  # as the message wrote it
    status: Mapped[str] = mapped_column(String(10))  # Actual (others are refused)
    msg_type: Mapped[str] = mapped_column(String(8))  # Alert | Update | Cancel
    source: Mapped[str] = mapped_column(String(300))  # "upload", "api", a feed's URL
    action: Mapped[str] = mapped_column(String(10))
    notes: Mapped[list | None] = mapped_column(JSON)
    texts: Mapped[dict | None] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    incident: Mapped[Incident] = relationship(back_populates="cap_messages")

    __table_args__ = (
        CheckConstraint("action IN ('opened','updated','cancelled','recorded')", name="action"),
        UniqueConstraint("sender", "identifier", name="uq_cap_messages_once"),
    )


ALERT_STATES = ("draft", "approved", "sending", "sent")


class Alert(AppBase):
    """A bilingual message to everyone affected by an incident at send time."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="safety_check")
    status: Mapped[str] = mapped_column(String(12), default="draft")
    subject_en: Mapped[str] = mapped_column(String(200))
    subject_fr: Mapped[str] = mapped_column(String(200))
    body_en: Mapped[str] = mapped_column(Text)
    body_fr: Mapped[str] = mapped_column(Text)
    sms_en: Mapped[str] = mapped_column(Text)
    sms_fr: Mapped[str] = mapped_column(Text)
    channels: Mapped[list] = mapped_column(JSON, default=lambda: ["email", "sms"])
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    recipient_count: Mapped[int] = mapped_column(Integer, default=0)
    # A follow-up round is an alert too, so it goes through the same fan-out and approval:
    # `followup_of` is the safety check it follows up, `round` its number (1..N for the rounds
    # to travellers, CONTACT_ROUND for the message to their emergency contacts). The unique
    # pair lets two schedulers racing for the same round create it once.
    followup_of: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), index=True)
    round: Mapped[int | None] = mapped_column(Integer)

    incident: Mapped[Incident] = relationship(back_populates="alerts")

    __table_args__ = (
        CheckConstraint("status IN ('draft','approved','sending','sent')", name="status"),
        UniqueConstraint("followup_of", "round", name="uq_alerts_followup_round"),
    )


# The `round` of a follow-up that goes to the emergency contacts: one per safety check,
# whatever the number of rounds to travellers the plan has (which may change).
CONTACT_ROUND = 0


class FollowupPlan(AppBase):
    """How an incident's non-responders are followed up: asked again every `delay_minutes`
    after the previous message, up to `max_rounds` times, then (`tell_contacts`) their
    emergency contact is asked. No row means the defaults (FOLLOWUP_DELAY_MINUTES,
    FOLLOWUP_ROUNDS, contacts told)."""

    __tablename__ = "followup_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), unique=True)
    delay_minutes: Mapped[int] = mapped_column(Integer)
    max_rounds: Mapped[int] = mapped_column(Integer)
    tell_contacts: Mapped[bool] = mapped_column(Boolean, default=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        CheckConstraint("delay_minutes BETWEEN 5 AND 2880", name="delay_minutes"),
        CheckConstraint("max_rounds BETWEEN 0 AND 5", name="max_rounds"),
    )


class AlertRecipient(AppBase):
    """The frozen recipient list taken at send time: who, where and in which language."""

    __tablename__ = "alert_recipients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    traveller_id: Mapped[int] = mapped_column(ForeignKey(Traveller.id, ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(String(2))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    precision: Mapped[str] = mapped_column(String(10))
    # The severity zone the traveller was in at send time (frozen with the rest).
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("incident_zones.id", ondelete="SET NULL"))
    # Set on the follow-up that asks a traveller's emergency contact: the row is still the
    # traveller's (their deliveries, their answer), but the address and language are the contact's.
    emergency_contact_id: Mapped[int | None] = mapped_column(ForeignKey(EmergencyContact.id, ondelete="SET NULL"))

    __table_args__ = (UniqueConstraint("alert_id", "traveller_id", name="uq_alert_recipients_once"),)


RESPONSE_STATUSES = ("safe", "need_help")
# Who gave an answer: the traveller, a companion travelling with them, a consular officer
# who took it (by phone), a report nobody vouched for (the public check-in form), or the
# traveller's emergency contact answering our follow-up.
REPORTERS = ("traveller", "companion", "officer", "unverified", "contact")


class SafetyResponse(AppBase):
    """One answer about a traveller, or one of their companions, to an incident's safety
    check; the latest one counts.

    Each answer keeps its provenance: who gave it (`reported_by`, one of REPORTERS; their
    name in `reporter_name` when it is not the traveller), by which channel, when, and from
    which message (`source_message`: "delivery:<id>" for a link in a message we sent,
    "inbound:<id>" for an SMS reply, null for a web page). An answer received after the
    incident was closed is `late`: kept and shown, left out of the closed incident's figures.

    `companion_id` names the companion (on the traveller's registration) the answer is about;
    empty, it is about the traveller. On such a row `reported_by` "companion" is the companion
    themselves, whose answer always wins (see `services.households`).
    """

    __tablename__ = "safety_responses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    traveller_id: Mapped[int] = mapped_column(ForeignKey(Traveller.id, ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(12))
    channel: Mapped[str] = mapped_column(String(10))  # link | sms | web | console | checkin
    message: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reported_by: Mapped[str] = mapped_column(String(12), default="traveller", server_default="traveller")
    reporter_name: Mapped[str | None] = mapped_column(String(200))
    source_message: Mapped[str | None] = mapped_column(String(40))
    late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    companion_id: Mapped[int | None] = mapped_column(ForeignKey(Companion.id, ondelete="CASCADE"))

    companion: Mapped[Companion | None] = relationship(Companion)  # another registry: named by class

    __table_args__ = (
        CheckConstraint("status IN ('safe','need_help')", name="status"),
        CheckConstraint("reported_by IN ('traveller','companion','officer','unverified','contact')",
                        name="reported_by"),
        Index("ix_safety_responses_latest", "incident_id", "traveller_id", "received_at"),
        Index("ix_safety_responses_companion", "incident_id", "companion_id"),
    )


class CheckinReport(AppBase):
    """One crisis-time check-in, kept as the person sent it.

    A check-in whose email or phone matches a registered traveller (`matched`) does not
    speak for that traveller: it stays an unverified report until someone enters the
    one-time code sent to that traveller's own contact (`verified_at`), and only then is the
    answer recorded as theirs. A check-in that matched nobody created its own traveller
    (`traveller_id`) whose answer counted at once; its row exists so that both kinds get
    the same code page and the page reveals nobody's registration. The code is stored as
    an HMAC, never in clear."""

    __tablename__ = "checkin_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    traveller_id: Mapped[int] = mapped_column(ForeignKey(Traveller.id, ondelete="CASCADE"), index=True)
    matched: Mapped[bool] = mapped_column(Boolean)
    contact_channel: Mapped[str] = mapped_column(String(5))  # where the code goes: email | sms
    contact: Mapped[str] = mapped_column(String(254))  # normalised, as it matched the record
    answer: Mapped[str] = mapped_column(String(12))
    message: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(2))  # of the person who checked in
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    code_hash: Mapped[str | None] = mapped_column(String(64))
    code_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        CheckConstraint("answer IN ('safe','need_help')", name="answer"),
        CheckConstraint("contact_channel IN ('email','sms')", name="contact_channel"),
    )


CASE_STATUSES = ("new", "in_progress", "resolved", "closed")
OPEN_CASE_STATUSES = ("new", "in_progress")
CASE_PRIORITIES = ("low", "normal", "high", "urgent")
CASE_EVENT_KINDS = ("opened", "need_help", "reopened", "status", "assigned", "priority", "note",
                    "contact", "answer")
CALL_KINDS = ("opened", "need_help", "reopened")  # the events a call for help writes
CONTACT_METHODS = ("phone", "sms", "email")
CONTACT_OUTCOMES = ("reached", "no_answer", "left_message", "wrong_number", "failed")


class Case(AppBase):
    """A traveller who asked for help in an incident, followed by officers until it is settled.

    One row per (incident, traveller), whatever the number of calls for help: another "need
    help" adds an event, or reopens the case when it was resolved or closed. `waiting_since`
    is when the current wait began (opening or the latest reopening): the queue's order."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    traveller_id: Mapped[int] = mapped_column(ForeignKey(Traveller.id, ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="new")
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    source: Mapped[str] = mapped_column(String(10))  # the channel of the first call for help
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    waiting_since: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    incident: Mapped[Incident] = relationship()
    traveller: Mapped[Traveller] = relationship(Traveller)  # another registry: named by class
    assignee: Mapped[User | None] = relationship()
    events: Mapped[list["CaseEvent"]] = relationship(
        back_populates="case", order_by="(CaseEvent.at, CaseEvent.id)",
        cascade="all, delete-orphan", passive_deletes=True)

    __table_args__ = (
        CheckConstraint("status IN ('new','in_progress','resolved','closed')", name="status"),
        CheckConstraint("priority IN ('low','normal','high','urgent')", name="priority"),
        UniqueConstraint("incident_id", "traveller_id", name="uq_cases_once"),
        Index("ix_cases_queue", "status", "waiting_since"),
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_CASE_STATUSES

    @property
    def unverified(self) -> bool:
        """Every call for help in this case is a check-in whose code was not entered: an
        officer should confirm who it is before acting on the traveller's record."""
        calls = [e for e in self.events if e.kind in CALL_KINDS and e.user_id is None]
        return bool(calls) and all(e.unverified for e in calls)


class CaseEvent(AppBase):
    """One line of a case's history: a call for help, a change made by an officer, a note,
    a contact attempt or an answer taken by phone. The columns a kind does not use stay
    empty. Notes may hold personal details; they live here, never in the audit log."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(12))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # the officer; empty: the traveller
    source: Mapped[str | None] = mapped_column(String(10))  # channel of a call for help or an answer
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str | None] = mapped_column(String(12))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    priority: Mapped[str | None] = mapped_column(String(8))
    method: Mapped[str | None] = mapped_column(String(8))
    outcome: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    response_id: Mapped[int | None] = mapped_column(ForeignKey("safety_responses.id", ondelete="SET NULL"))
    # A call for help from the public check-in form that named a registered traveller: it is
    # not their answer until the code sent to them is entered (CheckinReport.verified_at).
    checkin_report_id: Mapped[int | None] = mapped_column(ForeignKey("checkin_reports.id", ondelete="SET NULL"))

    case: Mapped[Case] = relationship(back_populates="events")
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    response: Mapped[SafetyResponse | None] = relationship()
    checkin_report: Mapped[CheckinReport | None] = relationship()

    @property
    def unverified(self) -> bool:
        """A call for help nobody has proved came from the traveller (yet)."""
        return self.checkin_report is not None and self.checkin_report.verified_at is None

    __table_args__ = (
        CheckConstraint("kind IN ('opened','need_help','reopened','status','assigned','priority','note',"
                        "'contact','answer')", name="kind"),
    )


STAFF_NOTIFICATION_KINDS = ("case_opened", "case_reopened", "approval_requested", "rule_fired", "hazard_withdrawn")
STAFF_NOTIFICATION_STATES = ("pending", "sending", "sent", "failed")


class StaffNotification(AppBase):
    """One message to one on-call officer about one event, on one channel.

    The row exists before the provider call and is claimed with a conditional UPDATE
    (pending -> sending) committed first, as deliveries are, so however often the job runs
    each officer is told once per event and channel (`uq_staff_notifications_once`).
    `event_id` tells two events about the same object apart: the case event of an opening
    or a reopening, the audit entry of an approval request. `address` is where it went (the
    officer's email or phone when the event happened)."""

    __tablename__ = "staff_notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    object_type: Mapped[str] = mapped_column(String(10))  # case | alert | hazard
    object_id: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(5))  # email | sms
    address: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()

    __table_args__ = (
        CheckConstraint("kind IN ('case_opened','case_reopened','approval_requested','rule_fired','hazard_withdrawn')",
                        name="kind"),
        CheckConstraint("channel IN ('email','sms')", name="channel"),
        CheckConstraint("status IN ('pending','sending','sent','failed')", name="status"),
        UniqueConstraint("user_id", "kind", "object_id", "event_id", "channel", name="uq_staff_notifications_once"),
        Index("ix_staff_notifications_event", "kind", "object_id", "event_id"),
    )


class AuditEntry(AppBase):
    """Who changed what, when. `details` never holds a traveller's personal data."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(254))  # user email, "system", "traveller:<id>", "api:<user>"
    action: Mapped[str] = mapped_column(String(50))
    object_type: Mapped[str | None] = mapped_column(String(30))
    object_id: Mapped[str | None] = mapped_column(String(50))
    details: Mapped[dict | None] = mapped_column(JSON)
    # The client's address (behind TRUSTED_PROXIES, the one the proxy saw) for staff and
    # log-in actions; None for background jobs and travellers' own actions.
    address: Mapped[str | None] = mapped_column(String(45))


class ContactChange(AppBase):
    """A new email or phone number a signed-in traveller asked for, waiting for the code we
    sent to it: the record keeps its old address until the code proves they hold the new
    one, so nobody takes an address (and the sign-in links or replies it brings) that is
    not theirs. The code is stored as an HMAC, never in clear."""

    __tablename__ = "contact_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    traveller_id: Mapped[int] = mapped_column(ForeignKey(Traveller.id, ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(6))  # email | phone | phone2
    value: Mapped[str] = mapped_column(String(254))  # normalised
    code_hash: Mapped[str | None] = mapped_column(String(64))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        CheckConstraint("field IN ('email','phone','phone2')", name="field"),
        UniqueConstraint("traveller_id", "field", name="uq_contact_changes_once"),
    )


class Advisory(AppBase):
    """The travel advisory for one country: level 0 (normal precautions) to
    3 (avoid all travel), bilingual text, when and by whom it was last set."""

    __tablename__ = "advisories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    country: Mapped[str] = mapped_column(String(2), unique=True)  # ISO 3166-1 alpha-2
    level: Mapped[int] = mapped_column(Integer, default=0)
    text_en: Mapped[str] = mapped_column(Text)
    text_fr: Mapped[str] = mapped_column(Text)
    updated_on: Mapped[date] = mapped_column(Date)
    updated_by: Mapped[str | None] = mapped_column(String(254))

    __table_args__ = (CheckConstraint("level BETWEEN 0 AND 3", name="level"),)


class SigninToken(AppBase):
    """One emailed sign-in link for a traveller. The link carries a signed nonce;
    this row makes it single-use (`used_at`) and is deleted with the traveller. The session
    it opened names the nonce too and lasts until the traveller signs out (`ended_at`), so a
    copy of the session cookie is refused after that."""

    __tablename__ = "signin_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    traveller_id: Mapped[int] = mapped_column(ForeignKey(Traveller.id, ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


FEED_KINDS = ("usgs", "gdacs", "cap_index")
HAZARD_SOURCES = ("usgs", "gdacs", "cap")
HAZARD_STATES = ("active", "deleted", "cancelled")
RULE_ACTIONS = ("notify", "draft", "send")


class Feed(AppBase):
    """A hazard feed polled by `emergency.jobs.feeds`, with its health: the conditional-GET
    validators of its last answer, when it was last polled and last read without error, the
    last error and how many polls in a row failed (the console shows it unhealthy)."""

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))
    url: Mapped[str] = mapped_column(String(1000), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    etag: Mapped[str | None] = mapped_column(String(300))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    last_polled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_ok_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (CheckConstraint("kind IN ('usgs','gdacs','cap_index')", name="kind"),)


class Hazard(AppBase):
    """One hazard event as a source reported it (unique per source and source id). The
    same disaster from a second source points at the first with `merged_into_id`; the draft
    incident a rule opened for it is `incident_id`. `summary` is the parsed event (no
    personal data), `zone_geojson` its zone."""

    __tablename__ = "hazard_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(10))
    source_id: Mapped[str] = mapped_column(String(500))
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(500))
    magnitude: Mapped[float | None] = mapped_column(Float)
    alert_level: Mapped[str | None] = mapped_column(String(10))
    severity: Mapped[str | None] = mapped_column(String(20))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    countries: Mapped[list] = mapped_column(JSON, default=list)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[str] = mapped_column(String(300), default="")
    summary: Mapped[dict] = mapped_column(JSON)
    zone_geojson: Mapped[dict | None] = mapped_column(JSON)
    zone_source: Mapped[dict | None] = mapped_column(JSON)
    affected: Mapped[int | None] = mapped_column(Integer)  # travellers in the zone at the last count
    status: Mapped[str] = mapped_column(String(10), default="active")
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("hazard_events.id", ondelete="SET NULL"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"), index=True)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    incident: Mapped[Incident | None] = relationship()
    feed: Mapped[Feed | None] = relationship()

    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_hazard_events_source"),
        CheckConstraint("status IN ('active','deleted','cancelled')", name="status"),
        CheckConstraint("source IN ('usgs','gdacs','cap')", name="source"),
        Index("ix_hazard_events_kind_time", "kind", "occurred_at"),
    )


class TriggerRule(AppBase):
    """When a hazard event matches (source, kinds, thresholds, countries) and affects at
    least `min_affected` registered travellers, do `action`: tell the on-call officers,
    open a draft incident with a draft safety check, or send it. `send` runs only while an
    administrator has set `auto_send_allowed`; it still goes through approval."""

    __tablename__ = "trigger_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(10), default="any")  # any | usgs | gdacs | cap
    kinds: Mapped[list] = mapped_column(JSON, default=list)  # empty: every kind
    min_magnitude: Mapped[float | None] = mapped_column(Float)
    min_alert_level: Mapped[str | None] = mapped_column(String(10))  # green | yellow | orange | red
    min_severity: Mapped[str | None] = mapped_column(String(20))  # CAP: Minor | Moderate | Severe | Extreme
    countries: Mapped[list] = mapped_column(JSON, default=list)  # ISO alpha-2; empty: anywhere
    min_affected: Mapped[int] = mapped_column(Integer, default=1)
    action: Mapped[str] = mapped_column(String(10), default="notify")
    auto_send_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        CheckConstraint("action IN ('notify','draft','send')", name="action"),
        CheckConstraint("source IN ('any','usgs','gdacs','cap')", name="source"),
        CheckConstraint("min_affected >= 0", name="min_affected"),
    )


class TriggerFiring(AppBase):
    """A rule fired for an event: once per (rule, event), whatever the number of polls."""

    __tablename__ = "trigger_firings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("trigger_rules.id", ondelete="CASCADE"))
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazard_events.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(10))
    affected: Mapped[int] = mapped_column(Integer, default=0)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (UniqueConstraint("rule_id", "hazard_id", name="uq_trigger_firings_once"),)
