"""Helpers of the follow-up tests: travellers in Lisbon with an emergency contact, a safety
check sent through the API, and time passing for what was sent."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select, update

from common.clock import utcnow
from emergency.core.models import Alert, FollowupPlan
from tests.conftest import api_headers, insert_traveller


def lisbon_stop() -> dict:
    today = date.today()
    return {"country": "PT", "place": "Lisbon", "lat": 38.72, "lon": -9.14,
            "arrival": today - timedelta(days=1), "departure": today + timedelta(days=3)}


def person(db, given: str, *, language="en", email=None, phone=None, consent=True, contact=None):
    """A traveller in Lisbon; `contact` is (name, language, email, phone) of an emergency contact."""
    from registry.models import EmergencyContact

    traveller = insert_traveller(db, lisbon_stop(), given_name=given, family_name="Roy", language=language,
                                 email=email, phone=phone, consent_at=utcnow() if consent else None,
                                 commit=False)
    if contact is not None:
        name, lang, contact_email, contact_phone = contact
        db.add(EmergencyContact(traveller_id=traveller.id, name=name, language=lang, email=contact_email,
                                phone=contact_phone))
    db.commit()
    return traveller.id


def safety_check(client, app, incident_id, channels=("email", "sms")) -> int:
    headers = api_headers(app)
    alert = client.post(f"/api/v1/incidents/{incident_id}/alerts", headers=headers,
                        json={"channels": list(channels)}).get_json()
    assert client.post(f"/api/v1/alerts/{alert['id']}/send", headers=headers).status_code == 202
    return alert["id"]


def age(db, minutes: int) -> None:
    """Everything sent so far was sent `minutes` earlier than it was: the plan's wait passes."""
    for alert in db.scalars(select(Alert).where(Alert.sent_at.is_not(None))):
        alert.sent_at = alert.sent_at - timedelta(minutes=minutes)
    db.commit()


def set_plan(db, incident_id, **values) -> None:
    """The incident's plan (made by its safety check) with these values."""
    db.execute(update(FollowupPlan).where(FollowupPlan.incident_id == incident_id).values(**values))
    db.commit()
