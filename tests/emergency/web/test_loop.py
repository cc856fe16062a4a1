"""The whole crisis loop through HTTP: register, zone, alert, deliver, answer, dashboard."""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from emergency.core.models import SafetyResponse
from notify.models import OutboxMessage
from tests.conftest import api_headers, stop

TODAY = date.today()


@pytest.fixture
def app(backend_app):
    """The loop runs on SQLite and on PostgreSQL+PostGIS with the same assertions."""
    return backend_app


@pytest.fixture
def lisbon_people(make_traveller):
    """Three travellers in Lisbon (EN point, FR city, country-only) and one in Toronto."""
    ids = {
        "ann": make_traveller("Ann", family_name="Tremblay", email="ann@example.org", phone="+351 912 345 678",
                              stops=[stop("PT", lat=38.72, lon=-9.14)]),
        "zoe": make_traveller("Zoé", family_name="Tremblay", email="zoe@example.org", phone="+33 6 12 34 56 78",
                              language="fr", stops=[stop("PT", place="Lisbon")]),
        "max": make_traveller("Max", family_name="Tremblay", email="max@example.org", phone="+1 613 555 0142",
                              stops=[stop("PT")]),
        "tom": make_traveller("Tom", family_name="Tremblay", email="tom@example.org", phone="+1 416 555 0199",
                              stops=[stop("CA", place="Toronto")]),
    }
    return ids


def test_alert_reaches_everyone_in_the_circle_and_their_answers_show_on_the_dashboard(client, app, lisbon_people):
    headers = api_headers(app)
    created = client.post("/api/v1/incidents", headers=headers, json={
        "title": "Lisbon earthquake", "zone": {"circle": {"lat": 38.72, "lon": -9.14, "radius_km": 100}},
        "starts_at": f"{TODAY.isoformat()}T00:00:00Z",
    })
    assert created.status_code == 201, created.get_json()
    incident = created.get_json()
    assert incident["affected_count"] == 3

    affected = client.get(f"/api/v1/incidents/{incident['id']}/affected", headers=headers).get_json()
    by_id = {row["traveller_id"]: row for row in affected["travellers"]}
    assert set(by_id) == {lisbon_people["ann"], lisbon_people["zoe"], lisbon_people["max"]}
    assert by_id[lisbon_people["max"]]["precision"] == "country"
    assert by_id[lisbon_people["ann"]]["precision"] == "point"

    alert = client.post(f"/api/v1/incidents/{incident['id']}/alerts", headers=headers, json={}).get_json()
    sent = client.post(f"/api/v1/alerts/{alert['id']}/send", headers=headers)
    assert sent.status_code == 202, sent.get_json()
    status = client.get(f"/api/v1/alerts/{alert['id']}", headers=headers).get_json()
    assert status["status"] == "sent"
    assert status["recipient_count"] == 3

    with app.app_context():
        from emergency.core.database import db_session

        outbox = db_session().scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    emails = {m.to: m for m in outbox if m.channel == "email"}
    sms = {m.to: m for m in outbox if m.channel == "sms"}
    assert set(emails) == {"ann@example.org", "zoe@example.org", "max@example.org"}
    assert set(sms) == {"+351912345678", "+33612345678", "+16135550142"}
    # Own language first, the other below.
    assert emails["zoe@example.org"].subject.startswith("Vérification")
    assert emails["ann@example.org"].subject.startswith("Safety check")
    assert emails["zoe@example.org"].body.index("Êtes-vous") < emails["zoe@example.org"].body.index("Are you safe")
    assert sms["+16135550142"].body.index("Reply 1") < sms["+16135550142"].body.index("Répondez 1")

    # Ann opens the one-click link and taps its button, twice (idempotent).
    ann_page = re.search(r"https://consular\.test(/r/[^/\s]+)/safe", emails["ann@example.org"].body).group(1)
    assert client.get(f"{ann_page}/safe").status_code == 200
    first = client.post(ann_page, data={"answer": "safe", "via": "link"})
    assert first.status_code == 200 and "recorded that you are safe" in first.get_data(as_text=True)
    client.post(ann_page, data={"answer": "safe", "via": "link"})
    # Zoé needs help, by the link in her email (page in French).
    zoe_page = re.search(r"https://consular\.test(/r/[^/\s]+)/help", emails["zoe@example.org"].body).group(1)
    assert client.get(f"{zoe_page}/help").status_code == 200
    page = client.post(zoe_page, data={"answer": "help", "via": "link"}).get_data(as_text=True)
    assert "besoin d" in page

    stats = client.get(f"/api/v1/incidents/{incident['id']}", headers=headers).get_json()["stats"]
    assert stats == {**stats, "affected": 3, "delivered": 3, "safe": 1, "need_help": 1, "no_answer": 1}
    with app.app_context():
        from emergency.core.database import db_session

        assert db_session().scalar(select(func.count()).select_from(SafetyResponse)) == 2


def test_tampered_or_expired_links_record_nothing(client, app, lisbon_people):
    headers = api_headers(app)
    incident = client.post("/api/v1/incidents", headers=headers, json={
        "title": "Storm", "zone": {"circle": {"lat": 38.72, "lon": -9.14, "radius_km": 50}},
    }).get_json()
    with app.app_context():
        from emergency.services.safety_links import make_token

        token = make_token(incident["id"], lisbon_people["ann"])
    payload, stamp, signature = token.split(".")
    flipped = ("A" if signature[5] != "A" else "B")  # a middle character: every bit of it counts
    tampered = client.get(f"/r/{payload}.{stamp}.{signature[:5]}{flipped}{signature[6:]}/safe")
    assert tampered.status_code == 400
    assert "not valid" in tampered.get_data(as_text=True)
    app.config["SAFETY_LINK_MAX_AGE"] = -1
    expired = client.get(f"/r/{token}/safe")
    assert expired.status_code == 410
    assert "expired" in expired.get_data(as_text=True)
    with app.app_context():
        from emergency.core.database import db_session

        assert db_session().scalar(select(func.count()).select_from(SafetyResponse)) == 0
