"""What an alert's SMS will cost before it is sent: encoding, segments, total for the send.

Each traveller receives one SMS holding their own language first and the other below
(`alert_messages.sms_body`), so one UCS-2 character in the French text makes the English
travellers' message UCS-2 too, and the bill is per segment. The coordinator sees, per
language, how many people will get an SMS, its encoding and segments, the total segments
of the send, and the GSM-7-safe French variant with what it would save.
"""
from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import func, select

from emergency.core.database import db_session
from emergency.core.models import Incident
from notify.models import SmsOptOut
from notify.segments import gsm_safe, sms_info
from registry.models import Traveller

LANGUAGES = ("en", "fr")
_CHUNK = 900  # stays under SQLite's bound-parameter limit


def received_body(language: str, sms_en: str, sms_fr: str) -> str:
    """The SMS a traveller of `language` receives (the same function the fan-out uses)."""
    from emergency.services.alert_messages import sms_body

    return sms_body(SimpleNamespace(sms_en=sms_en, sms_fr=sms_fr), language)


def sms_recipients_by_language(incident: Incident) -> dict[str, int]:
    """How many affected travellers would get an SMS now, per language (opted-out numbers excluded)."""
    from emergency.services.incidents import affected_for

    ids = sorted({a.traveller_id for a in affected_for(incident)})
    counts = {lang: 0 for lang in LANGUAGES}
    session = db_session()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        rows = session.execute(
            select(Traveller.language, func.count())
            .outerjoin(SmsOptOut, SmsOptOut.phone == Traveller.phone)
            .where(Traveller.id.in_(chunk), Traveller.phone.is_not(None), Traveller.phone != "",
                   SmsOptOut.opted_out.is_not(True))
            .group_by(Traveller.language)
        )
        for lang, count in rows:
            counts[lang if lang in counts else "en"] += count
    return counts


def _info(text: str) -> dict:
    info = sms_info(text)
    return {"encoding": info.encoding, "segments": info.segments, "length": info.chars}


def estimate(sms_en: str, sms_fr: str, recipients: dict[str, int]) -> dict:
    """Per-language figures and the send's total segments for these texts and recipient counts.

    `gsm_safe` is the French SMS folded to GSM-7 (None when it already is) with the total
    the send would have with it, so the composer can offer it with before/after counts.
    """
    sms_en, sms_fr = sms_en or "", sms_fr or ""
    languages = {}
    total = 0
    for lang in LANGUAGES:
        body = _info(received_body(lang, sms_en, sms_fr))
        people = int(recipients.get(lang, 0))
        languages[lang] = {"recipients": people, "text": _info(sms_fr if lang == "fr" else sms_en),
                           "message": body, "segments_total": people * body["segments"]}
        total += people * body["segments"]
    safe_fr = gsm_safe(sms_fr)
    variant = None
    if safe_fr != sms_fr:
        variant_total = sum(int(recipients.get(lang, 0)) * sms_info(received_body(lang, sms_en, safe_fr)).segments
                            for lang in LANGUAGES)
        variant = {"text": safe_fr, "before": _info(sms_fr), "after": _info(safe_fr),
                   "total_segments": variant_total}
    return {
        "languages": languages,
        "recipients": sum(int(recipients.get(lang, 0)) for lang in LANGUAGES),
        "total_segments": total,
        "gsm_safe_fr": variant,
    }


def incident_estimate(incident: Incident, sms_en: str, sms_fr: str) -> dict:
    return estimate(sms_en, sms_fr, sms_recipients_by_language(incident))
