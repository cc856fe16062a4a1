"""The composer: message kinds in both languages, and what the SMS of a send will really cost
(encoding, segments per language, total segments, the GSM-7-safe French variant)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from emergency.core.models import Alert
from emergency.services.composer import estimate, received_body
from notify.segments import is_gsm7, sms_info
from tests.conftest import api_headers


@pytest.fixture
def incident_id(make_traveller, make_incident):
    """Three English and two French travellers with phones in Lisbon, and one French without a phone."""
    for i in range(3):
        make_traveller(f"En{i}", phone=f"+35191234560{i}", language="en")
    for i in range(2):
        make_traveller(f"Fr{i}", phone=f"+3361234567{i}", language="fr")
    make_traveller("NoPhone", language="fr", email="np@example.org")
    return make_incident("Floods")


# --- kinds --------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["safety_check", "information", "all_clear"])
def test_every_kind_has_its_own_wording_in_english_and_french(app, client, incident_id, kind):
    from emergency.core.models import Incident
    from emergency.services import alerts

    with app.test_request_context():
        from emergency.core.database import db_session

        texts = alerts.default_texts(db_session().get(Incident, incident_id), kind)
    assert set(texts) == set(alerts.TEXT_FIELDS)
    assert all("Floods" in value for value in texts.values())
    assert texts["sms_en"] != texts["sms_fr"] and texts["body_en"] != texts["body_fr"]
    assert is_gsm7(texts["sms_fr"]), texts["sms_fr"]  # French defaults fit GSM-7


def test_kinds_say_different_things(app, client, incident_id):
    from emergency.core.models import Incident
    from emergency.services import alerts

    with app.test_request_context():
        from emergency.core.database import db_session

        incident = db_session().get(Incident, incident_id)
        sms = {kind: alerts.default_texts(incident, kind)["sms_en"] for kind in alerts.KINDS}
    assert "Reply 1" in sms["safety_check"]
    assert "No need to reply" in sms["information"]
    assert "over" in sms["all_clear"]


def test_unknown_kind_is_refused_by_the_api(client, app, incident_id):
    response = client.post(f"/api/v1/incidents/{incident_id}/alerts", headers=api_headers(app),
                           json={"kind": "party"})
    assert response.status_code == 422


def test_api_compose_with_a_kind_prefills_that_kinds_texts(client, app, incident_id):
    response = client.post(f"/api/v1/incidents/{incident_id}/alerts", headers=api_headers(app),
                           json={"kind": "all_clear"})
    assert response.status_code == 201
    alert = response.get_json()
    assert alert["kind"] == "all_clear"
    assert alert["subject_fr"].startswith("Fin de l")


def test_console_composer_offers_the_kinds_and_saves_the_chosen_one(client, app, incident_id, login_as):
    browser = login_as("coordinator@example.org")
    page = browser.get(f"/incidents/{incident_id}").get_data(as_text=True)
    assert 'name="kind"' in page and "information" in page and "all_clear" in page
    data = {"kind": "information", "subject_en": "Info", "subject_fr": "Info", "body_en": "Stay in.",
            "body_fr": "Restez chez vous.", "sms_en": "Stay in.", "sms_fr": "Restez chez vous.",
            "channels": ["email", "sms"]}
    assert browser.post(f"/incidents/{incident_id}/alerts", data=data).status_code == 302
    with app.app_context():
        from emergency.core.database import db_session

        assert db_session().scalar(select(Alert.kind)) == "information"


def test_information_email_asks_for_no_answer_but_a_safety_check_does(client, app, incident_id):
    from notify.models import OutboxMessage

    headers = api_headers(app)
    for kind in ("information", "safety_check"):
        alert = client.post(f"/api/v1/incidents/{incident_id}/alerts", headers=headers,
                            json={"kind": kind, "channels": ["email"]}).get_json()
        assert client.post(f"/api/v1/alerts/{alert['id']}/send", headers=headers).status_code == 202
    with app.app_context():
        from emergency.core.database import db_session

        bodies = [m.body for m in db_session().scalars(
            select(OutboxMessage).where(OutboxMessage.to == "np@example.org").order_by(OutboxMessage.id))]
    assert len(bodies) == 2
    assert "I am safe" not in bodies[0] and "I am safe" in bodies[1]


# --- SMS estimate -------------------------------------------------------------------------------

def test_received_body_is_own_language_first_then_the_other():
    assert received_body("fr", "Hello", "Bonjour") == "Bonjour\n\nHello"
    assert received_body("en", "Hello", "Bonjour") == "Hello\n\nBonjour"


def test_total_segments_is_recipients_by_language_times_the_segments_they_receive():
    result = estimate("A" * 100, "B" * 100, {"en": 3, "fr": 2})
    # 100 + 2 + 100 = 202 GSM-7 characters: 2 segments each
    assert result["languages"]["en"]["message"] == {"encoding": "GSM-7", "segments": 2, "length": 202}
    assert result["total_segments"] == 3 * 2 + 2 * 2
    assert result["recipients"] == 5
    assert result["gsm_safe_fr"] is None


@pytest.mark.parametrize("char", list("êâîôûœç’"))
def test_one_french_character_outside_gsm7_makes_every_message_ucs2(char):
    result = estimate("Are you safe?", f"Etes-vous en securite{char}", {"en": 1, "fr": 1})
    assert result["languages"]["fr"]["text"]["encoding"] == "UCS-2"
    assert result["languages"]["en"]["message"]["encoding"] == "UCS-2"  # the English SMS carries the French


def test_gsm_safe_french_variant_is_offered_with_before_and_after_counts():
    fr = "Alerte consulaire : êtes-vous en sécurité ? Répondez 1 si vous l’êtes, 2 si vous avez besoin d’aide. " * 2
    en = "Consular alert: are you safe? Reply 1 if safe, 2 if you need help."
    result = estimate(en, fr, {"en": 10, "fr": 20})
    variant = result["gsm_safe_fr"]
    assert variant["before"]["encoding"] == "UCS-2" and variant["after"]["encoding"] == "GSM-7"
    assert variant["after"]["segments"] < variant["before"]["segments"]
    assert "é" in variant["text"] and "ê" not in variant["text"] and "’" not in variant["text"]
    expected = sum(n * sms_info(received_body(lang, en, variant["text"])).segments
                   for lang, n in (("en", 10), ("fr", 20)))
    assert variant["total_segments"] == expected < result["total_segments"]


def test_empty_texts_cost_nothing_but_still_count_the_separator():
    result = estimate("", "", {"en": 0, "fr": 0})
    assert result["total_segments"] == 0 and result["recipients"] == 0


def test_sms_estimate_endpoint_counts_affected_people_with_phones_by_language(client, app, incident_id, login_as):
    browser = login_as("viewer@example.org")
    response = browser.post(f"/incidents/{incident_id}/sms-estimate",
                            json={"sms_en": "Are you safe?", "sms_fr": "Êtes-vous en sécurité ?"})
    assert response.status_code == 200
    result = response.get_json()
    assert result["languages"]["en"]["recipients"] == 3
    assert result["languages"]["fr"]["recipients"] == 2  # the traveller without a phone is not counted
    assert result["languages"]["fr"]["text"]["encoding"] == "UCS-2"
    assert result["total_segments"] == 5
    assert result["gsm_safe_fr"]["text"] == "Etes-vous en sécurité ?"


def test_sms_estimate_leaves_out_opted_out_numbers(client, app, incident_id, login_as):
    with app.app_context():
        from emergency.core.database import db_session
        from notify.optout import record_keyword

        record_keyword(db_session(), "+336123456700", "opt_out", "ARRET")  # not one of ours
        record_keyword(db_session(), "+33612345670", "opt_out", "ARRET")
        db_session().commit()
    result = login_as("viewer@example.org").post(f"/incidents/{incident_id}/sms-estimate",
                                                 json={"sms_en": "a", "sms_fr": "b"}).get_json()
    assert result["languages"]["fr"]["recipients"] == 1


@pytest.mark.parametrize("payload", [{"sms_en": 3, "sms_fr": "x"}, {"sms_en": "x", "sms_fr": ["y"]}])
def test_sms_estimate_refuses_texts_that_are_not_strings(client, app, incident_id, login_as, payload):
    response = login_as("viewer@example.org").post(f"/incidents/{incident_id}/sms-estimate", json=payload)
    assert response.status_code == 400 and "error" in response.get_json()


def test_sms_estimate_needs_a_signed_in_user_and_an_existing_incident(client, app, incident_id, login_as):
    assert client.post(f"/incidents/{incident_id}/sms-estimate", json={}).status_code in (302, 401)
    assert login_as("viewer@example.org").post("/incidents/9999/sms-estimate", json={}).status_code == 404
