"""Privacy by default: trips end by themselves on their return date; records are purged
PURGE_AFTER_DAYS after their last stop ended, except people an open incident is about;
a dry run deletes nothing; the audit keeps counts only; the consent wording is versioned."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from emergency.core.models import Alert, AlertRecipient, AuditEntry, Incident
from notify.models import Delivery
from registry.models import Stop, Traveller, Trip
from tests.conftest import insert_traveller

TODAY = date(2027, 6, 15)
DAYS = 548
CUTOFF = TODAY - timedelta(days=DAYS)  # stops that ended before this day are old enough


def add_traveller(db, name: str, stops: list[tuple[date, date | None]],
                  created_at: datetime | None = None) -> int:
    return insert_traveller(db, *({"country": "FR", "precision": "country", "arrival": arrival, "departure": departure}
                                  for arrival, departure in stops),
                            given_name=name, family_name="Test", email=f"{name.lower()}@example.org", language="en",
                            created_at=created_at or datetime(2020, 1, 1, tzinfo=timezone.utc)).id


def names(db) -> set[str]:
    db.expire_all()
    return set(db.scalars(select(Traveller.given_name)))


def add_incident_recipient(db, traveller_id: int, status: str) -> None:
    incident = Incident(title="Quake", status=status, zone_geojson={"type": "MultiPolygon", "coordinates": []},
                        starts_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
    db.add(incident)
    db.flush()
    alert = Alert(incident_id=incident.id, subject_en="s", subject_fr="s", body_en="b", body_fr="b",
                  sms_en="s", sms_fr="s", status="sent")
    db.add(alert)
    db.flush()
    db.add(AlertRecipient(alert_id=alert.id, incident_id=incident.id, traveller_id=traveller_id,
                          language="en", email="x@example.org", precision="country"))
    db.commit()


def test_purge_deletes_exactly_the_travellers_whose_last_stop_ended_long_enough_ago(backend_db):
    from emergency.services.privacy import purge_old_records

    db = backend_db
    add_traveller(db, "Boundary", [(CUTOFF - timedelta(days=5), CUTOFF)])               # ended 548 days ago
    add_traveller(db, "DayAfter", [(CUTOFF - timedelta(days=5), CUTOFF - timedelta(days=1))])  # 549 days
    add_traveller(db, "Mixed", [(date(2020, 1, 1), date(2020, 1, 5)), (TODAY, TODAY + timedelta(days=3))])
    add_traveller(db, "OpenEnded", [(date(2020, 1, 1), None)])
    add_traveller(db, "NoStopOld", [], created_at=datetime(2020, 1, 1, tzinfo=timezone.utc))
    add_traveller(db, "NoStopNew", [], created_at=datetime(2027, 6, 1, tzinfo=timezone.utc))
    report = purge_old_records(today=TODAY, after_days=DAYS)
    assert names(db) == {"Boundary", "Mixed", "NoStopNew"}  # OpenEnded began 7 years ago
    assert (report.travellers, report.stops) == (3, 2)
    assert db.scalar(select(func.count()).select_from(Trip)) == 2


def test_an_open_incident_keeps_its_recipients_and_a_closed_one_does_not(backend_db):
    from emergency.services.privacy import purge_old_records

    db = backend_db
    old = [(date(2020, 1, 1), date(2020, 1, 5))]
    kept = add_traveller(db, "InOpenIncident", old)
    gone = add_traveller(db, "InClosedIncident", old)
    add_incident_recipient(db, kept, "active")
    add_incident_recipient(db, gone, "closed")
    db.add(Delivery(campaign_id=1, recipient_id=gone, channel="email", address="inclosedincident@example.org",
                    language="en"))
    db.commit()
    purge_old_records(today=TODAY, after_days=DAYS)
    assert names(db) == {"InOpenIncident"}
    assert db.scalar(select(Delivery.address)) == ""  # the campaign row stays, the address goes


def test_a_dry_run_counts_and_deletes_nothing(backend_db):
    from emergency.services.privacy import purge_old_records

    db = backend_db
    add_traveller(db, "Old", [(date(2020, 1, 1), date(2020, 1, 5)), (date(2020, 2, 1), date(2020, 2, 5))])
    report = purge_old_records(today=TODAY, after_days=DAYS, dry_run=True)
    assert (report.travellers, report.stops, report.dry_run) == (1, 2, True)
    assert names(db) == {"Old"}
    assert db.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_the_purge_is_audited_once_with_counts_and_no_personal_data(app, db):
    from emergency.services.privacy import purge_old_records

    for i in range(5):
        add_traveller(db, f"Person{i}", [(date(2020, 1, 1), date(2020, 1, 5))])
    purge_old_records(today=TODAY, after_days=DAYS, batch_size=2)  # three batches
    [entry] = db.scalars(select(AuditEntry).where(AuditEntry.action == "privacy.purge"))
    assert entry.actor == "system"
    assert entry.details["travellers"] == 5 and entry.details["stops"] == 5
    assert "Person" not in str(entry.details) and "@" not in str(entry.details)
    assert names(db) == set()


@pytest.mark.parametrize("app_overrides", [{"PURGE_AFTER_DAYS": 30}])
def test_the_purge_period_comes_from_configuration(app, db, app_overrides):
    from emergency.services.privacy import purge_old_records

    add_traveller(db, "Recent", [(TODAY - timedelta(days=40), TODAY - timedelta(days=31))])
    add_traveller(db, "Fresher", [(TODAY - timedelta(days=40), TODAY - timedelta(days=30))])
    purge_old_records(today=TODAY)
    assert names(db) == {"Fresher"}


def test_the_purge_command_has_a_dry_run(runner, app, db):
    add_traveller(db, "Old", [(date(2020, 1, 1), date(2020, 1, 5))])
    result = runner.invoke(args=["purge", "--dry-run"])
    assert result.exit_code == 0 and "Would delete 1 travellers" in result.output
    assert names(db) == {"Old"}
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0 and "Deleted 1 travellers and 1 stops" in result.output
    assert names(db) == set()


def test_the_purge_command_refuses_a_negative_period(runner):
    assert runner.invoke(args=["purge", "--after-days", "-1"]).exit_code != 0


# --- trips end by themselves ------------------------------------------------------------

def trip(*stops) -> Trip:
    t = Trip()
    t.stops = [Stop(country="FR", precision="country", arrival=a, departure=d) for a, d in stops]
    return t


@pytest.mark.parametrize("stops,expected", [
    ([(date(2027, 7, 1), date(2027, 7, 5))], "upcoming"),
    ([(date(2027, 6, 10), date(2027, 6, 15))], "active"),           # the return day itself
    ([(date(2027, 6, 10), date(2027, 6, 14))], "ended"),            # returned yesterday
    ([(date(2027, 6, 1), date(2027, 6, 5)), (date(2027, 6, 20), date(2027, 6, 25))], "active"),
    ([(date(2020, 1, 1), None)], "active"),                          # no return date: never ends by itself
    ([], "ended"),
])
def test_a_trip_ends_by_itself_after_its_return_date(stops, expected):
    from emergency.services.privacy import trip_is_active

    assert trip(*stops).status_on(TODAY) == expected
    assert trip_is_active(trip(*stops), TODAY) == (expected == "active")


# --- consent wording ----------------------------------------------------------------------

def test_the_consent_wording_exists_in_both_languages_for_the_current_version():
    from emergency.services.consent import CONSENT_VERSION, consent_text, consent_texts

    assert CONSENT_VERSION == "2026-11"
    assert "18" in consent_text("en") and "18" in consent_text("fr")
    assert consent_text("fr") != consent_text("en")
    assert [lang for lang, _ in consent_texts("fr")] == ["fr", "en"]
    assert consent_text("de") == consent_text("en")


def test_an_unknown_consent_version_is_an_error_not_a_silent_fallback():
    from emergency.services.consent import consent_text

    with pytest.raises(KeyError):
        consent_text("en", "1999-01")
