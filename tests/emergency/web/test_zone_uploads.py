"""Hostile zone files through the console and the API: a clear refusal in the reader's
language (English and French), never a 500; good files of every format still make incidents."""
from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
from flask_babel import force_locale
from markupsafe import escape

from emergency.core.i18n_errors import translate
from geo import limits as upload_limits
from geo.errors import GeoError
from geo.formats import parse_upload
from tests.conftest import api_headers, login
from tests.geo import hostile_corpus as corpus

NOW = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def app_overrides():
    """Which limit refuses a file must not depend on how busy the machine is (the time limit
    has tests of its own in tests/geo)."""
    return {"UPLOAD_TIME_LIMIT_SECONDS": 120.0}


@pytest.fixture(autouse=True)
def unhurried_reading(monkeypatch):
    monkeypatch.setattr(upload_limits, "TIME_LIMIT_SECONDS", 120.0)


def expected_messages(app, filename: str, data: bytes) -> dict[str, str]:
    """The refusal the reader must see, by language, from the same check the views run."""
    with pytest.raises(GeoError) as info:
        parse_upload(filename, data)
    messages = {}
    with app.test_request_context():
        for lang in ("en", "fr"):
            with force_locale(lang):
                messages[lang] = translate(info.value)
    assert messages["en"] != messages["fr"], "the French message is missing from the catalogue"
    return messages


def preview(client, filename: str, data: bytes, lang: str):
    return client.post(f"/incidents/preview?lang={lang}", content_type="multipart/form-data",
                       data={"starts_at": NOW, "zone_kind": "upload", "zone_file": (io.BytesIO(data), filename)})


def api_upload(client, app, filename: str, data: bytes, lang: str):
    return client.post("/api/v1/incidents", headers={**api_headers(app), "Accept-Language": lang},
                       content_type="multipart/form-data",
                       data={"title": "Upload", "starts_at": NOW, "zone_file": (io.BytesIO(data), filename)})


@pytest.mark.parametrize("name", list(corpus.CASES))
def test_a_hostile_zone_file_is_refused_in_both_languages_by_the_console_and_the_api(client, app, name):
    hostile = corpus.hostile_file(name)
    messages = expected_messages(app, hostile.filename, hostile.data)
    login(client, "coordinator@example.org")
    for lang in ("en", "fr"):
        response = preview(client, hostile.filename, hostile.data, lang)
        assert response.status_code == 400, response.get_data(as_text=True)[:300]
        assert response.get_json()["errors"]["zone"] == messages[lang]

        response = api_upload(client, app, hostile.filename, hostile.data, lang)
        assert response.status_code == 422, response.get_data(as_text=True)[:300]
        body = response.get_json()
        assert body["error"] == "invalid"
        assert body["message"] == messages[lang] and body["fields"] == {"zone_file": messages[lang]}


def test_the_new_incident_page_shows_the_refusal_and_creates_nothing(client, app):
    hostile = corpus.hostile_file("kmz-bomb")
    messages = expected_messages(app, hostile.filename, hostile.data)
    login(client, "coordinator@example.org")
    response = client.post("/incidents/new?lang=fr", content_type="multipart/form-data", data={
        "title": "Bombe", "starts_at": NOW, "zone_kind": "upload",
        "zone_file": (io.BytesIO(hostile.data), hostile.filename)})
    assert response.status_code == 400
    assert str(escape(messages["fr"])) in response.get_data(as_text=True)
    assert client.get("/api/v1/incidents", headers=api_headers(app)).get_json() == []


@pytest.mark.parametrize("fmt", sorted(corpus.benign()))
def test_a_good_zone_file_of_each_format_makes_an_incident_over_the_api(client, app, fmt):
    filename, data = corpus.benign()[fmt]
    response = api_upload(client, app, filename, data, "en")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["title"] == "Upload"
    assert body["zone_source"]["format"] == {"kmz": "kml"}.get(fmt, fmt)


def test_an_api_upload_without_a_file_is_refused_with_the_field_named(client, app):
    response = client.post("/api/v1/incidents", headers=api_headers(app), content_type="multipart/form-data",
                           data={"title": "Upload", "starts_at": NOW})
    assert response.status_code == 422
    assert "zone_file" in response.get_json()["fields"]


def test_a_typed_wkt_nested_deep_enough_to_crash_geos_is_refused_over_the_api(client, app):
    text = corpus.deeply_nested_wkt().decode()
    response = client.post("/api/v1/incidents", headers=api_headers(app),
                           json={"title": "Deep", "zone": {"kind": "wkt", "text": text}})
    assert response.status_code == 422
    assert "nested too deeply" in response.get_json()["message"]
