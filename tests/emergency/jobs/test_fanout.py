"""prepare_alert streams the recipient list in slices: batches mix languages (one SendGrid
request per batch whatever the split), every traveller gets one delivery per channel, and a
rerun adds none."""
from __future__ import annotations

from collections import defaultdict

import pytest
from sqlalchemy import select

from notify.models import Delivery
from tests.conftest import api_headers, stop


@pytest.fixture
def app_overrides():
    return {"EMAIL_BATCH_SIZE": 2, "SMS_BATCH_SIZE": 2}


@pytest.fixture
def sent_alert(client, app, make_traveller, make_incident, monkeypatch):
    from emergency.jobs import fanout as tasks

    monkeypatch.setattr(tasks, "_SLICE_BATCHES", 1)  # several slices per language
    headers = api_headers(app)
    for i in range(8):
        lang = "fr" if i in (1, 4, 6) else "en"
        make_traveller(f"T{i}", email=f"t{i}@example.org", phone=f"+33 6 12 34 56 7{i}", language=lang,
                       stops=[stop("FR", place="Paris", days_before=0, days_after=2)])
    incident_id = make_incident("Paris", lat=48.85, lon=2.35, radius_km=20)
    alert = client.post(f"/api/v1/incidents/{incident_id}/alerts", headers=headers, json={}).get_json()
    assert client.post(f"/api/v1/alerts/{alert['id']}/send", headers=headers).status_code == 202
    return alert["id"]


def rows(app, alert_id):
    with app.app_context():
        from emergency.core.database import db_session

        return db_session().execute(select(Delivery.recipient_id, Delivery.channel, Delivery.batch,
                                           Delivery.language, Delivery.status)
                                    .where(Delivery.campaign_id == alert_id)).all()


def test_batches_mix_languages_and_everyone_is_sent_once_per_channel(app, sent_alert):
    found = rows(app, sent_alert)
    assert len(found) == 16 and {r.status for r in found} == {"sent"}
    assert len({(r.recipient_id, r.channel) for r in found}) == 16
    languages = defaultdict(set)
    sizes = defaultdict(int)
    for r in found:
        languages[(r.channel, r.batch)].add(r.language)
        sizes[(r.channel, r.batch)] += 1
    # 5 English and 3 French per channel, two per batch whatever the language: 4 batches each
    assert sorted(b for c, b in sizes if c == "email") == [0, 1, 2, 3]
    assert set(sizes.values()) == {2}
    assert any(len(langs) == 2 for (channel, _), langs in languages.items() if channel == "email")


def test_preparing_the_same_alert_again_creates_no_delivery(app, sent_alert):
    before = rows(app, sent_alert)
    with app.app_context():
        from emergency.jobs.fanout import prepare_alert

        prepare_alert(sent_alert)
    assert sorted(rows(app, sent_alert)) == sorted(before)
