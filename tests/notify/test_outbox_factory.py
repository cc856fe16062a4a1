"""The outbox stores what would have been sent; the factory picks providers from config."""
import pytest
from sqlalchemy import select
from sqlalchemy.orm import scoped_session

from notify.errors import NotifyError
from notify.models import OutboxMessage
from notify.providers import EmailBatch, EmailProvider, EmailRecipient, SmsMessage, SmsProvider, apply_substitutions
from notify.providers.factory import build_providers
from notify.providers.outbox import OutboxEmail, OutboxSms
from notify.providers.sendgrid_provider import SendGridEmail
from notify.providers.twilio_provider import TwilioSms


def test_outbox_email_stores_one_row_per_recipient_with_substitutions_applied(session_factory):
    batch = EmailBatch("en", "Alert for -name-", "Hi -name-: -safe_url-", "<b>-name-</b>", [
        EmailRecipient(10, "a@example.org", {"name": "Ann", "safe_url": "https://x/s/a"}),
        EmailRecipient(11, "b@example.org", {"-name-": "Bob"}),
    ])
    results = OutboxEmail(session_factory).send_batch(batch)
    with session_factory() as s:
        rows = list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert [(r.channel, r.to, r.subject, r.body, r.html, r.delivery_id) for r in rows] == [
        ("email", "a@example.org", "Alert for Ann", "Hi Ann: https://x/s/a", "<b>Ann</b>", 10),
        ("email", "b@example.org", "Alert for Bob", "Hi Bob: -safe_url-", "<b>Bob</b>", 11),
    ]
    assert [(r.delivery_id, r.ok, r.provider_message_id) for r in results] == [
        (10, True, f"outbox-{rows[0].id}"), (11, True, f"outbox-{rows[1].id}")]


def test_outbox_sms_stores_the_message(session_factory):
    result = OutboxSms(session_factory).send(SmsMessage(5, "+33612345678", "Répondez 1"))
    with session_factory() as s:
        row = s.scalars(select(OutboxMessage)).one()
    assert (row.channel, row.to, row.body, row.delivery_id) == ("sms", "+33612345678", "Répondez 1", 5)
    assert result.ok and result.provider_message_id == f"outbox-{row.id}"


def test_outbox_works_with_a_thread_scoped_session(session_factory):
    scoped = scoped_session(session_factory)
    OutboxSms(scoped).send(SmsMessage(1, "+33612345678", "x"))
    assert scoped().scalars(select(OutboxMessage)).one().body == "x"
    scoped.remove()


def test_substitution_values_are_not_substituted_again():
    assert apply_substitutions("-a- -b-", {"a": "-b-", "b": "B"}) == "-b- B"


def test_substitution_prefers_the_longest_name():
    assert apply_substitutions("-name_fr-", {"name": "X", "name_fr": "Y"}) == "Y"


BASE = {"PUBLIC_BASE_URL": "https://consular.example", "SENDGRID_API_BASE_URL": "https://api.sendgrid.com",
        "SENDGRID_FROM": "alerts@consular.example"}


def test_no_provider_keys_means_the_outbox_for_both(session_factory):
    email, sms = build_providers(BASE, session_factory)
    assert (email.name, sms.name) == ("outbox", "outbox")
    assert isinstance(email, EmailProvider) and isinstance(sms, SmsProvider)


def test_keys_select_sendgrid_and_twilio_with_the_status_callback():
    config = {**BASE, "SENDGRID_API_KEY": "SG.k", "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
              "TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM": "+15005550006",
              "TWILIO_API_BASE_URL": "http://127.0.0.1:9999/"}
    email, sms = build_providers(config, None)
    assert isinstance(email, SendGridEmail) and isinstance(sms, TwilioSms)
    assert sms.status_callback == "https://consular.example/webhooks/twilio/status"
    assert sms.client.api.base_url == "http://127.0.0.1:9999"


def test_twilio_needs_both_sid_and_token(session_factory):
    _, sms = build_providers({**BASE, "TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_FROM": "+1"}, session_factory)
    assert sms.name == "outbox"


def test_twilio_without_a_sender_is_a_configuration_error():
    config = {**BASE, "TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "t"}
    with pytest.raises(NotifyError) as err:
        build_providers(config, None)
    assert "TWILIO_FROM" in err.value.message
