"""Severity rings: each traveller belongs to the most severe zone they are in, and hears
that zone's message; the assignment is frozen with the recipient list at send time.

Runs on SQLite and on PostgreSQL+PostGIS with the same assertions."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from emergency.core.models import AlertRecipient, Incident, IncidentZone
from notify.models import OutboxMessage
from registry.models import Stop
from registry.service import StopInput, TravellerInput, register_traveller
from tests.conftest import api_headers

TODAY = date.today()
LISBON = (38.72, -9.14)


@pytest.fixture
def app(backend_app):
    return backend_app


def _stop(country, lat=None, lon=None, place=None):
    return StopInput(country=country, lat=lat, lon=lon, place=place,
                     arrival=(TODAY - timedelta(days=1)).isoformat(),
                     departure=(TODAY + timedelta(days=5)).isoformat())


@pytest.fixture
def people(app):
    """Inner (10 km), outer (~100 km), outside (~300 km) and country-only travellers around Lisbon,
    plus one pinned in the outer ring whose later stop names only Portugal."""
    spec = {
        "inner": ("Ines", "en", [_stop("PT", 38.75, -9.20)]),
        "outer": ("Otto", "fr", [_stop("PT", 39.60, -8.80)]),          # ~100 km north
        "outside": ("Oscar", "en", [_stop("ES", 40.42, -3.70)]),        # Madrid, ~500 km
        "country": ("Carla", "en", [_stop("PT")]),
        "mixed": ("Mia", "en", [_stop("PT", 39.60, -8.75), _stop("PT")]),
    }
    ids = {}
    with app.app_context():
        from emergency.core.database import db_session

        session = db_session()
        for i, (key, (given, lang, stops)) in enumerate(spec.items()):
            ids[key] = register_traveller(session, TravellerInput(
                given_name=given, family_name="Silva", email=f"{key}@example.org",
                phone=f"+3519123456{i:02d}", language=lang, stops=stops)).id
        session.commit()
    return ids


RINGS = [
    {"zone": {"circle": {"lat": LISBON[0], "lon": LISBON[1], "radius_km": 50}}, "severity": 1,
     "label_en": "Shelter in place", "label_fr": "Restez à l'abri",
     "message_en": "Stay indoors.", "message_fr": "Restez à l'intérieur."},
    {"zone": {"circle": {"lat": LISBON[0], "lon": LISBON[1], "radius_km": 200}}, "severity": 2,
     "label_en": "Be ready", "label_fr": "Soyez prêts",
     "message_en": "Be ready to leave.", "message_fr": "Soyez prêts à partir."},
]


def _create(client, app, zones=RINGS, **extra):
    return client.post("/api/v1/incidents", headers=api_headers(app), json={
        "title": "Lisbon earthquake", "zones": zones, "starts_at": f"{TODAY.isoformat()}T00:00:00Z", **extra})


def test_each_traveller_belongs_to_the_most_severe_zone_they_are_in(client, app, people):
    created = _create(client, app)
    assert created.status_code == 201, created.get_json()
    incident = created.get_json()
    assert [z["severity"] for z in incident["zones"]] == [1, 2]
    assert incident["affected_count"] == 4
    rows = client.get(f"/api/v1/incidents/{incident['id']}/affected", headers=api_headers(app)).get_json()
    severity = {r["traveller_id"]: r["severity"] for r in rows["travellers"]}
    assert severity == {people["inner"]: 1, people["outer"]: 2, people["country"]: 1, people["mixed"]: 2}


def test_a_pinned_stop_decides_before_a_country_only_stop(client, app, people):
    incident = _create(client, app).get_json()
    rows = client.get(f"/api/v1/incidents/{incident['id']}/affected", headers=api_headers(app)).get_json()
    mia = next(r for r in rows["travellers"] if r["traveller_id"] == people["mixed"])
    carla = next(r for r in rows["travellers"] if r["traveller_id"] == people["country"])
    assert (mia["severity"], mia["precision"]) == (2, "point")  # not "shelter in place" by her PT-only stop
    assert (carla["severity"], carla["possibly"]) == (1, True)


def test_severity_order_not_list_order_decides(client, app, people):
    reversed_rings = [RINGS[1], RINGS[0]]
    incident = _create(client, app, zones=reversed_rings).get_json()
    assert [z["severity"] for z in incident["zones"]] == [1, 2]
    rows = client.get(f"/api/v1/incidents/{incident['id']}/affected", headers=api_headers(app)).get_json()
    assert {r["traveller_id"]: r["severity"] for r in rows["travellers"]}[people["inner"]] == 1


def _send(client, app, incident_id):
    alert = client.post(f"/api/v1/incidents/{incident_id}/alerts", headers=api_headers(app), json={}).get_json()
    sent = client.post(f"/api/v1/alerts/{alert['id']}/send", headers=api_headers(app))
    assert sent.status_code == 202, sent.get_json()
    return alert["id"]


def _outbox(app):
    with app.app_context():
        from emergency.core.database import db_session

        messages = db_session().scalars(select(OutboxMessage)).all()
    return ({m.to: m.body for m in messages if m.channel == "email"},
            {m.to: m.body for m in messages if m.channel == "sms"})


def test_each_traveller_receives_their_own_zones_message_in_their_language_first(client, app, people):
    incident = _create(client, app).get_json()
    _send(client, app, incident["id"])
    emails, sms = _outbox(app)
    assert "Shelter in place: Stay indoors." in emails["inner@example.org"]
    assert "Be ready" not in emails["inner@example.org"]
    outer = emails["outer@example.org"]  # French speaker: French first, both messages present
    assert "Soyez prêts: Soyez prêts à partir." in outer and "Be ready: Be ready to leave." in outer
    assert outer.index("Soyez prêts à partir.") < outer.index("Be ready to leave.")
    assert "Stay indoors" not in outer
    assert "oscar@example.org" not in emails
    inner_sms = next(body for number, body in sms.items() if number.endswith("00"))
    assert "Stay indoors." in inner_sms and "Restez à l'intérieur." in inner_sms
    assert "Be ready" not in inner_sms


def test_in_batches_of_one_recipient_each_traveller_still_gets_their_own_zones_message(client, app, people):
    app.config.update(SMS_BATCH_SIZE=1, EMAIL_BATCH_SIZE=1)  # every job reads the zones of its own batch
    incident = _create(client, app).get_json()
    _send(client, app, incident["id"])
    emails, sms = _outbox(app)
    expected = {"inner": "Stay indoors.", "outer": "Soyez prêts à partir.", "country": "Stay indoors.",
                "mixed": "Be ready to leave."}
    other = {"Stay indoors.": "Be ready to leave.", "Soyez prêts à partir.": "Restez à l'intérieur.",
             "Be ready to leave.": "Stay indoors."}
    for key, message in expected.items():
        assert message in emails[f"{key}@example.org"] and other[message] not in emails[f"{key}@example.org"]
    numbers = {"inner": "00", "outer": "01", "country": "03", "mixed": "04"}
    for key, ending in numbers.items():
        body = next(body for number, body in sms.items() if number.endswith(ending))
        assert expected[key] in body and other[expected[key]] not in body
    assert len(emails) == len(sms) == 4


def test_a_zone_without_a_message_sends_the_alert_unchanged(client, app, people):
    plain = [{**RINGS[0], "message_en": None, "message_fr": None}, RINGS[1]]
    incident = _create(client, app, zones=plain).get_json()
    _send(client, app, incident["id"])
    emails, _sms = _outbox(app)
    assert "Shelter in place" not in emails["inner@example.org"]
    assert "Be ready to leave." in emails["outer@example.org"]


def test_zone_assignment_is_frozen_at_send_time(client, app, people):
    incident = _create(client, app).get_json()
    alert_id = _send(client, app, incident["id"])
    with app.app_context():
        from emergency.core.database import db_session

        session = db_session()
        before = dict(session.execute(select(AlertRecipient.traveller_id, AlertRecipient.zone_id)
                                      .where(AlertRecipient.alert_id == alert_id)).all())
        # Ines moves out of both zones, Otto moves into the inner ring
        for stop in session.scalars(select(Stop).where(Stop.traveller_id == people["inner"])):
            stop.lat, stop.lon, stop.country = 48.85, 2.35, "FR"
        for stop in session.scalars(select(Stop).where(Stop.traveller_id == people["outer"])):
            stop.lat, stop.lon = 38.73, -9.15
        session.commit()
    second = _send(client, app, incident["id"])
    with app.app_context():
        from emergency.core.database import db_session

        session = db_session()
        after = dict(session.execute(select(AlertRecipient.traveller_id, AlertRecipient.zone_id)
                                     .where(AlertRecipient.alert_id == alert_id)).all())
        again = dict(session.execute(select(AlertRecipient.traveller_id, AlertRecipient.zone_id)
                                     .where(AlertRecipient.alert_id == second)).all())
        zones = {z.severity: z.id for z in session.scalars(select(IncidentZone))}
    assert after == before
    assert before[people["inner"]] == zones[1] and before[people["outer"]] == zones[2]
    assert people["inner"] not in again and again[people["outer"]] == zones[1]


def test_one_zone_keeps_the_incident_zone_field_and_is_severity_one(client, app, people):
    created = client.post("/api/v1/incidents", headers=api_headers(app), json={
        "title": "Storm", "zone": {"circle": {"lat": LISBON[0], "lon": LISBON[1], "radius_km": 50}}})
    body = created.get_json()
    assert created.status_code == 201
    assert body["zone"]["type"] == "MultiPolygon" and body["zone_source"]["kind"] == "circle"
    assert [(z["severity"], z["zone_source"]["kind"]) for z in body["zones"]] == [(1, "circle")]


def test_several_zones_keep_their_union_as_the_incident_zone(client, app, people):
    body = _create(client, app).get_json()
    assert body["zone"]["type"] == "MultiPolygon"
    assert body["zone_source"] == {"kind": "zones", "count": 2}


@pytest.mark.parametrize("payload, field", [
    ({"zone": {"circle": {"lat": 1, "lon": 1, "radius_km": 5}}, "zones": RINGS}, "zones"),
    ({"zones": "everywhere"}, "zones"),
    ({"zones": [RINGS[0], "x"]}, "zones"),
    ({"zones": [{**RINGS[0], "severity": 0}]}, "zones[0].severity"),
    ({"zones": [{**RINGS[0], "severity": "high"}]}, "zones[0].severity"),
    ({"zones": [RINGS[0], {**RINGS[1], "message_en": "x" * 501}]}, "zones[1].message_en"),
    ({"zones": [RINGS[0], {**RINGS[1], "zone": {"type": "Point", "coordinates": [0, 0]}}]}, "zones[1].zone"),
    ({"zones": [RINGS[0]] * 11}, "zones"),
])
def test_bad_zone_lists_are_refused_and_create_nothing(client, app, payload, field):
    response = client.post("/api/v1/incidents", headers=api_headers(app), json={"title": "Bad", **payload})
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["fields"]
    with app.app_context():
        from emergency.core.database import db_session

        assert db_session().scalars(select(Incident)).all() == []
