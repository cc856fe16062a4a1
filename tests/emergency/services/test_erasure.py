"""Personal data goes when the person goes: a traveller who registered with a companion and an
emergency contact, was sent alerts (by email and SMS, and a follow-up to their contact),
answered by SMS, texted STOP, bounced, checked in and asked for a sign-in link, then deleted
their record (or was purged, or deleted by their partner), leaves their email and phones, and
their companion's and contact's, in no column of any table. Another traveller's stay.

Also: a stop without a departure date keeps its traveller PURGE_OPEN_STOP_AFTER_DAYS after it
began, and an address another registration still holds keeps its opt-out."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from tests.conftest import api_headers, insert_traveller, stop

TOKEN = "twilio-test-auth-token"
BASE = "https://consular.test"
ZOE = {"email": "Zoe.Martin@example.org", "phone": "+33612345678", "phone2": "+33698765432"}
LEA = {"email": "lea@example.org", "phone": "+33611112222"}  # her companion
MARC = {"email": "marc@example.org", "phone": "+33633334444"}  # her emergency contact
ANN = {"email": "ann@example.org", "phone": "+351912345678"}  # someone else, who stays
GONE = [ZOE["email"].lower(), *ZOE.values(), *LEA.values(), *MARC.values()]


@pytest.fixture
def app(make_app, database_url):
    """Every test here on SQLite and on PostgreSQL+PostGIS."""
    return make_app(database_url, TWILIO_AUTH_TOKEN=TOKEN, APPROVAL_THRESHOLD=100)


def needles(values) -> set[str]:
    """Each address as stored and as it may be quoted: lower case, and phones without the +."""
    found = set()
    for value in values:
        found.add(value.lower())
        if value.startswith("+"):
            found.add(value[1:])
    return found


def tables_holding(app, values) -> dict[str, list]:
    """{table: [values found]} over every table of every package's metadata."""
    from emergency.core.database import db_session
    from emergency.core.models import AppBase
    from notify.models import NotifyBase
    from registry.models import RegistryBase

    wanted = needles(values)
    found: dict[str, list] = {}
    with app.app_context():
        session = db_session()
        for metadata in (AppBase.metadata, RegistryBase.metadata, NotifyBase.metadata):
            for table in metadata.sorted_tables:
                for row in session.execute(select(table)):
                    for value in row:
                        text = str(value).lower()
                        hits = [w for w in wanted if w in text]
                        if hits:
                            found.setdefault(table.name, []).extend(hits)
    return found


def sms(client, body: str, sender: str, sid: str):
    params = {"MessageSid": sid, "From": sender, "To": "+15005550006", "Body": body}
    signature = RequestValidator(TOKEN).compute_signature(BASE + "/webhooks/twilio/sms", params)
    assert client.post("/webhooks/twilio/sms", data=params, headers={"X-Twilio-Signature": signature}).status_code == 200


