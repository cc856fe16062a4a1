"""An SMS reply from a traveller, or from a companion on their registration: stored, applied
to the latest safety check, answered.

A number is matched to the traveller it was alerted at first; only a number no recipient list
holds is looked up among companions whose traveller was alerted, so a traveller's own number
wins when a companion registered the same one. A companion's "1" or "2" is their own answer
(`reported_by` "companion"), which no later answer from someone else overrides. A number we
last wrote to as a traveller's emergency contact (the follow-up that asks about them) answers
about that traveller, recorded as given by the contact.

The Twilio webhook and the console's outbox ("answer as the traveller") both come here, so a
simulated reply takes exactly the path of a real one.
"""
from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from common.i18n import N_
from emergency.core.database import db_session
from emergency.core.i18n import other_language
from emergency.core.models import AlertRecipient
from emergency.services.responses import record_response
from notify.models import InboundMessage
from notify.optout import record_keyword
from notify.replies import normalize, parse_reply
from registry.models import Companion, EmergencyContact, Traveller


def _latest_recipient(phone: str) -> AlertRecipient | None:
    return db_session().scalar(
        select(AlertRecipient).where(AlertRecipient.phone == phone).order_by(AlertRecipient.id.desc()).limit(1)
    )


def _companion_recipient(phone: str) -> tuple[AlertRecipient | None, list[int]]:
    """The latest recipient row of a traveller with a companion registered at `phone`, and
    those companions' ids (several when a registration gives one phone to two people: the
    holder of the phone answers for them all, as the registration said it reaches them)."""
    session = db_session()
    recipient = session.scalar(
        select(AlertRecipient)
        .join(Companion, Companion.traveller_id == AlertRecipient.traveller_id)
        .where(Companion.phone == phone, AlertRecipient.emergency_contact_id.is_(None))  # the traveller's own rows
        .order_by(AlertRecipient.id.desc()).limit(1)
    )
    if recipient is None:
        return None, []
    ids = list(session.scalars(select(Companion.id).where(Companion.traveller_id == recipient.traveller_id,
                                                          Companion.phone == phone).order_by(Companion.id)))
    return recipient, ids


def _companion_name(companion_id: int) -> str:
    companion = db_session().get(Companion, companion_id)
    return f"{companion.given_name} {companion.family_name}"


def _bilingual(lang: str, message_id: str, **params) -> str:
    """The same sentence in the traveller's language, then the other one."""
    parts = []
    for part in (lang, other_language(lang)):
        with force_locale(part):
            parts.append(_(message_id, **params))
    return "\n".join(parts)


# Reply words only French speakers use: an unknown number answering with them is answered
# in French first.
_FRENCH_WORDS = frozenset({"oui", "sauf", "aide", "arret"})


def _reply_language(traveller: Traveller | None, body: str) -> str:
    if traveller is not None:
        return traveller.language
    words = normalize(body or "").split()
    return "fr" if words and words[0] in _FRENCH_WORDS else "en"


def process_inbound_sms(from_number: str, to_number: str | None, body: str, provider_id: str) -> str:
    """Store an SMS reply, apply it to the sender's latest safety check, return our answer.

    STOP / ARRET / ARRÊT / UNSUBSCRIBE and START are recorded against the number (Twilio
    knows only the English words), whether or not the number matches a safety check.
    A repeated provider id (Twilio retrying) changes nothing and gets the same answer.
    """
    session = db_session()
    intent = parse_reply(body or "")
    inbound = InboundMessage(provider_id=provider_id, from_number=from_number, to_number=to_number,
                             body=body or "", intent=intent)
    session.add(inbound)
    try:
        session.flush()
        fresh = True
    except IntegrityError:
        session.rollback()
        fresh = False
    recipient = _latest_recipient(from_number)
    companion_ids: list[int] = []
    if recipient is None:
        recipient, companion_ids = _companion_recipient(from_number)
    traveller = session.get(Traveller, recipient.traveller_id) if recipient else None
    # the number we last wrote to may be a traveller's emergency contact, asked about them
    contact = (session.get(EmergencyContact, recipient.emergency_contact_id)
               if recipient is not None and recipient.emergency_contact_id else None)
    lang = contact.language if contact is not None else _reply_language(traveller, body)
    if intent in ("opt_out", "opt_in"):
        if fresh:
            record_keyword(session, from_number, intent, body)
        session.commit()
        if intent == "opt_out":
            return _bilingual(lang, N_("You will no longer receive text messages from us. We will use email instead."))
        return _bilingual(lang, N_("Text messages from us are on again."))
    if recipient is None:
        session.commit()
        return _bilingual(lang, N_("We could not match your number to a safety check. If you need help, call the "
                                "emergency line of your embassy or consulate."))
    if intent in ("safe", "need_help") and contact is not None:
        if fresh:
            record_response(recipient.incident_id, recipient.traveller_id, intent, "sms", commit=False,
                            reported_by="contact", reporter_name=contact.name,
                            source_message=f"inbound:{inbound.id}")
        session.commit()
        name = traveller.full_name if traveller is not None else ""
        if intent == "safe":
            return _bilingual(lang, N_("Thank you. We have recorded that %(name)s is safe."), name=name)
        return _bilingual(lang, N_("Thank you. We have recorded that %(name)s needs help. A consular officer "
                                   "will follow up."), name=name)
    if intent in ("safe", "need_help"):
        if fresh and companion_ids:
            # a companion's number: their own answer, about them only
            for companion_id in companion_ids:
                record_response(recipient.incident_id, recipient.traveller_id, intent, "sms", commit=False,
                                reported_by="companion", reporter_name=_companion_name(companion_id),
                                source_message=f"inbound:{inbound.id}", companion_id=companion_id)
        elif fresh:
            # the number is the one we alerted: the traveller's own answer, from this reply
            record_response(recipient.incident_id, recipient.traveller_id, intent, "sms", commit=False,
                            reported_by="traveller", source_message=f"inbound:{inbound.id}")
        session.commit()
        if intent == "safe":
            return _bilingual(lang, N_("Thank you. We have recorded that you are safe."))
        return _bilingual(lang, N_("We have recorded that you need help. A consular officer will contact you as "
                                "soon as possible."))
    session.commit()
    return _bilingual(lang, N_("Thank you, a consular officer will read your message. Reply 1 if you are safe, "
                               "2 if you need help."))
