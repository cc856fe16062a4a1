"""Twilio provider: the real SDK against the local fake Twilio server."""
import pytest

from notify.providers.base import SmsMessage
from notify.providers.twilio_provider import TwilioSms, is_retryable


@pytest.fixture
def provider(fake_twilio):
    return TwilioSms(fake_twilio.account_sid, fake_twilio.auth_token, from_number="+15005550006",
                     base_url=fake_twilio.base_url,
                     status_callback="https://consular.example/webhooks/twilio/status")


def test_message_is_created_with_sender_body_and_status_callback(provider, fake_twilio):
    result = provider.send(SmsMessage(7, "+33612345678", "Séisme: êtes-vous en sécurité ? Répondez 1 ou 2"))
    assert result.ok and result.delivery_id == 7
    assert result.provider_message_id.startswith("SM")
    sent = fake_twilio.messages[0]
    assert (sent["to"], sent["from"], sent["sid"]) == ("+33612345678", "+15005550006", result.provider_message_id)
    assert sent["body"] == "Séisme: êtes-vous en sécurité ? Répondez 1 ou 2"
    assert sent["_status_callback"] == "https://consular.example/webhooks/twilio/status?d=7"


def test_messaging_service_is_used_instead_of_a_number_when_given(fake_twilio):
    provider = TwilioSms(fake_twilio.account_sid, fake_twilio.auth_token,
                         messaging_service_sid="MG" + "2" * 32, base_url=fake_twilio.base_url,
                         validity_period=3600)
    assert provider.send(SmsMessage(1, "+33612345678", "hi")).ok
    sent = fake_twilio.messages[0]
    assert sent["messaging_service_sid"] == "MG" + "2" * 32 and sent["from"] is None
    assert sent["_validity_period"] == "3600"


def test_a_sender_is_required():
    with pytest.raises(ValueError):
        TwilioSms("AC" + "1" * 32, "token")


def test_opted_out_number_fails_for_good(provider):
    result = provider.send(SmsMessage(1, "+15005550004", "hi"))
    assert (result.ok, result.retryable) == (False, False)
    assert "21610" in result.error


def test_invalid_number_fails_for_good(provider):
    result = provider.send(SmsMessage(1, "+15005550001", "hi"))
    assert (result.ok, result.retryable) == (False, False)
    assert "21211" in result.error


def test_too_many_requests_is_retryable(provider, fake_twilio):
    fake_twilio.fail_next(1, status=429)
    result = provider.send(SmsMessage(1, "+33612345678", "hi"))
    assert (result.ok, result.retryable) == (False, True)
    assert fake_twilio.messages == []
    assert provider.send(SmsMessage(1, "+33612345678", "hi")).ok  # the next call goes through


def test_server_error_is_retryable(provider, fake_twilio):
    fake_twilio.fail_next(1, status=500)
    assert provider.send(SmsMessage(1, "+33612345678", "hi")).retryable


def test_wrong_credentials_fail_for_good(fake_twilio):
    provider = TwilioSms(fake_twilio.account_sid, "wrong", from_number="+15005550006",
                         base_url=fake_twilio.base_url)
    result = provider.send(SmsMessage(1, "+33612345678", "hi"))
    assert (result.ok, result.retryable) == (False, False)
    assert "20003" in result.error


def test_unreachable_server_is_retryable():
    provider = TwilioSms("AC" + "1" * 32, "t", from_number="+15005550006",
                         base_url="http://127.0.0.1:9", timeout=5)
    result = provider.send(SmsMessage(1, "+33612345678", "hi"))
    assert (result.ok, result.retryable) == (False, True)


@pytest.mark.parametrize("status, code, expected", [
    (429, 20429, True), (500, None, True), (503, 20503, True), (400, 21610, False),
    (400, 21211, False), (400, 21614, False), (401, 20003, False), (404, 20404, False),
])
def test_retryable_classification(status, code, expected):
    assert is_retryable(status, code) is expected


def test_number_that_replied_stop_fails_for_good(provider, fake_twilio):
    fake_twilio.opted_out.add("+33687654321")
    result = provider.send(SmsMessage(3, "+33687654321", "hi"))
    assert (result.ok, result.retryable, result.delivery_id) == (False, False, 3)
    assert "21610" in result.error
