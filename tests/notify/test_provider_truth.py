"""Before a message claimed by a dead worker is sent again, the provider is asked whether it
already took it: Twilio's Messages list, SendGrid's Email Activity API (by the send id each
request carries), the outbox's own table. The real SDKs against the local fakes."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from common.clock import utcnow
from notify.delivery import create_deliveries, send_email_batch, send_id, send_sms_batch, settle_orphans
from notify.errors import ProviderUnsure, RetryLater
from notify.models import Delivery, OutboxMessage
from notify.providers.base import EmailBatch, EmailRecipient, SmsMessage
from notify.providers.outbox import OutboxEmail, OutboxSms
from notify.providers.sendgrid_provider import SendGridEmail
from notify.providers.twilio_provider import TwilioSms

SIZES = {"email": 10, "sms": 10}
BODY = "Floods in Lisbon: are you safe? Reply 1 or 2"


@pytest.fixture
def twilio(fake_twilio):
    return TwilioSms(fake_twilio.account_sid, fake_twilio.auth_token, from_number="+15005550006",
                     base_url=fake_twilio.base_url)


@pytest.fixture
def sendgrid(fake_sendgrid):
    return SendGridEmail("SG.test-key", host=fake_sendgrid.base_url, from_email="alerts@consular.example")


def render_sms(delivery):
    return SmsMessage(delivery.id, delivery.address, BODY)


def render_email(deliveries):
    return [EmailBatch("en", "Floods", "Are you safe?", None, [EmailRecipient(d.id, d.address) for d in deliveries])]


def orphan(session, channel, n, claimed_ago=timedelta(minutes=1)):
    """`n` rows of campaign 1 claimed by a worker that died `claimed_ago`: (rows, claim time)."""
    addresses = [f"+3361234{i:04d}" if channel == "sms" else f"p{i}@example.org" for i in range(n)]
    create_deliveries(session, 1, [(i, channel, a, "en") for i, a in enumerate(addresses)], SIZES)
    claimed_at = utcnow() - claimed_ago
    session.execute(update(Delivery).values(status="sending", claimed_at=claimed_at, attempts=1))
    session.commit()
    return list(session.scalars(select(Delivery).order_by(Delivery.id))), claimed_at


def statuses(session):
    session.expire_all()
    return [(d.status, d.provider_message_id) for d in session.scalars(select(Delivery).order_by(Delivery.id))]


# --- Twilio ----------------------------------------------------------------------------------
def test_twilio_lists_what_it_took_for_a_number_since_the_claim(twilio, fake_twilio):
    since = utcnow() - timedelta(seconds=5)
    accepted = twilio.send(SmsMessage(1, "+33612340000", BODY))
    twilio.send(SmsMessage(2, "+33612340001", BODY))
    found = twilio.find_sent([SmsMessage(1, "+33612340000", BODY), SmsMessage(3, "+33612340002", BODY)], since)
    assert found == {1: accepted.provider_message_id}
    listing = [r for r in fake_twilio.requests if r.method == "GET"]
    assert len(listing) == 2 and "To=%2B33612340000" in listing[0].path and "DateSent%3E=" in listing[0].path


def test_twilio_matches_on_the_body_and_never_gives_a_message_already_ours(twilio):
    since = utcnow() - timedelta(seconds=5)
    first = twilio.send(SmsMessage(1, "+33612340000", BODY)).provider_message_id
    twilio.send(SmsMessage(2, "+33612340000", "Another alert"))
    # two travellers sharing one number, and the first one's message already recorded as ours
    assert twilio.find_sent([SmsMessage(3, "+33612340000", BODY)], since, exclude={first}) == {}
    assert twilio.find_sent([SmsMessage(3, "+33612340000", BODY)], since) == {3: first}


def test_twilio_ignores_messages_created_before_the_claim(twilio):
    twilio.send(SmsMessage(1, "+33612340000", BODY))
    assert twilio.find_sent([SmsMessage(1, "+33612340000", BODY)], utcnow() + timedelta(seconds=5)) == {}


def test_twilio_not_answering_the_list_is_unsure_not_a_no(twilio, fake_twilio):
    fake_twilio.fail_next(1, 503)
    with pytest.raises(ProviderUnsure):
        twilio.find_sent([SmsMessage(1, "+33612340000", BODY)], utcnow())


# --- SendGrid --------------------------------------------------------------------------------
def test_each_sendgrid_request_carries_the_send_id_of_its_batch(sendgrid, fake_sendgrid):
    batch = render_email([Delivery(id=1, address="p1@example.org")])[0]
    batch.send_id = "c1-b0-t42"
    sendgrid.send_batches([batch])
    assert fake_sendgrid.mails[0]["custom_args"] == {"send_id": "c1-b0-t42"}


def test_sendgrid_email_activity_names_the_recipients_of_a_send(sendgrid, fake_sendgrid):
    batch = EmailBatch("en", "Floods", "Are you safe?", None,
                       [EmailRecipient(1, "p1@example.org"), EmailRecipient(2, "p2@example.org")], send_id="c1-b0-t42")
    sendgrid.send_batch(batch)
    other = EmailBatch("en", "Floods", "Are you safe?", None, [EmailRecipient(3, "p3@example.org")], send_id="c1-b0-t43")
    sendgrid.send_batch(other)
    found = sendgrid.find_sent([EmailRecipient(1, "p1@example.org"), EmailRecipient(2, "P2@example.org"),
                                EmailRecipient(3, "p3@example.org")], "c1-b0-t42")
    assert set(found) == {1, 2} and all(v.startswith(fake_sendgrid.message_ids[0]) for v in found.values())
    query = [r for r in fake_sendgrid.requests if r.method == "GET"][0].path
    assert query.startswith("/v3/messages?") and "unique_args" in query


def test_without_the_email_activity_add_on_sendgrid_cannot_tell(fake_sendgrid, sendgrid):
    fake_sendgrid.email_activity = False
    assert sendgrid.find_sent([EmailRecipient(1, "p1@example.org")], "c1-b0-t42") is None


def test_sendgrid_not_answering_is_unsure_not_a_no(fake_sendgrid, sendgrid):
    fake_sendgrid.fail_next(1, 500)
    with pytest.raises(ProviderUnsure):
        sendgrid.find_sent([EmailRecipient(1, "p1@example.org")], "c1-b0-t42")


# --- settling orphans ------------------------------------------------------------------------
def test_orphans_twilio_took_are_recorded_sent_and_only_the_others_are_sent_again(session, twilio, fake_twilio):
    rows, claimed_at = orphan(session, "sms", 4)
    # the dead worker's calls for the first two reached Twilio; their answers died with it
    taken = [twilio.send(render_sms(d)).provider_message_id for d in rows[:2]]
    results = send_sms_batch(session, 1, 0, twilio, render_sms, orphans_before=utcnow())
    assert sorted(r.delivery_id for r in results) == [d.id for d in rows[2:]]
    assert statuses(session)[:2] == [("sent", taken[0]), ("sent", taken[1])]
    assert {s for s, _ in statuses(session)} == {"sent"}
    sent_to = [m["to"] for m in fake_twilio.messages]
    assert sorted(sent_to) == sorted(d.address for d in rows)  # each number once


def test_claims_younger_than_the_cutoff_are_not_orphans(session, twilio, fake_twilio):
    rows, claimed_at = orphan(session, "sms", 2)
    assert settle_orphans(session, 1, "sms", 0, twilio, render_sms, orphans_before=claimed_at) == 0
    assert {s for s, _ in statuses(session)} == {"sending"} and fake_twilio.requests == []


def test_when_twilio_cannot_answer_now_the_orphans_wait_with_their_claim_time(session, twilio, fake_twilio):
    rows, claimed_at = orphan(session, "sms", 2)
    fake_twilio.fail_next(1, 500)
    with pytest.raises(RetryLater):
        send_sms_batch(session, 1, 0, twilio, render_sms, orphans_before=utcnow())
    session.expire_all()
    assert {d.status for d in session.scalars(select(Delivery))} == {"sending"}
    assert fake_twilio.messages == []
    # asked again later, Twilio answers: nothing was taken, both are sent once
    send_sms_batch(session, 1, 0, twilio, render_sms, orphans_before=utcnow())
    assert sorted(m["to"] for m in fake_twilio.messages) == sorted(d.address for d in rows)


def test_email_orphans_of_a_send_sendgrid_took_are_not_sent_again(session, sendgrid, fake_sendgrid):
    rows, claimed_at = orphan(session, "email", 3)
    dead = EmailBatch("en", "Floods", "Are you safe?", None, [EmailRecipient(d.id, d.address) for d in rows[:2]],
                      send_id=send_id(1, 0, rows[0].claimed_at))
    sendgrid.send_batch(dead)  # the request of the dead worker: SendGrid took it
    send_email_batch(session, 1, 0, sendgrid, render_email, orphans_before=utcnow())
    assert {s for s, _ in statuses(session)} == {"sent"}
    assert sorted(fake_sendgrid.delivery_ids()) == sorted(str(d.id) for d in rows)  # each once


def test_without_email_activity_the_orphans_are_sent_again(session, sendgrid, fake_sendgrid):
    fake_sendgrid.email_activity = False
    rows, claimed_at = orphan(session, "email", 2)
    send_email_batch(session, 1, 0, sendgrid, render_email, orphans_before=utcnow())
    assert {s for s, _ in statuses(session)} == {"sent"} and len(fake_sendgrid.delivery_ids()) == 2


def test_the_outbox_knows_what_it_stored(session, session_factory):
    rows, claimed_at = orphan(session, "sms", 2)
    outbox = OutboxSms(session_factory)
    stored = outbox.send(render_sms(rows[0]))
    send_sms_batch(session, 1, 0, outbox, render_sms, orphans_before=utcnow())
    assert statuses(session)[0] == ("sent", stored.provider_message_id)
    assert session.scalar(select(OutboxMessage.id).where(OutboxMessage.delivery_id == rows[1].id)) is not None
    assert len(session.scalars(select(OutboxMessage)).all()) == 2


def test_the_email_outbox_knows_what_it_stored(session, session_factory):
    rows, claimed_at = orphan(session, "email", 1)
    outbox = OutboxEmail(session_factory)
    assert outbox.find_sent([EmailRecipient(rows[0].id, rows[0].address)]) == {}
    outbox.send_batch(render_email(rows)[0])
    assert set(outbox.find_sent([EmailRecipient(rows[0].id, rows[0].address)])) == {rows[0].id}
