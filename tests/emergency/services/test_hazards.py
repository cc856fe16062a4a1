"""Hazard events through the rules: stored once per version, merged across sources, a zone
and a live headcount, then notify / draft / send as the rules say; feeds polled one job
each, a broken one marked unhealthy while the others go on."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from emergency.core.models import Alert, AuditEntry, Feed, Hazard, Incident, StaffNotification, TriggerFiring, User
from hazards.events import HazardEvent
from tests.conftest import stop
from tests.emergency.services.test_staff_notifications import outbox, put_on_call, set_language
from tests.hazards.fake_feeds import FakeFeeds

CORA, ADMIN = "coordinator@example.org", "admin@example.org"
LISBON = (38.72, -9.14)


def quake(source="usgs", source_id="us1", magnitude=6.5, lat=LISBON[0], lon=LISBON[1], minutes_ago=5, **kw):
    when = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=minutes_ago)
    return HazardEvent(source=source, source_id=source_id, kind="earthquake", title="M 6.5 - near Lisbon, Portugal",
                       time=when, updated=kw.pop("updated", when), lat=lat, lon=lon, magnitude=magnitude, **kw)


def make_rule(app, email=CORA, **fields):
    from emergency.services.trigger_rules import create_rule

    with app.test_request_context():
        from flask_login import login_user

        from emergency.core.database import db_session

        user = db_session().scalar(select(User).where(User.email == email))
        if user is None:  # the test users have no administrator
            from emergency.core.auth import create_user

            user = create_user(email, "Ad Min", "admin")
            db_session().commit()
        login_user(user)
        rule = create_rule({"name": "Big quakes", "kinds": ["earthquake"], "min_magnitude": 6, **fields})
        return rule.id


def apply(app, event, feed_id=None):
    from emergency.services.hazards import apply_event

    with app.app_context():
        return apply_event(event, feed_id=feed_id)


def count(app, model, *where):
    from emergency.core.database import db_session

    with app.app_context():
        return db_session().scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def fake_feeds():
    feeds = FakeFeeds().start()
    yield feeds
    feeds.stop()


@pytest.fixture
def lisbon(make_traveller):
    return [make_traveller(name, email=f"{name.lower()}@example.org") for name in ("Ana", "Rui", "Eva")]


def test_a_new_event_is_stored_with_its_zone_and_live_headcount(app, lisbon, make_traveller):
    make_traveller("Far", email="far@example.org", stops=[stop("CA", place="Ottawa", lat=45.42, lon=-75.69)])
    result = apply(app, quake())
    assert result.created and result.fired == 0
    with app.app_context():
        from emergency.core.database import db_session

        row = db_session().get(Hazard, result.hazard_id)
        assert row.affected == 3 and "PT" in row.countries and row.zone_source["radius_km"] == pytest.approx(141.42, abs=0.1)


def test_the_same_version_twice_changes_nothing_and_a_new_version_updates(app):
    event = quake()  # one event: two calls a second apart would be two versions
    first = apply(app, event)
    again = apply(app, event)
    assert not again.changed and again.hazard_id == first.hazard_id
    later = apply(app, quake(magnitude=7.0, updated=datetime.now(timezone.utc)))
    assert later.changed and not later.created and count(app, Hazard) == 1
    assert count(app, AuditEntry, AuditEntry.action == "trigger.event_updated") == 1


def test_usgs_and_gdacs_reports_of_one_quake_are_one_event(app, lisbon):
    make_rule(app, action="notify", min_affected=1)
    apply(app, quake("usgs", "us1"))
    second = apply(app, quake("gdacs", "EQ99", magnitude=6.3, lat=38.9, minutes_ago=4))
    assert second.fired == 0  # the duplicate points at the first and fires nothing again
    with app.app_context():
        from emergency.core.database import db_session

        gdacs_row = db_session().get(Hazard, second.hazard_id)
        assert gdacs_row.merged_into_id is not None
    assert count(app, TriggerFiring) == 1


def test_a_notify_rule_tells_the_on_call_officers_in_their_language_with_the_headcount(app, lisbon):
    put_on_call(app, CORA)
    set_language(app, CORA, "fr")
    make_rule(app, action="notify")
    result = apply(app, quake())
    assert result.fired == 1 and result.incident_id is None
    sent = outbox(app)
    assert {c for c, _, _ in sent} == {"email", "sms"}
    email = next(text for c, _, text in sent if c == "email")
    assert email == "Alerte de risque\u00a0: M 6.5 - near Lisbon, Portugal — 3 voyageurs inscrits dans la zone"
    assert count(app, StaffNotification, StaffNotification.kind == "rule_fired") == 2
    apply(app, quake(updated=datetime.now(timezone.utc)))  # a new version fires the rule no second time
    assert count(app, StaffNotification, StaffNotification.kind == "rule_fired") == 2


def test_a_draft_rule_opens_an_incident_with_a_bilingual_draft_safety_check(app, lisbon):
    put_on_call(app, CORA)
    make_rule(app, action="draft")
    result = apply(app, quake())
    assert result.incident_id
    with app.app_context():
        from emergency.core.database import db_session
        from emergency.services.incidents import count_for

        incident = db_session().get(Incident, result.incident_id)
        assert incident.title_en.startswith("Earthquake: M 6.5") and incident.title_fr.startswith("Séisme")
        [alert] = incident.alerts
        assert alert.status == "draft" and alert.kind == "safety_check"
        assert "Séisme" in alert.subject_fr and "Earthquake" in alert.subject_en and "Séisme" not in alert.subject_en
        assert count_for(incident) == 3
    email = next(text for c, _, text in outbox(app) if c == "email")
    assert "3 registered travellers" in email


def test_rules_below_their_thresholds_do_not_fire(app, lisbon):
    make_rule(app, action="draft", min_magnitude=7)
    make_rule(app, action="draft", countries=["JP"])
    make_rule(app, action="draft", min_affected=4)
    make_rule(app, action="draft", source="gdacs")
    make_rule(app, action="draft", kinds=["flood"])
    make_rule(app, action="draft", min_alert_level="orange")
    assert apply(app, quake(alert_level="yellow")).fired == 0
    assert count(app, Incident) == 0


def test_a_send_rule_without_the_administrators_flag_only_drafts(app, lisbon):
    make_rule(app, action="send")
    result = apply(app, quake())
    with app.app_context():
        from emergency.core.database import db_session

        assert db_session().get(Incident, result.incident_id).alerts[0].status == "draft"
    assert count(app, AuditEntry, AuditEntry.action == "trigger.send_refused") == 1


def test_a_coordinator_cannot_allow_a_rule_to_send(app):
    from emergency.services.trigger_rules import RuleError

    with pytest.raises(RuleError) as refused:
        make_rule(app, action="send", auto_send_allowed=True)
    assert refused.value.field == "auto_send_allowed"


def test_an_admin_flagged_send_rule_sends_below_the_approval_threshold(app, lisbon):
    make_rule(app, ADMIN, action="send", auto_send_allowed=True)
    result = apply(app, quake())
    with app.app_context():
        from emergency.core.database import db_session

        alert = db_session().get(Incident, result.incident_id).alerts[0]
        assert alert.status in ("sending", "sent")
    assert count(app, AuditEntry, AuditEntry.action == "trigger.sent") == 1


def test_a_send_rule_over_the_threshold_waits_for_approval(make_app):
    from tests.conftest import post_traveller

    app = make_app(APPROVAL_THRESHOLD=1)
    client = app.test_client()
    for name in ("Ana", "Rui"):
        post_traveller(client, app, name, email=f"{name}@example.org")
    make_rule(app, ADMIN, action="send", auto_send_allowed=True)
    result = apply(app, quake())
    with app.app_context():
        from emergency.core.database import db_session

        assert db_session().get(Incident, result.incident_id).alerts[0].status == "draft"
    assert count(app, AuditEntry, AuditEntry.action == "alert.approval_requested") == 1
    assert count(app, Alert, Alert.status == "sending") == 0


def test_an_update_moves_the_draft_incidents_zone_until_an_alert_is_sent(app, lisbon):
    make_rule(app, action="draft")
    first = apply(app, quake(magnitude=6.0))
    apply(app, quake(magnitude=7.0, updated=datetime.now(timezone.utc)))
    with app.app_context():
        from emergency.core.database import db_session

        incident = db_session().get(Incident, first.incident_id)
        assert incident.zone_source["radius_km"] == pytest.approx(200.0)
        assert incident.zones[0].zone_source["radius_km"] == pytest.approx(200.0)


def test_a_deleted_event_is_marked_and_on_call_told_but_its_incident_stays(app, lisbon):
    put_on_call(app, CORA)
    make_rule(app, action="draft")
    first = apply(app, quake())
    apply(app, quake(status="deleted", updated=datetime.now(timezone.utc)))
    with app.app_context():
        from emergency.core.database import db_session

        assert db_session().get(Hazard, first.hazard_id).status == "deleted"
        assert db_session().get(Incident, first.incident_id).status == "active"
    assert count(app, StaffNotification, StaffNotification.kind == "hazard_withdrawn") == 2
    assert any("withdrawn" in text for c, _, text in outbox(app) if c == "email")


# --------------------------------------------------------------------------- polling


def usgs_body(*events) -> bytes:
    features = [{"type": "Feature", "id": e["id"], "geometry": {"type": "Point", "coordinates": [e["lon"], e["lat"], 10.0]},
                 "properties": {"mag": e["mag"], "time": e["time"], "updated": e.get("updated", e["time"]),
                                "title": f"M {e['mag']} - test", "type": "earthquake", "status": "reviewed"}}
                for e in events]
    return json.dumps({"type": "FeatureCollection", "metadata": {"count": len(features)}, "features": features}).encode()


def add_feed(app, url, kind="usgs", name="USGS"):
    from emergency.core.database import db_session

    with app.app_context():
        feed = Feed(name=name, kind=kind, url=url)
        db_session().add(feed)
        db_session().commit()
        return feed.id


def poll(app):
    from emergency.jobs.feeds import poll_all

    with app.app_context():
        return poll_all()


def feed_row(app, feed_id):
    from emergency.core.database import db_session

    with app.app_context():
        feed = db_session().get(Feed, feed_id)
        db_session().expunge(feed)
        return feed


def test_a_polled_feed_opens_the_draft_and_a_broken_feed_is_unhealthy_without_stopping_it(app, lisbon, fake_feeds):
    make_rule(app, action="draft")
    now_ms = int(datetime.now(timezone.utc).timestamp() * 1000)
    broken = add_feed(app, fake_feeds.publish("/broken.json", b"x"), name="Broken")
    fake_feeds.fail("/broken.json", "garbage")
    down = add_feed(app, fake_feeds.publish("/down.json", b"x"), name="Down")
    fake_feeds.fail("/down.json", "500")
    good = add_feed(app, fake_feeds.publish("/usgs.json", usgs_body({"id": "us9", "lat": 38.7, "lon": -9.1, "mag": 6.4,
                                                                   "time": now_ms - 60000})))
    assert poll(app) == 3
    assert feed_row(app, broken).consecutive_failures == 1 and "JSON" in feed_row(app, broken).last_error
    assert feed_row(app, down).consecutive_failures == 1 and "500" in feed_row(app, down).last_error
    ok = feed_row(app, good)
    assert ok.consecutive_failures == 0 and ok.last_ok_at and ok.etag
    assert count(app, Incident) == 1
    poll(app)
    assert fake_feeds.hits("/usgs.json")[-1].get("If-None-Match") == ok.etag  # conditional GET: a 304
    assert feed_row(app, broken).consecutive_failures == 2 and count(app, Hazard) == 1


def test_gdacs_and_cap_index_feeds_are_polled_too(app, fake_feeds):
    from tests.hazards.conftest import FEEDS

    add_feed(app, fake_feeds.publish("/gdacs.xml", (FEEDS / "gdacs" / "gdacs_rss_2019-12-30.xml").read_bytes()), "gdacs", "GDACS")
    meteoalarm = (FEEDS / "cap" / "index" / "meteoalarm_atom_france_2022-12-08.xml").read_bytes()
    local = meteoalarm.replace(b"https://feeds.meteoalarm.org/api/v1/warnings", fake_feeds.url("/warnings").encode())
    add_feed(app, fake_feeds.publish("/fr.xml", local), "cap_index", "MeteoAlarm FR")
    poll(app)
    assert count(app, Hazard, Hazard.source == "gdacs") == 16
    assert count(app, Hazard, Hazard.source == "cap") == 12  # documents not found: the index summaries stand
    assert len([p for p, _ in fake_feeds.requests if p.startswith("/warnings/")]) == 12