def register(client, app, name: str, person: dict, companion: dict | None = None, contact: dict | None = None) -> int:
    body = {"given_name": name, "family_name": "Martin", "language": "fr", "stops": [stop("PT", place="Lisbon")],
            "email": person["email"], "phone": person["phone"], "phone2": person.get("phone2")}
    if companion:
        body["companions"] = [{"given_name": "Léa", "family_name": "Martin", "age_band": "18-64", **companion}]
    if contact:
        body["emergency_contacts"] = [{"name": "Marc Martin", **contact}]
    response = client.post("/api/v1/travellers", headers=api_headers(app), json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


@pytest.fixture
def zoe_everywhere(client, app, make_incident):
    """Zoé's addresses copied into every table that copies addresses; Ann's too."""
    from emergency.core.database import db_session
    from notify import contact_health

    headers = api_headers(app)
    zoe = register(client, app, "Zoé", ZOE, companion=LEA, contact=MARC)
    register(client, app, "Ann", ANN)
    incident = make_incident("Floods")
    alert = client.post(f"/api/v1/incidents/{incident}/alerts", headers=headers,
                        json={"channels": ["email", "sms"]}).get_json()
    assert client.post(f"/api/v1/alerts/{alert['id']}/send", headers=headers).status_code == 202
    # Nobody answered: the follow-up goes to the emergency contacts at once.
    assert client.patch(f"/api/v1/incidents/{incident}/followup", headers=headers,
                        json={"max_rounds": 0, "tell_contacts": True}).status_code == 200
    assert client.post(f"/api/v1/incidents/{incident}/followup/rounds", headers=headers).status_code == 202
    sms(client, "oui", ZOE["phone"], "SM1")
    sms(client, "STOP", ZOE["phone2"], "SM2")
    sms(client, "ok", MARC["phone"], "SM3")
    sms(client, "oui", ANN["phone"], "SM4")
    checkin = client.post(f"/incidents/{incident}/checkin", data={
        "given_name": "Zoé", "family_name": "Martin", "email": ZOE["email"], "language": "fr",
        "answer": "help", "message": "À l'hôtel", "consent": "1"})
    assert checkin.status_code in (200, 302, 303), checkin.get_data(as_text=True)[-3000:]
    assert client.post("/my", data={"email": ZOE["email"]}).status_code in (200, 302, 303)
    with app.app_context():
        for channel, address in (("email", ZOE["email"]), ("sms", LEA["phone"]), ("email", ANN["email"])):
            contact_health.mark(db_session(), channel, address, reason=f"550 {address} unknown")
        db_session().commit()
    found = tables_holding(app, GONE)
    for table in ("travellers", "companions", "emergency_contacts", "deliveries", "outbox_messages",
                  "inbound_messages", "sms_optouts", "contact_health", "alert_recipients", "checkin_reports"):
        assert table in found, f"the test put none of Zoé's addresses in {table}"
    return zoe


def test_a_traveller_who_deletes_their_record_leaves_no_address_in_any_table(client, app, zoe_everywhere):
    from emergency.core.database import db_session
    from emergency.services import signin

    with app.app_context():
        link = signin.issue_token(zoe_everywhere)
        db_session().commit()
    assert client.post(f"/my/signin/{link}").status_code == 302
    assert client.post("/my/delete", data={"confirm": "yes"}).status_code == 200
    assert tables_holding(app, GONE) == {}
    assert {"travellers", "deliveries", "inbound_messages", "contact_health"} <= tables_holding(app, ANN.values()).keys()


def test_a_purged_traveller_leaves_no_address_in_any_table(client, app, zoe_everywhere):
    from emergency.core.database import db_session
    from emergency.services import privacy

    with app.app_context():
        assert client.post("/api/v1/incidents/1/close", headers=api_headers(app)).status_code == 200
        db_session().commit()
        report = privacy.purge_old_records(today=date.today() + timedelta(days=3000))
    assert report.travellers == 2
    assert tables_holding(app, GONE) == {}
    assert tables_holding(app, ANN.values()) == {}  # Ann's trip ended long ago too


def test_a_traveller_deleted_by_their_partner_leaves_no_address_in_any_table(client, app):
    from emergency.core.auth import create_user, issue_api_token
    from emergency.core.database import db_session
    from registry.partners import create_partner

    with app.app_context():
        partner = create_partner(db_session(), "Acme Tours")
        user = create_user("api@acme.example", "Acme API", "partner")
        user.partner_id = partner.id
        headers = {"Authorization": f"Bearer {issue_api_token(user)}"}
        db_session().commit()
    today = date.today()
    csv = ("external_id,given_name,family_name,email,phone,language,country,place,lat,lon,arrival,departure\n"
           f"E1,Zoé,Martin,{ZOE['email']},{ZOE['phone']},fr,PT,Lisbon,,,{today},{today + timedelta(days=5)}\n")
    response = client.post("/api/v1/partners/me/travellers/import", data=csv.encode(),
                           headers={**headers, "Content-Type": "text/csv"})
    assert response.status_code == 200, response.get_json()
    sms(client, "STOP", ZOE["phone"], "SM9")
    assert tables_holding(app, [ZOE["email"], ZOE["phone"]]).keys() >= {"travellers", "sms_optouts", "inbound_messages"}
    assert client.delete("/api/v1/partners/me/travellers/E1", headers=headers).status_code == 204
    assert tables_holding(app, [ZOE["email"], ZOE["phone"]]) == {}


def test_an_opt_out_another_registration_still_holds_is_kept(app, db):
    from emergency.services import privacy
    from notify.models import SmsOptOut
    from registry.models import Traveller

    gone = insert_traveller(db, given_name="Zoé", family_name="Martin", email="zoe@example.org", phone="+33612345678")
    insert_traveller(db, given_name="Paul", family_name="Martin", email="paul@example.org", phone="+33612345678")
    db.add(SmsOptOut(phone="+33612345678", opted_out=True, keyword="STOP"))
    db.commit()
    assert privacy.erase_travellers(db, [gone.id]) == 1
    db.commit()
    assert db.scalar(select(SmsOptOut.phone)) == "+33612345678"
    assert db.scalars(select(Traveller.given_name)).all() == ["Paul"]


@pytest.mark.parametrize("began_days_ago, kept", [(729, True), (730, True), (731, False)])
def test_a_stop_without_a_departure_keeps_its_traveller_a_set_time_after_it_began(app, db, began_days_ago, kept):
    from emergency.services import privacy
    from registry.models import Traveller

    today = date(2027, 6, 15)
    insert_traveller(db, {"country": "FR", "precision": "country", "arrival": today - timedelta(days=began_days_ago),
                          "departure": None}, given_name="Open", family_name="Ended", email="open@example.org")
    privacy.purge_old_records(today=today)
    db.expire_all()
    assert (db.scalar(select(Traveller.given_name)) == "Open") is kept


def test_the_time_an_open_stop_keeps_its_traveller_is_a_setting(make_app, database_url):
    from emergency.core.database import db_session
    from emergency.services import privacy
    from registry.models import Traveller

    app = make_app(database_url, PURGE_OPEN_STOP_AFTER_DAYS=30)
    today = date(2027, 6, 15)
    with app.app_context():
        db = db_session()
        insert_traveller(db, {"country": "FR", "precision": "country", "arrival": today - timedelta(days=31),
                              "departure": None}, given_name="Open", family_name="Ended", email="open@example.org")
        privacy.purge_old_records(today=today)
        assert db.scalar(select(Traveller.id)) is None
