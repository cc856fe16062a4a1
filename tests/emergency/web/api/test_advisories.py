"""Travel advisories: coordinators set a level (0-3) and a text in both languages per country;
everyone signed in reads them; bad input is refused field by field in the reader's language."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from emergency.core.models import Advisory, AuditEntry
from tests.conftest import api_headers

GOOD = {"level": 2, "text_en": "Avoid non-essential travel due to unrest.",
        "text_fr": "Évitez tout voyage non essentiel en raison de troubles."}


def put(client, app, cc, body, email="coordinator@example.org", **headers):
    return client.put(f"/api/v1/advisories/{cc}", json=body, headers={**api_headers(app, email), **headers})


def test_a_coordinator_sets_an_advisory_and_everyone_reads_it(client, app):
    response = put(client, app, "ht", GOOD)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["country"], body["level"], body["updated_by"]) == ("HT", 2, "api:coordinator@example.org")
    listed = client.get("/api/v1/advisories", headers=api_headers(app, "viewer@example.org")).get_json()
    assert [a["country"] for a in listed] == ["HT"]
    one = client.get("/api/v1/advisories/ht", headers=api_headers(app, "viewer@example.org")).get_json()
    assert one["text_fr"].startswith("Évitez")


def test_setting_again_replaces_the_advisory_and_each_change_is_audited(client, app, db):
    put(client, app, "HT", GOOD)
    put(client, app, "HT", {**GOOD, "level": 3})
    assert db.scalar(select(func.count()).select_from(Advisory)) == 1
    assert db.scalar(select(Advisory.level)) == 3
    entries = list(db.scalars(select(AuditEntry).where(AuditEntry.action == "advisory.set").order_by(AuditEntry.id)))
    assert [(e.object_id, e.details["level"], e.details["previous_level"]) for e in entries] == [
        ("HT", 2, None), ("HT", 3, 2)]


@pytest.mark.parametrize("level", [-1, 4, "x", None, 1.5, True])
def test_a_level_outside_0_to_3_is_refused(client, app, db, level):
    response = put(client, app, "HT", {**GOOD, "level": level})
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"level"}
    assert db.scalar(select(func.count()).select_from(Advisory)) == 0


@pytest.mark.parametrize("cc", ["ZZ", "XX", "FRA"])
def test_an_unknown_country_is_refused(client, app, cc):
    response = put(client, app, cc, GOOD)
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"country"}


@pytest.mark.parametrize("text_fr", ["", "   ", None, 12])
def test_an_empty_french_text_is_refused(client, app, db, text_fr):
    response = put(client, app, "HT", {**GOOD, "text_fr": text_fr})
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"text_fr"}
    assert db.scalar(select(func.count()).select_from(Advisory)) == 0


def test_every_wrong_field_is_reported_at_once_in_french(client, app):
    response = put(client, app, "ZZ", {"level": 9, "text_en": "", "text_fr": ""}, **{"Accept-Language": "fr"})
    fields = response.get_json()["fields"]
    assert set(fields) == {"country", "level", "text_en", "text_fr"}
    assert "français" in fields["text_fr"] and "anglais" in fields["text_en"]


def test_a_text_that_is_too_long_is_refused(client, app):
    response = put(client, app, "HT", {**GOOD, "text_en": "x" * 5001})
    assert set(response.get_json()["fields"]) == {"text_en"}


def test_a_body_that_is_not_a_json_object_is_refused(client, app):
    response = client.put("/api/v1/advisories/HT", data="[1]", content_type="application/json",
                          headers=api_headers(app))
    assert response.status_code == 400


def test_a_viewer_cannot_set_an_advisory(client, app):
    assert put(client, app, "HT", GOOD, email="viewer@example.org").status_code == 403


def test_an_unknown_advisory_is_not_found(client, app):
    assert client.get("/api/v1/advisories/HT", headers=api_headers(app)).status_code == 404


def test_advisory_for_finds_one_country_and_none_for_others(app, db):
    from emergency.services.advisories import advisories_for, advisory_for, set_advisory

    set_advisory("ht", 1, "Caution.", "Prudence.")
    assert advisory_for("HT").level == 1
    assert advisory_for("ht").country == "HT"
    assert advisory_for("FR") is None and advisory_for("") is None and advisory_for(None) is None
    assert set(advisories_for(["HT", "FR", "ht"])) == {"HT"}


# --- console ------------------------------------------------------------------------------

def test_the_console_page_lists_advisories_with_their_level_for_a_viewer(client, app, login_as):
    put(client, app, "HT", GOOD)
    page = login_as("viewer@example.org").get("/advisories").get_data(as_text=True)
    assert 'id="advisory-HT"' in page and "advisory-level-2" in page
    assert "Avoid non-essential travel due to unrest." in page
    assert 'name="text_fr"' not in page  # a viewer gets no edit form


def test_a_viewer_cannot_post_the_console_form(client, login_as):
    response = login_as("viewer@example.org").post("/advisories", data={"country": "HT", **GOOD})
    assert response.status_code == 403


def test_a_coordinator_saves_an_advisory_from_the_console(client, login_as, db):
    c = login_as("coordinator@example.org")
    response = c.post("/advisories", data={"country": "HT", **GOOD}, follow_redirects=True)
    assert response.status_code == 200
    assert db.scalar(select(Advisory.updated_by)) == "coordinator@example.org"


def test_the_console_form_shows_errors_next_to_the_fields_and_keeps_the_input(client, login_as, db):
    c = login_as("coordinator@example.org")
    response = c.post("/advisories?lang=fr", data={"country": "HT", "level": "7", "text_en": "Kept text",
                                                   "text_fr": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="level-error"' in page and 'id="text_fr-error"' in page
    assert "Kept text" in page
    assert db.scalar(select(func.count()).select_from(Advisory)) == 0
