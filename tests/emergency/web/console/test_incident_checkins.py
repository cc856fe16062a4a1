"""Coordinators see check-ins that named a registered traveller on the incident page, marked
unverified until the code is entered, and never counted as that traveller's answer;
unverified calls for help come first."""
from __future__ import annotations

import re

from notify.models import OutboxMessage
from tests.emergency.web.public.test_checkin import ANSWER, add_known, make_incident, rows


def check_in(client, incident_id, **changes):
    response = client.post(f"/incidents/{incident_id}/checkin", data={**ANSWER, **changes})
    assert response.status_code == 200
    return re.search(r'action="(/checkin/[^"]+)"', response.get_data(as_text=True)).group(1)


def checkin_rows(page: str) -> list[str]:
    table = page.split('id="checkin-reports-table"', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr[^>]*data-verified[^>]*>.*?</tr>", table, re.S)


def test_an_unverified_check_in_is_shown_as_such_and_not_counted_as_safe(client, app, login_as):
    add_known(app, given_name="Aiko", family_name="Tanaka")
    incident_id = make_incident(app)
    check_in(client, incident_id, email="known@example.org", answer="safe")
    login_as("viewer@example.org")
    page = client.get(f"/incidents/{incident_id}?lang=en").get_data(as_text=True)
    (row,) = checkin_rows(page)
    assert "Aiko Tanaka" in row and "Safe" in row and "No, unverified" in row
    assert 'id="stat-safe">0<' in page
    stats = client.get(f"/incidents/{incident_id}/stats.json").get_json()
    assert stats["safe"] == 0


def test_unverified_calls_for_help_come_first_and_stand_out(client, app, login_as):
    add_known(app, phone=None)
    add_known(app, email="other@example.org", phone=None, given_name="Other")
    incident_id = make_incident(app)
    check_in(client, incident_id, email="known@example.org", answer="safe")
    check_in(client, incident_id, email="other@example.org", answer="help", message="Roof")
    login_as("viewer@example.org")
    first, second = checkin_rows(client.get(f"/incidents/{incident_id}?lang=en").get_data(as_text=True))
    assert 'class="urgent"' in first and "Needs help" in first and "Roof" in first
    assert 'class="urgent"' not in second


def test_a_verified_check_in_says_so_and_counts_once_as_the_travellers_answer(client, app, login_as):
    add_known(app, phone=None)
    incident_id = make_incident(app)
    url = check_in(client, incident_id, email="known@example.org", answer="safe")
    (message,) = rows(app, OutboxMessage)
    client.post(url, data={"code": re.search(r"\b(\d{6})\b", message.body).group(1)})
    login_as("viewer@example.org")
    page = client.get(f"/incidents/{incident_id}?lang=en").get_data(as_text=True)
    (row,) = checkin_rows(page)
    assert 'data-verified="yes"' in row and "Yes, " in row
    assert client.get(f"/incidents/{incident_id}/stats.json").get_json()["safe"] == 1


def test_the_section_is_in_french_for_a_french_reader(client, app, login_as):
    incident_id = make_incident(app)
    login_as("viewer@example.org")
    page = client.get(f"/incidents/{incident_id}?lang=fr").get_data(as_text=True)
    assert "Signalements non vérifiés" in page and "Aucun signalement n" in page


def test_a_newcomers_check_in_is_not_listed_as_a_claim(client, app, login_as):
    incident_id = make_incident(app)
    check_in(client, incident_id)
    login_as("viewer@example.org")
    page = client.get(f"/incidents/{incident_id}?lang=en").get_data(as_text=True)
    assert 'id="checkin-reports-table"' not in page
