"""Alerts: compose a bilingual message, get it approved, send it.

Sending commits the alert as `sending` and queues one `prepare_alert` job (deterministic
id), which freezes the recipient list and queues the provider-sized delivery batches.
A mass send (more recipients than APPROVAL_THRESHOLD) needs a second person's approval:
composing one asks for it (`request_approval`), which tells the on-call approvers.
Sending a safety check also schedules its follow-up (`jobs.followup`); follow-up rounds
are alerts too, created by that schedule, and a round left for approval is sent here.
"""
from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from common.clock import utcnow
from common.i18n import N_
from emergency.core import audit
from emergency.core.auth import acting_user
from emergency.core.database import db_session
from emergency.core.models import Alert, Incident
from emergency.jobs.runner import enqueue
from emergency.services.approvals import request_approval
from emergency.services.errors import ServiceError
from notify.segments import gsm_safe
from notify.segments import sms_info as _sms_info

CHANNELS = ("email", "sms")
TEXT_FIELDS = ("subject_en", "subject_fr", "body_en", "body_fr", "sms_en", "sms_fr")
LIMITS = {"subject": 200, "body": 20000, "sms": 1600}


class AlertError(ServiceError):
    """A refused alert action."""


# What an alert is for. Only a safety check asks for an answer (links, "reply 1 or 2");
# information gives advice, all_clear says the incident is over.
KINDS = ("safety_check", "information", "all_clear")


def _kind_texts(kind: str, title: str) -> dict[str, str]:
    """One kind's subject, email body and SMS in the current locale (French SMS stay GSM-7)."""
    if kind == "information":
        return {
            "subject": _("Information: %(title)s", title=title),
            "body": _("Important information about %(title)s for travellers in the affected area. Follow "
                      "the instructions of local authorities and check our travel advice for updates. "
                      "You do not need to answer this message.", title=title),
            "sms": _("Consular information: %(title)s. Follow the instructions of local authorities. "
                     "No need to reply.", title=title),
        }
    if kind == "all_clear":
        return {
            "subject": _("Incident over: %(title)s", title=title),
            "body": _("The situation caused by %(title)s is over. Thank you to everyone who answered. If you "
                      "still need help, contact the nearest embassy or consulate.", title=title),
            "sms": _("Consular alert over: %(title)s. If you still need help, reply 2 or call your embassy "
                     "or consulate.", title=title),
        }
    return {
        "subject": _("Safety check: %(title)s", title=title),
        "body": _(
            "We are contacting you because our records show you may be in the area affected by "
            "%(title)s. Please tell us whether you are safe or need help.",
            title=title,
        ),
        "sms": _("Consular alert: %(title)s. Are you safe? Reply 1 if safe, 2 if you need help.", title=title),
    }


def title_in(incident, lang: str) -> str:
    """The incident's title for a `lang` reader (its French title when it has one)."""
    french = getattr(incident, "title_fr", None)
    return french if lang == "fr" and french else incident.title


def default_texts(incident: Incident, kind: str = "safety_check") -> dict[str, str]:
    """Pre-filled wording of one kind of alert, in both languages (GSM-7-safe French SMS)."""
    if kind not in KINDS:
        raise AlertError(N_("Unknown kind of alert."), field="kind")
    texts = {}
    for lang in ("en", "fr"):
        with force_locale(lang):
            for part, value in _kind_texts(kind, title_in(incident, lang)).items():
                # A default SMS never costs UCS-2 segments because of a translator's ê or ’.
                texts[f"{part}_{lang}"] = gsm_safe(value) if part == "sms" else value
    return texts


def all_default_texts(incident: Incident) -> dict[str, dict[str, str]]:
    """Every kind's pre-filled wording, for the composer's kind picker."""
    return {kind: default_texts(incident, kind) for kind in KINDS}


def sms_info(text: str) -> dict:
    info = _sms_info(text or "")
    return {"encoding": info.encoding, "segments": info.segments, "length": info.chars}


