"""Recording a safety answer: who gave it is part of the answer, a repeat from the same person
adds nothing, a wrong reporter is refused, and an answer to a closed incident is kept, late."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from emergency.core.models import AuditEntry, Incident, SafetyResponse
from emergency.services.responses import record_response
from tests.conftest import insert_traveller


@pytest.fixture
def incident_and_traveller(db):
    incident = Incident(title="Quake", zone_geojson={"type": "MultiPolygon", "coordinates": []},
                        starts_at=datetime(2030, 1, 1, tzinfo=timezone.utc))
    db.add(incident)
    db.commit()
    return incident, insert_traveller(db).id


def answers(db) -> list[tuple]:
    return [(r.status, r.reported_by, r.reporter_name, r.late)
            for r in db.scalars(select(SafetyResponse).order_by(SafetyResponse.id))]


def test_the_same_answer_from_the_same_person_adds_nothing(db, incident_and_traveller):
    incident, traveller_id = incident_and_traveller
    first, added = record_response(incident.id, traveller_id, "safe", "link")
    again, added_again = record_response(incident.id, traveller_id, "safe", "sms", source_message="inbound:4")
    assert (added, added_again, again.id) == (True, False, first.id)
    assert answers(db) == [("safe", "traveller", None, False)]


def test_the_same_answer_from_a_companion_is_kept_with_their_name(db, incident_and_traveller):
    incident, traveller_id = incident_and_traveller
    record_response(incident.id, traveller_id, "safe", "web")
    _, added = record_response(incident.id, traveller_id, "safe", "console", reported_by="companion",
                               reporter_name="  Sam Lee ")
    assert added
    assert answers(db) == [("safe", "traveller", None, False), ("safe", "companion", "Sam Lee", False)]


def test_an_unknown_reporter_or_status_is_refused_and_nothing_is_stored(db, incident_and_traveller):
    incident, traveller_id = incident_and_traveller
    with pytest.raises(ValueError, match="reporter"):
        record_response(incident.id, traveller_id, "safe", "web", reported_by="neighbour")
    with pytest.raises(ValueError, match="status"):
        record_response(incident.id, traveller_id, "fine", "web")
    assert answers(db) == []


def test_an_answer_to_a_closed_incident_is_recorded_late(db, incident_and_traveller):
    incident, traveller_id = incident_and_traveller
    record_response(incident.id, traveller_id, "safe", "sms")
    incident.status, incident.closed_at = "closed", datetime.now(timezone.utc)
    db.commit()
    _, added = record_response(incident.id, traveller_id, "need_help", "sms", source_message="inbound:9")
    assert added
    assert answers(db) == [("safe", "traveller", None, False), ("need_help", "traveller", None, True)]


def test_an_officers_entry_is_audited_under_no_traveller_and_without_names(db, incident_and_traveller):
    incident, traveller_id = incident_and_traveller
    record_response(incident.id, traveller_id, "need_help", "console", reported_by="officer",
                    reporter_name="Cora Coordinator")
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "safety.response")).one()
    assert entry.actor == "system"  # no one signed in here; in the console, the officer's email
    assert entry.details["reported_by"] == "officer" and entry.details["traveller_id"] == traveller_id
    assert "Cora" not in str(entry.details)
