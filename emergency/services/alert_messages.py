"""What an alert says to each recipient: the bilingual email of a delivery batch (one section
per language, own language first, links per recipient) and the bilingual SMS text, each
followed by the recipient's zone message where the incident has severity rings."""
from __future__ import annotations

from flask import render_template
from flask_babel import force_locale
from sqlalchemy import select

from emergency.core.database import db_session
from emergency.core.i18n import other_language
from emergency.core.models import Alert
from emergency.services import followup_rounds
from emergency.services.safety_links import response_urls
from emergency.services.zones import RecipientZones, with_zone_message
from notify.models import Delivery
from notify.providers.base import EmailBatch, EmailRecipient, placeholder


def email_batches(alert: Alert, deliveries: list[Delivery]) -> list[EmailBatch]:
    """One EmailBatch per (language, zone) of a delivery batch (the provider sends them in
    one request): own language first, the other below, each followed by the message of the
    recipient's severity zone; links per recipient."""
    if not deliveries:
        return []
    zones = RecipientZones(db_session(), alert, "email", deliveries[0].batch)  # one batch per job
    by_language: dict[tuple, list[Delivery]] = {}
    for d in deliveries:
        key = (d.language if d.language in ("en", "fr") else "en", zones.zone_for(d.recipient_id))
        by_language.setdefault(key, []).append(d)
    batches = []
    # information / all_clear ask for no answer; a follow-up asks again; the message to an
    # emergency contact asks about the traveller, with the contact's own links
    kind = alert.kind or "safety_check"
    ask = kind in ("safety_check", *followup_rounds.FOLLOWUP_KINDS)
    about = kind == followup_rounds.CONTACT_CHECK
    contacts = followup_rounds.contact_recipients(alert, [d.recipient_id for d in deliveries])
    for (lang, zone), group in by_language.items():
        order = [lang, other_language(lang)]
        tags = {name: placeholder(name) for name in ("safe_url", "help_url", "page_url")}
        sections = []
        for part in order:
            body = with_zone_message(getattr(alert, f"body_{part}"), zone, part)
            with force_locale(part):
                sections.append({
                    "lang": part,
                    "body": body,
                    "text": render_template("email/safety_check.txt", body=body, ask=ask, about=about, **tags),
                    "html": render_template("email/safety_check_section.html", body=body,
                                            lang=part, ask=ask, about=about, **tags),
                })
        subject = f"{getattr(alert, f'subject_{order[0]}')} / {getattr(alert, f'subject_{order[1]}')}"
        text = "\n\n----------------------------------------\n\n".join(s["text"] for s in sections)
        html = render_template("email/bilingual.html", sections=sections, subject=subject, lang=lang)
        recipients = [EmailRecipient(d.id, d.address, _substitutions(alert, d.recipient_id, d.id, contacts))
                      for d in group]
        batches.append(EmailBatch(language=lang, subject=subject, text=text, html=html, recipients=recipients))
    return batches


def _substitutions(alert: Alert, traveller_id: int, delivery_id: int, contacts: dict) -> dict[str, str]:
    """A recipient's links, naming the message that carries them (and, for an emergency
    contact, the contact and the name of the traveller asked about)."""
    if traveller_id not in contacts:
        return response_urls(alert.incident_id, traveller_id, delivery_id)
    contact_id, name = contacts[traveller_id]
    return {**response_urls(alert.incident_id, traveller_id, delivery_id, contact_id),
            followup_rounds.TRAVELLER_NAME: name}


def contact_sms(alert: Alert, batch: int):
    """For the SMS of a message to emergency contacts: `fill(body, traveller_id)` puts the
    name of the traveller asked about in the body (names of this batch, loaded once)."""
    session = db_session()
    ids = list(session.scalars(select(Delivery.recipient_id).where(
        Delivery.campaign_id == alert.id, Delivery.channel == "sms", Delivery.batch == batch)))
    contacts = followup_rounds.contact_recipients(alert, ids)
    tag = placeholder(followup_rounds.TRAVELLER_NAME)

    def fill(body: str, traveller_id: int) -> str:
        return body.replace(tag, contacts.get(traveller_id, (None, ""))[1])

    return fill


def sms_body(alert: Alert, language: str, zone=None) -> str:
    """Own language first, the other below; each followed by the zone's message if any."""
    own = language if language in ("en", "fr") else "en"
    first = with_zone_message(getattr(alert, f"sms_{own}"), zone, own)
    second = with_zone_message(getattr(alert, f"sms_{other_language(own)}"), zone, other_language(own))
    return f"{first}\n\n{second}"
