"""Coordinators find travellers by name (accents and case ignored), email or phone (any
format), and every opening of a record is audited with the viewer's identity and shown
on the record itself."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from emergency.core.models import AuditEntry
from registry.models import Stop, Traveller, Trip
from tests.conftest import api_headers

PEOPLE = [
    ("Hélène", "Dupré", "helene.dupre@example.org", "+33612345678"),
    ("Helen", "Duprey", "HDuprey@Example.com", "+15145550123"),
    ("Zoë", "Ng", None, "+447700900123"),
    ("Ann", "Smith_Jones", "ann@example.org", None),
]


def add_people(db) -> dict[str, int]:
    ids = {}
    for given, family, email, phone in PEOPLE:
        t = Traveller(given_name=given, family_name=family, email=email, phone=phone, language="fr")
        db.add(t)
        db.flush()
        ids[given] = t.id
    db.commit()
    return ids


def found(db, query: str) -> list[str]:
    from registry.search import search_travellers

    return sorted(t.given_name for t in search_travellers(db, query))


@pytest.mark.parametrize("query,expected", [
    ("helene dupre", ["Hélène"]),
    ("DUPRÉ", ["Helen", "Hélène"]),  # Dupré, and Duprey which contains it
    ("HÉLÈNE DUPRÉ", ["Hélène"]),
    ("dupre helene", ["Hélène"]),
    ("dupr", ["Helen", "Hélène"]),
    ("zoe", ["Zoë"]),
    ("ZOË NG", ["Zoë"]),
    ("nobody", []),
])
def test_names_match_without_regard_to_accents_case_or_word_order(backend_db, query, expected):
    add_people(backend_db)
    assert found(backend_db, query) == expected


@pytest.mark.parametrize("query", ["+33 6 12 34 56 78", "0033612345678", "06 12 34 56 78", "06.12.34.56.78",
                                   "+33 (0)6 12 34 56 78"])
def test_a_phone_number_written_in_another_format_finds_the_traveller(backend_db, query):
    add_people(backend_db)
    assert found(backend_db, query) == ["Hélène"]


@pytest.mark.parametrize("query,expected", [
    ("(514) 555-0123", ["Helen"]), ("+1 514-555-0123", ["Helen"]), ("07700 900123", ["Zoë"]),
])
def test_phone_numbers_of_other_countries(backend_db, query, expected):
    add_people(backend_db)
    assert found(backend_db, query) == expected


def test_email_is_case_insensitive_and_may_be_partial(backend_db):
    add_people(backend_db)
    assert found(backend_db, "hduprey@example.COM") == ["Helen"]
    assert found(backend_db, "@example.org") == ["Ann", "Hélène"]


def test_wildcards_typed_by_the_user_are_taken_literally(backend_db):
    add_people(backend_db)
    assert found(backend_db, "%") == []
    assert found(backend_db, "h_l") == []
    assert found(backend_db, "smith_jones") == ["Ann"]


def test_a_blank_or_too_short_query_finds_nobody(backend_db):
    add_people(backend_db)
    assert found(backend_db, "   ") == []
    assert found(backend_db, "12") == []


# --- console and API ----------------------------------------------------------------------

def test_the_console_search_page_lists_matches_for_a_coordinator(client, db, login_as):
    add_people(db)
    page = login_as("coordinator@example.org").get("/travellers?q=06+12+34+56+78").get_data(as_text=True)
    assert "Dupré" in page and "Duprey" not in page


def test_a_viewer_cannot_search_or_open_records(client, db, login_as):
    ids = add_people(db)
    c = login_as("viewer@example.org")
    assert c.get("/travellers?q=dupre").status_code == 403
    assert c.get(f"/travellers/{ids['Ann']}").status_code == 403


def test_the_api_search_answers_json(client, app, db):
    add_people(db)
    body = client.get("/api/v1/travellers?q=0033612345678", headers=api_headers(app)).get_json()
    assert body["count"] == 1 and body["travellers"][0]["family_name"] == "Dupré"


@pytest.mark.parametrize("query", ["", "q=", "q=" + "x" * 201])
def test_the_api_search_refuses_an_empty_or_oversized_query(client, app, query):
    response = client.get(f"/api/v1/travellers?{query}", headers=api_headers(app))
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_query"


def test_the_api_search_needs_a_coordinator(client, app):
    assert client.get("/api/v1/travellers?q=x", headers=api_headers(app, "viewer@example.org")).status_code == 403


def test_every_view_of_a_record_is_audited_with_the_viewers_identity(client, app, db, login_as):
    ids = add_people(db)
    c = login_as("coordinator@example.org")
    c.get(f"/travellers/{ids['Hélène']}")
    c.get(f"/travellers/{ids['Hélène']}")
    client.get(f"/api/v1/travellers/{ids['Hélène']}", headers=api_headers(app, "approver@example.org"))
    entries = list(db.scalars(select(AuditEntry).where(AuditEntry.action == "traveller.viewed")
                              .order_by(AuditEntry.id)))
    assert [(e.actor, e.object_id) for e in entries] == [
        ("coordinator@example.org", str(ids["Hélène"])), ("coordinator@example.org", str(ids["Hélène"])),
        ("api:approver@example.org", str(ids["Hélène"]))]
    assert all("Hélène" not in str(e.details) for e in entries)


def test_the_record_page_shows_trips_with_their_status_and_who_viewed_it(client, db, login_as):
    ids = add_people(db)
    tid = ids["Hélène"]
    trip = Trip(traveller_id=tid)
    trip.stops = [Stop(traveller_id=tid, country="HT", precision="country", arrival=date(2020, 1, 1),
                       departure=date(2020, 1, 9))]
    db.add(trip)
    db.commit()
    c = login_as("coordinator@example.org")
    c.get(f"/travellers/{tid}")
    page = c.get(f"/travellers/{tid}").get_data(as_text=True)
    assert "Hélène Dupré" in page and "+33612345678" in page
    assert "trip-ended" in page and "2020-01-09" in page
    trail = page[page.index('id="traveller-views"'):]
    assert trail.count("coordinator@example.org") == 2


def test_an_unknown_record_is_not_found(client, login_as):
    assert login_as("coordinator@example.org").get("/travellers/999999").status_code == 404
