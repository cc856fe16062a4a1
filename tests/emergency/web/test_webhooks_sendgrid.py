"""SendGrid's Event Webhook: verified with its ECDSA helper over the raw body, idempotent on
sg_event_id, and honest about each email (delivered, bounced)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from notify.models import Delivery
from tests.emergency.provider_helpers import client_transport, provider_config, send_alert, start_fakes


@pytest.fixture
def fakes():
    sendgrid, twilio = start_fakes(bounces=["ann@example.org"])
    yield sendgrid, twilio
    sendgrid.stop()
    twilio.stop()


@pytest.fixture
def app_overrides(fakes):
    return provider_config(*fakes)


@pytest.fixture
def emailed(client, app, fakes, make_traveller):
    make_traveller("Zoé", email="zoe@example.org", language="fr")
    make_traveller("Ann", email="ann@example.org", language="en")
    return send_alert(client, app, channels=["email"])


def statuses(app, alert_id):
    with app.app_context():
        from emergency.core.database import db_session

        return dict(db_session().execute(select(Delivery.address, Delivery.status)
                                         .where(Delivery.campaign_id == alert_id)).all())


def post(client, callback, body=None, **header_changes):
    headers = {**callback.headers, **header_changes}
    headers = {k: v for k, v in headers.items() if v is not None}
    return client.post("/webhooks/sendgrid/events", data=body if body is not None else callback.body,
                       headers=headers)


def test_signed_events_mark_delivered_and_bounced(client, app, fakes, emailed):
    sendgrid, _ = fakes
    answers = sendgrid.flush_callbacks(client_transport(client))
    assert {a.status for a in answers} == {200}
    assert statuses(app, emailed) == {"zoe@example.org": "delivered", "ann@example.org": "failed"}


def test_the_same_events_posted_again_apply_nothing(client, app, fakes, emailed):
    sendgrid, _ = fakes
    for first in sendgrid.flush_callbacks(client_transport(client)):
        again = post(client, first)
        assert again.status_code == 200 and again.get_json() == {"applied": 0}


@pytest.mark.parametrize("change", ["tampered", "unsigned", "old-signature-new-time", "garbage-signature"])
def test_events_not_signed_by_sendgrid_are_refused_and_change_nothing(client, app, fakes, emailed, change):
    sendgrid, _ = fakes
    [callback] = [c for c in sendgrid.callbacks if b'"bounce"' in c.body]
    if change == "tampered":
        response = post(client, callback, body=callback.body.replace(b'"bounce"', b'"delivered"'))
    elif change == "unsigned":
        response = post(client, callback, **{"X-Twilio-Email-Event-Webhook-Signature": None})
    elif change == "old-signature-new-time":
        response = post(client, callback, **{"X-Twilio-Email-Event-Webhook-Timestamp": "1"})
    else:
        response = post(client, callback, **{"X-Twilio-Email-Event-Webhook-Signature": "bm90IGEgc2ln"})
    assert response.status_code == 403
    assert set(statuses(app, emailed).values()) == {"sent"}


def test_events_reformatted_after_signing_are_refused(client, app, fakes, emailed):
    sendgrid, _ = fakes
    [callback] = [c for c in sendgrid.callbacks if b'"bounce"' in c.body]
    reserialised = json.dumps(json.loads(callback.body), indent=1).encode()
    assert post(client, callback, body=reserialised).status_code == 403


def test_events_signed_with_another_key_are_refused(client, app, emailed):
    other, twilio = start_fakes()
    try:
        forged = other.events_callback([{"event": "delivered", "sg_event_id": "x1", "delivery_id": "1",
                                         "email": "zoe@example.org"}])
        assert post(client, forged).status_code == 403
    finally:
        other.stop()
        twilio.stop()


def test_events_about_unknown_deliveries_or_without_ids_are_skipped(client, app, fakes, emailed):
    sendgrid, _ = fakes
    forged = sendgrid.events_callback([{"event": "delivered", "sg_event_id": "e1", "delivery_id": "999999"},
                                       {"event": "delivered"}])
    response = post(client, forged)
    assert response.status_code == 200 and response.get_json() == {"applied": 1}
    assert set(statuses(app, emailed).values()) == {"sent"}
