"""The alert goes out through the real SDKs to the fake SendGrid and Twilio, and their
signed callbacks (status, events, replies) come back: the whole provider loop."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from notify.models import ContactHealth, Delivery
from tests.emergency.provider_helpers import (
    PUBLIC,
    client_transport,
    provider_config,
    send_alert,
    start_fakes,
)


@pytest.fixture
def fakes(request):
    options = getattr(request, "param", {})
    sendgrid, twilio = start_fakes(**options)
    yield sendgrid, twilio
    sendgrid.stop()
    twilio.stop()


@pytest.fixture
def app_overrides(fakes):
    return provider_config(*fakes)


@pytest.fixture
def people(make_traveller):
    return {"zoe": make_traveller("Zoé", email="zoe@example.org", phone="+33 6 12 34 56 78", language="fr"),
            "ann": make_traveller("Ann", email="ann@example.org", phone="+351 912 345 678", language="en")}


def deliveries(app, alert_id):
    with app.app_context():
        from emergency.core.database import db_session

        return {(d.recipient_id, d.channel): d for d in db_session().scalars(
            select(Delivery).where(Delivery.campaign_id == alert_id))}


def test_alert_goes_through_the_sdks_with_delivery_ids_and_comes_back_delivered(client, app, fakes, people):
    sendgrid, twilio = fakes
    alert_id = send_alert(client, app)
    sent = deliveries(app, alert_id)
    assert {d.status for d in sent.values()} == {"sent"}

    # SendGrid: every email delivery is one personalization naming its delivery id.
    emails = {(p["to"][0]["email"], p["custom_args"]["delivery_id"]) for p in sendgrid.personalizations()}
    assert emails == {(sent[(people[n], "email")].address, str(sent[(people[n], "email")].id)) for n in people}
    # Twilio: one message per SMS delivery, from our number, with its own signed callback URL
    # and the validity period after which a stale warning is not worth delivering.
    assert sorted((m["to"], m["from"], m["_status_callback"], m["_validity_period"]) for m in twilio.messages) == sorted(
        (d.address, "+15005550006", f"{PUBLIC}/webhooks/twilio/status?d={d.id}", "3600")
        for (_, channel), d in sent.items() if channel == "sms")
    assert all(d.provider_message_id for d in sent.values())

    transport = client_transport(client)
    answered = sendgrid.flush_callbacks(transport) + twilio.flush_callbacks(transport)
    assert answered and {c.status for c in answered} <= {200, 204}
    assert {d.status for d in deliveries(app, alert_id).values()} == {"delivered"}


def test_repeated_status_callbacks_change_nothing(client, app, fakes, people):
    _sendgrid, twilio = fakes
    alert_id = send_alert(client, app, channels=["sms"])
    transport = client_transport(client)
    first = twilio.flush_callbacks(transport)
    for callback in first:  # Twilio retries: the very same signed requests again
        twilio._send(callback, transport)
    assert {c.status for c in first} == {204}
    assert {d.status for d in deliveries(app, alert_id).values()} == {"delivered"}


def test_a_callback_names_its_delivery_even_when_the_worker_died_before_recording_the_sid(client, app, fakes, people):
    _sendgrid, twilio = fakes
    alert_id = send_alert(client, app, channels=["sms"])
    with app.app_context():  # as if the worker died after Twilio accepted, before recording
        from emergency.core.database import db_session

        session = db_session()
        for d in session.scalars(select(Delivery).where(Delivery.campaign_id == alert_id)):
            d.status, d.provider_message_id = "sending", None
        session.commit()
    twilio.flush_callbacks(client_transport(client))
    after = deliveries(app, alert_id)
    assert {d.status for d in after.values()} == {"delivered"}
    assert {d.provider_message_id for d in after.values()} == {m["sid"] for m in twilio.messages}


@pytest.mark.parametrize("fakes", [{"bounces": ["zoe@example.org"]}], indirect=True)
def test_a_bounce_marks_the_address_bad_and_sends_the_sms_instead(client, app, fakes, people):
    sendgrid, twilio = fakes
    alert_id = send_alert(client, app, channels=["email"])
    assert twilio.messages == []
    sendgrid.flush_callbacks(client_transport(client))

    after = deliveries(app, alert_id)
    assert after[(people["zoe"], "email")].status == "failed"
    assert after[(people["zoe"], "sms")].status == "sent"
    assert (people["ann"], "sms") not in after
    assert [m["to"] for m in twilio.messages] == ["+33612345678"]
    with app.app_context():
        from emergency.core.database import db_session

        bad = db_session().execute(select(ContactHealth.channel, ContactHealth.address, ContactHealth.status)).all()
    assert bad == [("email", "zoe@example.org", "bad")]

    # The same bounce reported again: no second SMS.
    sendgrid.flush_callbacks(client_transport(client))
    for callback in [c for c in sendgrid.callbacks if c.kind == "events"]:
        sendgrid._send(callback, client_transport(client))
    assert len(twilio.messages) == 1

    # The next alert no longer emails the bad address.
    later = send_alert(client, app, channels=["email"])
    assert set(deliveries(app, later)) == {(people["ann"], "email")}


@pytest.mark.parametrize("fakes", [{"undeliverable": ["+351912345678"]}], indirect=True)
def test_an_undelivered_sms_marks_the_number_bad_and_sends_the_email_instead(client, app, fakes, people):
    sendgrid, twilio = fakes
    alert_id = send_alert(client, app, channels=["sms"])
    assert sendgrid.mails == []
    twilio.flush_callbacks(client_transport(client))

    after = deliveries(app, alert_id)
    assert after[(people["ann"], "sms")].status == "failed"
    assert "30003" in after[(people["ann"], "sms")].error
    assert after[(people["zoe"], "sms")].status == "delivered"
    assert after[(people["ann"], "email")].status == "sent"
    assert [p["to"][0]["email"] for p in sendgrid.personalizations()] == ["ann@example.org"]


def test_no_fallback_when_the_other_channel_was_already_used(client, app, fakes, people):
    sendgrid, twilio = fakes
    twilio.undeliverable.add("+351912345678")
    alert_id = send_alert(client, app, channels=["email", "sms"])
    twilio.flush_callbacks(client_transport(client))
    assert len(sendgrid.personalizations()) == 2  # Ann's email had gone already: not sent twice
    assert deliveries(app, alert_id)[(people["ann"], "sms")].status == "failed"


def test_an_sms_reply_from_the_fake_is_signed_and_answered_in_the_travellers_language(client, app, fakes, people):
    _sendgrid, twilio = fakes
    send_alert(client, app, channels=["sms"])
    answer = twilio.reply("+33612345678", "oui", transport=client_transport(client))
    assert answer.status == 200
    assert answer.response.index("en sécurité") < answer.response.index("you are safe")


def test_a_status_callback_with_a_forged_delivery_id_is_refused(client, app, fakes, people):
    _sendgrid, twilio = fakes
    alert_id = send_alert(client, app, channels=["sms"])
    callback = twilio.status_callback(twilio.messages[0], "undelivered")
    callback.url = callback.url.rsplit("=", 1)[0] + "=999999"  # signature was for the real id
    status, _ = client_transport(client)(callback.url, callback.body, callback.headers)
    assert status == 403
    assert "failed" not in {d.status for d in deliveries(app, alert_id).values()}


def test_a_throttled_batch_is_retried_later_under_an_attempt_id_never_before_retry_after(
        client, app, fakes, people, monkeypatch):
    _sendgrid, twilio = fakes
    import emergency.jobs.retries as sending

    scheduled = []
    real = sending.enqueue_in
    monkeypatch.setattr(sending, "enqueue_in", lambda delay, *a, **kw: scheduled.append((delay, kw["job_id"]))
                        or real(0, *a, **kw))
    twilio.retry_after = "9"
    twilio.fail_next(1, 429)
    alert_id = send_alert(client, app, channels=["sms"])
    assert [job_id for _, job_id in scheduled] == [f"alert-{alert_id}-sms-0-a1"]
    assert scheduled[0][0] >= 9
    assert sorted(twilio.delivery_ids()) == sorted(str(d.id) for d in deliveries(app, alert_id).values())
    assert {d.status for d in deliveries(app, alert_id).values()} == {"sent"}