def _clean_texts(texts: dict) -> dict[str, str]:
    clean = {}
    for field in TEXT_FIELDS:
        value = (texts.get(field) or "").strip()
        if not value:
            raise AlertError(N_("This text is required in English and in French."), field=field)
        limit = LIMITS[field.split("_")[0]]
        if len(value) > limit:
            raise AlertError(N_("This text is too long (%(limit)s characters at most)."), field=field, limit=limit)
        clean[field] = value
    return clean


def compose_alert(incident: Incident, texts: dict, channels: list[str], kind: str = "safety_check") -> Alert:
    if incident.status != "active":
        raise AlertError(N_("This incident is closed; no new alerts can be sent."))
    if kind not in KINDS:
        raise AlertError(N_("Unknown kind of alert."), field="kind")
    channels = [c for c in CHANNELS if c in (channels or [])]
    if not channels:
        raise AlertError(N_("Choose at least one channel (email or SMS)."), field="channels")
    clean = _clean_texts(texts)
    user = acting_user()
    alert = Alert(incident_id=incident.id, kind=kind, status="draft", channels=channels,
                  created_by_id=user.id if user else None, **clean)
    session = db_session()
    session.add(alert)
    session.flush()
    audit.record("alert.composed", "alert", alert.id, incident_id=incident.id, channels=channels, kind=kind)
    session.commit()
    count = reach(alert)
    if needs_approval(alert, count):
        request_approval(alert, count)
    return alert


def reach(alert: Alert) -> int:
    """The people `alert` reaches: a follow-up round goes to those not heard from, any other
    alert to everyone the incident affects now."""
    if alert.followup_of is not None:
        from emergency.services.followup_rounds import round_size

        return round_size(alert)
    from emergency.services.incidents import count_for

    return count_for(alert.incident)


def needs_approval(alert: Alert, count: int | None = None) -> bool:
    """Whether this alert still needs a second person before it may go out (`count`: the
    people it reaches, when the caller knows it already)."""
    if alert.status != "draft":
        return False
    return (reach(alert) if count is None else count) > current_app.config["APPROVAL_THRESHOLD"]


def approve_alert(alert: Alert) -> Alert:
    user = acting_user()
    if alert.status != "draft":
        raise AlertError(N_("Only a draft alert can be approved."))
    if user is None or not user.has_role("approver"):
        raise AlertError(N_("Only an approver can approve an alert."))
    if alert.created_by_id == user.id:
        raise AlertError(N_("A second person must approve this alert: you wrote it."))
    alert.status = "approved"
    alert.approved_by_id = user.id
    alert.approved_at = utcnow()
    audit.record("alert.approved", "alert", alert.id)
    db_session().commit()
    return alert


def send_alert(alert: Alert) -> Alert:
    """Mark the alert as sending and queue its preparation; returns at once."""
    from emergency.jobs import fanout as tasks

    if alert.status in ("sending", "sent"):
        raise AlertError(N_("This alert has already been sent."))
    if alert.incident.status != "active":
        raise AlertError(N_("This incident is closed; no new alerts can be sent."))
    if alert.status == "draft" and needs_approval(alert):
        raise AlertError(N_("This alert reaches many people and needs a second person's approval first."))
    user = acting_user()
    alert.status = "sending"
    alert.sent_at = utcnow()
    alert.sent_by_id = user.id if user else None
    audit.record("alert.sent", "alert", alert.id, incident_id=alert.incident_id)
    db_session().commit()
    enqueue(tasks.prepare_alert, alert.id, job_id=f"alert-{alert.id}-prepare", queue="alerts")
    from emergency.jobs import followup

    followup.alert_sent(alert)  # a safety check (or a round) starts the wait for the next round
    return alert


def get_alert(alert_id: int) -> Alert | None:
    return db_session().get(Alert, alert_id)
