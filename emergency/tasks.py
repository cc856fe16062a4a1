"""Background jobs of the alert fan-out. Each takes ids, reloads from the database and is
safe to run twice: recipients are frozen once, delivery rows are unique per
(alert, traveller, channel) and claimed with a conditional UPDATE before any provider call."""
from __future__ import annotations

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import func, insert, select

from notify.delivery import create_deliveries, send_email_batch, send_sms_batch
from notify.models import Delivery
from notify.providers.base import EmailBatch, EmailRecipient, SmsMessage, placeholder
from notify.providers.factory import build_providers
from registry.models import Traveller

from .database import db_session
from .jobs import enqueue, job
from .links import response_urls
from .models import Alert, AlertRecipient


def providers():
    """The (email, sms) providers of this process, built once from configuration."""
    app = current_app._get_current_object()
    if "providers" not in app.extensions:
        factory = app.extensions["db_session"].session_factory
        app.extensions["providers"] = build_providers(app.config, factory)
    return app.extensions["providers"]


def _freeze_recipients(alert: Alert) -> None:
    """Take the recipient snapshot once: later registry edits don't change who was told."""
    session = db_session()
    if session.scalar(select(func.count()).select_from(AlertRecipient).where(AlertRecipient.alert_id == alert.id)):
        return
    from .incidents import affected_for

    affected = affected_for(alert.incident)
    precision = {a.traveller_id: a.precision for a in affected}
    ids = list(precision)
    for start in range(0, len(ids), 5000):
        chunk = ids[start:start + 5000]
        people = session.execute(
            select(Traveller.id, Traveller.language, Traveller.email, Traveller.phone).where(Traveller.id.in_(chunk))
        ).all()
        if people:
            session.execute(insert(AlertRecipient), [
                {"alert_id": alert.id, "incident_id": alert.incident_id, "traveller_id": p.id,
                 "language": p.language, "email": p.email, "phone": p.phone, "precision": precision[p.id]}
                for p in people
            ])
    alert.recipient_count = len(ids)
    session.commit()


@job
def prepare_alert(alert_id: int) -> None:
    session = db_session()
    alert = session.get(Alert, alert_id)
    if alert is None or alert.status not in ("sending", "sent"):
        return
    _freeze_recipients(alert)
    rows = []
    for r in session.execute(select(AlertRecipient).where(AlertRecipient.alert_id == alert_id)).scalars():
        if "email" in alert.channels and r.email:
            rows.append((r.traveller_id, "email", r.email, r.language))
        if "sms" in alert.channels and r.phone:
            rows.append((r.traveller_id, "sms", r.phone, r.language))
    config = current_app.config
    batches = create_deliveries(session, alert_id, rows,
                                {"email": config["EMAIL_BATCH_SIZE"], "sms": config["SMS_BATCH_SIZE"]})
    session.commit()
    for channel, count in batches.items():
        task = deliver_email_batch if channel == "email" else deliver_sms_batch
        for batch in range(count):
            enqueue(task, alert_id, batch, job_id=f"alert-{alert_id}-{channel}-{batch}", queue="alerts")
    finish_if_done(alert_id)


def _other(lang: str) -> str:
    return "fr" if lang == "en" else "en"


def email_batches(alert: Alert, deliveries: list[Delivery]) -> list[EmailBatch]:
    """One batch per language: own language first, the other below; links per recipient."""
    by_language: dict[str, list[Delivery]] = {}
    for d in deliveries:
        by_language.setdefault(d.language if d.language in ("en", "fr") else "en", []).append(d)
    batches = []
    for lang, group in by_language.items():
        order = [lang, _other(lang)]
        tags = {name: placeholder(name) for name in ("safe_url", "help_url", "page_url")}
        sections = []
        for part in order:
            with force_locale(part):
                sections.append({
                    "lang": part,
                    "body": getattr(alert, f"body_{part}"),
                    "text": render_template("email/safety_check.txt", body=getattr(alert, f"body_{part}"), **tags),
                    "html": render_template("email/safety_check_section.html", body=getattr(alert, f"body_{part}"),
                                            lang=part, **tags),
                })
        subject = f"{getattr(alert, f'subject_{order[0]}')} / {getattr(alert, f'subject_{order[1]}')}"
        text = "\n\n----------------------------------------\n\n".join(s["text"] for s in sections)
        html = render_template("email/safety_check.html", sections=sections, subject=subject, lang=lang)
        recipients = [
            EmailRecipient(d.id, d.address, response_urls(alert.incident_id, d.recipient_id)) for d in group
        ]
        batches.append(EmailBatch(language=lang, subject=subject, text=text, html=html, recipients=recipients))
    return batches


def sms_body(alert: Alert, language: str) -> str:
    own = language if language in ("en", "fr") else "en"
    return f"{getattr(alert, f'sms_{own}')}\n\n{getattr(alert, f'sms_{_other(own)}')}"


@job
def deliver_email_batch(alert_id: int, batch: int) -> None:
    session = db_session()
    alert = session.get(Alert, alert_id)
    if alert is None:
        return
    email, _sms = providers()
    send_email_batch(session, alert_id, batch, email, lambda ds: email_batches(alert, ds))
    finish_if_done(alert_id)


@job
def deliver_sms_batch(alert_id: int, batch: int) -> None:
    session = db_session()
    alert = session.get(Alert, alert_id)
    if alert is None:
        return
    _email, sms = providers()
    send_sms_batch(session, alert_id, batch, sms,
                   lambda d: SmsMessage(d.id, d.address, sms_body(alert, d.language)))
    finish_if_done(alert_id)


def finish_if_done(alert_id: int) -> None:
    """An alert is `sent` once no delivery is still waiting for its provider call."""
    session = db_session()
    waiting = session.scalar(
        select(func.count()).select_from(Delivery)
        .where(Delivery.campaign_id == alert_id, Delivery.status.in_(("pending", "sending")))
    )
    alert = session.get(Alert, alert_id)
    if alert is not None and alert.status == "sending" and not waiting:
        alert.status = "sent"
        session.commit()


@job
def sweep_deliveries() -> int:
    """Re-queue delivery batches that a lost or killed job left waiting (RQ's registries are not
    the truth about what was sent; our delivery rows are). Claims stay conditional, so a batch
    queued twice still calls the provider once per delivery."""
    from datetime import timedelta

    from .timeutil import utcnow

    session = db_session()
    stale = utcnow() - timedelta(minutes=5)
    waiting = session.execute(
        select(Delivery.campaign_id, Delivery.channel, Delivery.batch).distinct()
        .join(Alert, Alert.id == Delivery.campaign_id)
        .where(Alert.status == "sending", Delivery.status.in_(("pending", "sending")), Delivery.created_at < stale)
    ).all()
    bucket = int(utcnow().timestamp() // 60)
    for alert_id, channel, batch in waiting:
        task = deliver_email_batch if channel == "email" else deliver_sms_batch
        enqueue(task, alert_id, batch, job_id=f"alert-{alert_id}-{channel}-{batch}-sweep{bucket}", queue="alerts")
    return len(waiting)
