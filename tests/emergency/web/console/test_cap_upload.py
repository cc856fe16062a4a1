"""The console's CAP upload: a coordinator uploads a CAP message on the new-incident page
and lands on the draft it opened, with what the message lacked said in their language; a
refused message shows every reason, and nothing is created."""
from __future__ import annotations

import io

from sqlalchemy import func, select

from emergency.core.models import AuditEntry, Incident
from tests.cap.conftest import DATA, VALID
from tests.conftest import login


def upload(client, data: bytes, name: str = "alert.xml"):
    return client.post("/incidents/from-cap", data={"cap_file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def count_incidents(app) -> int:
    with app.app_context():
        from emergency.core.database import db_session

        return db_session().scalar(select(func.count()).select_from(Incident))


def test_the_new_incident_page_offers_a_cap_upload_in_both_languages(client):
    login(client, "coordinator@example.org")
    assert "Open from the CAP message" in client.get("/incidents/new").get_data(as_text=True)
    assert "Ouvrir à partir du message CAP" in client.get("/incidents/new?lang=fr").get_data(as_text=True)


def test_an_uploaded_cap_cp_message_opens_its_draft_and_the_page_shows_it(client, app):
    login(client, "coordinator@example.org")
    response = upload(client, VALID.encode())
    assert response.status_code == 302
    page = client.get(response.headers["Location"] + "?lang=fr").get_data(as_text=True)
    assert "Fort séisme près de Lisbonne" in page and "a ouvert cette ébauche" in page
    assert "urn:test:quake:1" in page  # the CAP message, listed on its incident


def test_a_message_without_french_says_so_and_leaves_french_to_write(client, app):
    login(client, "coordinator@example.org")
    document = (DATA / "ie_meteireann_2022-12-06_lowtemp_polygons__meteoalarm_ireland_sample_detail.xml").read_bytes()
    response = upload(client, document)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The CAP message had no French text: write the French alert yourself." in page
    assert 'name="subject_fr" required type="text" value=""' in page or 'id="subject_fr" name="subject_fr"' in page


def test_a_refused_message_shows_every_reason_in_french_and_creates_nothing(client, app):
    login(client, "coordinator@example.org")
    client.get("/incidents/new?lang=fr")
    broken = VALID.replace("<scope>Public</scope>", "").replace(
        "38.9,-9.5 38.5,-9.5</polygon>", "38.9,-9.5 38.6,-9.5</polygon>", 1)
    response = upload(client, broken.encode())
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "/alert/scope" in page and "/alert/info[1]/area[1]/polygon[1]" in page
    assert "Le polygone n&#39;est pas fermé" in page and "scope est obligatoire." in page
    assert count_incidents(app) == 0
    with app.app_context():
        from emergency.core.database import db_session

        assert db_session().scalar(select(AuditEntry).where(AuditEntry.action == "cap.refused")) is not None


def test_a_viewer_cannot_upload(client):
    login(client, "viewer@example.org")
    assert upload(client, VALID.encode()).status_code == 403
