"""What the console says is true: the count in the send flash, one vocabulary for how a
traveller was located, numbers and plurals in the reader's language, a paged outbox."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from notify.models import OutboxMessage
from tests.conftest import PASSWORD, login
from tests.emergency.web.console.test_console import add_traveller, alert_texts, create_incident


def test_the_send_flash_counts_the_people_before_the_recipients_are_frozen(client, app, monkeypatch):
    """The recipient list is frozen by a background job after the answer; the flash must not
    read the count that job has not written yet (it said "being sent to 0 people")."""
    import emergency.services.alerts as alerts

    monkeypatch.setattr(alerts, "enqueue", lambda *args, **kwargs: None)  # the job is still queued
    add_traveller(app, "Ann", country="PT", lat=38.72, lon=-9.14)
    add_traveller(app, "Bea", country="PT", lat=38.73, lon=-9.15)
    login(client, "coordinator@example.org")
    incident_id = create_incident(client)
    client.post(f"/incidents/{incident_id}/alerts", data=alert_texts())
    page = client.post("/alerts/1/send?lang=en", follow_redirects=True).get_data(as_text=True)
    assert "Alert 1 is being sent to 2 people." in page


def test_a_send_to_nobody_reads_as_french_singular(client, app, monkeypatch):
    import emergency.services.alerts as alerts

    monkeypatch.setattr(alerts, "enqueue", lambda *args, **kwargs: None)
    login(client, "coordinator@example.org")
    incident_id = create_incident(client)
    client.post(f"/incidents/{incident_id}/alerts", data=alert_texts())
    page = client.post("/alerts/1/send?lang=fr", follow_redirects=True).get_data(as_text=True)
    assert "L&#39;alerte 1 est en cours d&#39;envoi à 0 personne." in page


def test_a_traveller_placed_at_a_city_centre_is_called_so_in_every_table(client, app):
    add_traveller(app, "Cid", country="PT", place="Lisbon", lat=38.7223, lon=-9.1393, precision="city")
    add_traveller(app, "Pia", country="PT", lat=38.70, lon=-9.20, precision="point")
    login(client, "coordinator@example.org")
    incident_id = create_incident(client)
    client.post(f"/incidents/{incident_id}/alerts", data=alert_texts())
    client.post("/alerts/1/send")
    html = client.get(f"/incidents/{incident_id}?lang=en").get_data(as_text=True)
    recipients = html[html.index('id="recipients"'):] if 'id="recipients"' in html else html
    cid_rows = re.findall(r"<tr[^>]*>(?:(?!</tr>).)*Cid Tremblay(?:(?!</tr>).)*</tr>", html, re.S)
    assert len(cid_rows) == 2  # the recipients table and the affected table
    assert all("City centre" in row and "Exact point" not in row for row in cid_rows), cid_rows
    pia_rows = re.findall(r"<tr[^>]*>(?:(?!</tr>).)*Pia Tremblay(?:(?!</tr>).)*</tr>", recipients, re.S)
    assert pia_rows and all("Exact point" in row for row in pia_rows)


def test_distances_in_the_affected_table_use_a_decimal_comma_in_french(client, app):
    add_traveller(app, "Ann", country="PT", lat=38.80, lon=-9.14, precision="point")
    login(client, "coordinator@example.org")
    incident_id = create_incident(client)
    html = client.get(f"/incidents/{incident_id}?lang=fr").get_data(as_text=True)
    row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*Ann Tremblay(?:(?!</tr>).)*</tr>", html, re.S).group(0)
    assert re.search(r'<td class="num">8,9</td>', row), row


def add_outbox(app, count: int) -> None:
    from emergency.core.database import db_session

    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with app.app_context():
        session = db_session()
        session.add_all(OutboxMessage(channel="sms", to=f"+1416555{i:04d}", body=f"message number {i}",
                                      created_at=start + timedelta(minutes=i)) for i in range(count))
        session.commit()


def sign_in_as_admin(client, app):
    """In development mode, only an administrator sees the outbox."""
    with app.app_context():
        from emergency.core.auth import create_user
        from emergency.core.database import db_session

        create_user("admin@example.org", "Ada Admin", "admin", PASSWORD)
        db_session().commit()
    login(client, "admin@example.org")


DEVELOPMENT = pytest.mark.parametrize("app_overrides", [{"ENV_NAME": "development"}])


@DEVELOPMENT
def test_the_outbox_shows_every_message_page_by_page_newest_first(client, app):
    add_outbox(app, 120)
    sign_in_as_admin(client, app)
    first = client.get("/outbox?lang=en").get_data(as_text=True)
    assert "Messages 1 to 50 of 120" in first
    assert "message number 119<" in first and "message number 70<" in first and "message number 69<" not in first
    older = re.search(r'href="(/outbox\?before=\d+)"[^>]*>Older messages', first).group(1)
    second = client.get(older).get_data(as_text=True)
    assert "Messages 51 to 100 of 120" in second and "message number 69<" in second and "Newest messages" in second
    third = client.get(re.search(r'href="(/outbox\?before=\d+)"[^>]*>Older messages', second).group(1))
    third = third.get_data(as_text=True)
    assert "Messages 101 to 120 of 120" in third and "message number 0<" in third
    assert "Older messages" not in third


@DEVELOPMENT
def test_the_outbox_counts_in_french_digits(client, app):
    add_outbox(app, 1001)
    sign_in_as_admin(client, app)
    page = client.get("/outbox?lang=fr").get_data(as_text=True)
    assert "Messages 1 à 50 sur 1\u202f001" in page and "Messages plus anciens" in page


def test_a_decimal_comma_is_a_decimal_point_in_the_zone_form(client, app):
    add_traveller(app, "Ann", country="PT", lat=38.72, lon=-9.14)
    login(client, "coordinator@example.org")
    response = client.post("/incidents/preview?lang=fr", data={"zone_kind": "circle", "lat": "38,7223",
                                                               "lon": "-9,1393", "radius_km": "5,5"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["count"] == 1


def test_zone_errors_name_fields_by_their_labels_and_keep_parser_output_out(client, app):
    login(client, "coordinator@example.org")
    refused = client.post("/incidents/preview?lang=fr", data={"zone_kind": "circle", "lat": "nord",
                                                              "lon": "-9.1", "radius_km": "5"})
    assert refused.status_code == 400
    assert refused.get_json()["errors"]["zone"] == "Latitude doit être un nombre."
    wkt = client.post("/incidents/preview?lang=en", data={"zone_kind": "text", "text_kind": "wkt",
                                                          "zone_text": "POLYGON((1 2, 3 x, 1 2))"})
    message = wkt.get_json()["errors"]["zone"]
    assert wkt.status_code == 400 and "WKT" in message
    assert "ParseException" not in message and "Expected" not in message


def test_the_window_reads_french_day_first_dates_and_shows_them_in_the_readers_order(client, app):
    from emergency.core.database import db_session
    from emergency.core.models import Incident

    login(client, "coordinator@example.org")
    page = client.get("/incidents/new?lang=fr").get_data(as_text=True)
    assert "Format\u00a0: JJ/MM/AAAA HH:MM" in page and 'type="datetime-local"' not in page
    assert re.search(r'id="starts_at"[^>]*value="\d\d/\d\d/\d{4} \d\d:\d\d"', page)
    response = client.post("/incidents/new?lang=fr", data={
        "title": "Floods", "zone_kind": "circle", "lat": "38,72", "lon": "-9,14", "radius_km": "20",
        "starts_at": "02/03/2026 07:30", "ends_at": "2026-03-05 18:00"})
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        incident = db_session().get(Incident, int(response.headers["Location"].rsplit("/", 1)[1]))
        assert (incident.starts_at.month, incident.starts_at.day, incident.starts_at.hour) == (3, 2, 7)
        assert (incident.ends_at.month, incident.ends_at.day) == (3, 5)
