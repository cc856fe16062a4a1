"""The fakes fail like the real providers do and call back like them, with real signatures."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from urllib.parse import parse_qs

import pytest
from twilio.request_validator import RequestValidator

from devtools.fake_providers import FakeSendGrid, FakeTwilio, rebase
from notify.providers.base import EmailBatch, EmailRecipient, SmsMessage
from notify.providers.sendgrid_provider import SendGridEmail
from notify.providers.twilio_provider import TwilioSms
from notify.signatures import sendgrid_signature_valid, twilio_signature_valid

PUBLIC = "https://consular.example"
SID, TOKEN = "AC" + "2" * 32, "token-2"


def twilio_client(fake, **kwargs):
    return TwilioSms(SID, TOKEN, from_number="+15005550006", base_url=fake.base_url,
                     status_callback=PUBLIC + "/webhooks/twilio/status", **kwargs)


def batch(*addresses):
    return EmailBatch("en", "Subject", "Text", None,
                      [EmailRecipient(i + 1, a) for i, a in enumerate(addresses)])


def collect():
    calls = []
    return calls, lambda url, body, headers: calls.append((url, body, headers)) or (204, "")


def test_a_failure_rate_fails_about_that_share_of_calls_reproducibly():
    outcomes = []
    for _ in range(2):
        with FakeTwilio(SID, TOKEN, failure_rate=0.3, failures=(429, 500), seed=7) as fake:
            sms = twilio_client(fake)
            outcomes.append([sms.send(SmsMessage(i, f"+3361234{i:04d}", "hi")).ok for i in range(200)])
    assert outcomes[0] == outcomes[1]
    assert 40 <= outcomes[0].count(False) <= 80


def test_an_injected_429_carries_retry_after_to_the_result():
    with FakeTwilio(SID, TOKEN, retry_after="7") as fake:
        fake.fail_next(1, 429)
        result = twilio_client(fake).send(SmsMessage(1, "+33612345678", "hi"))
    assert (result.ok, result.retryable, result.retry_after) == (False, True, 7.0)
    with FakeSendGrid("SG.k", retry_after="4") as fake:
        fake.fail_next(1, 429)
        results = SendGridEmail("SG.k", host=fake.base_url).send_batch(batch("a@example.org"))
    assert [(r.retryable, r.retry_after) for r in results] == [(True, 4.0)]


def test_a_500_is_retryable_without_a_wait():
    with FakeTwilio(SID, TOKEN) as fake:
        fake.fail_next(1, 500)
        result = twilio_client(fake).send(SmsMessage(1, "+33612345678", "hi"))
    assert (result.retryable, result.retry_after) == (True, None)


def test_an_injected_timeout_is_retryable_and_nothing_was_accepted():
    with FakeTwilio(SID, TOKEN, timeout_seconds=1.0) as fake, FakeSendGrid("SG.k", timeout_seconds=1.0) as grid:
        fake.fail_next(1, "timeout")
        grid.fail_next(1, "timeout")
        sms = twilio_client(fake, timeout=0.2).send(SmsMessage(1, "+33612345678", "hi"))
        emails = SendGridEmail("SG.k", host=grid.base_url, timeout=0.2).send_batch(batch("a@example.org"))
        assert fake.messages == [] and grid.mails == []
    assert sms.retryable and "unreachable" in sms.error
    assert [r.retryable for r in emails] == [True]


def test_twilio_status_callbacks_are_signed_for_the_url_we_gave_and_carry_the_delivery_id():
    with FakeTwilio(SID, TOKEN, undeliverable={"+33700000000"}) as fake:
        sms = twilio_client(fake)
        sms.send(SmsMessage(41, "+33612345678", "hi"))
        sms.send(SmsMessage(42, "+33700000000", "hi"))
        calls, transport = collect()
        fake.flush_callbacks(transport)
    validator = RequestValidator(TOKEN)
    seen = []
    for url, body, headers in calls:
        params = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        assert validator.validate(url, params, headers["X-Twilio-Signature"])
        assert twilio_signature_valid(TOKEN, url, params, headers["X-Twilio-Signature"])
        seen.append((url.rsplit("?", 1)[1], params["MessageStatus"], params.get("ErrorCode")))
    assert seen == [("d=41", "sent", None), ("d=41", "delivered", None),
                    ("d=42", "sent", None), ("d=42", "undelivered", "30003")]


def test_sendgrid_events_are_signed_with_the_published_key_and_carry_custom_args():
    with FakeSendGrid("SG.k", public_base=PUBLIC, bounces={"b@example.org"}, drops={"d@example.org"}) as fake:
        SendGridEmail("SG.k", host=fake.base_url).send_batch(batch("a@example.org", "b@example.org", "d@example.org"))
        calls, transport = collect()
        fake.flush_callbacks(transport)
    [(url, body, headers)] = calls
    assert url == PUBLIC + "/webhooks/sendgrid/events"
    signature = headers["X-Twilio-Email-Event-Webhook-Signature"]
    timestamp = headers["X-Twilio-Email-Event-Webhook-Timestamp"]
    assert sendgrid_signature_valid(fake.public_key, body, signature, timestamp)
    assert not sendgrid_signature_valid(fake.public_key, body.replace(b"delivered", b"bounce"), signature, timestamp)
    events = json.loads(body)
    assert sorted((e["delivery_id"], e["event"]) for e in events) == [
        ("1", "delivered"), ("1", "processed"), ("2", "bounce"), ("2", "processed"),
        ("3", "dropped"), ("3", "processed")]
    assert len({e["sg_event_id"] for e in events}) == 6


def test_a_reply_is_a_signed_inbound_form_posted_to_our_sms_webhook():
    with FakeTwilio(SID, TOKEN, public_base=PUBLIC) as fake:
        calls, transport = collect()
        fake.reply("+33612345678", "ARRÊT", transport=transport)
    [(url, body, headers)] = calls
    params = {k: v[0] for k, v in parse_qs(body.decode()).items()}
    assert url == PUBLIC + "/webhooks/twilio/sms"
    assert (params["From"], params["Body"], params["To"]) == ("+33612345678", "ARRÊT", "+15005550006")
    assert RequestValidator(TOKEN).validate(url, params, headers["X-Twilio-Signature"])


def test_callbacks_are_delivered_to_the_callback_base_but_signed_for_the_public_url():
    assert rebase("https://consular.example/webhooks/twilio/status?d=4", "http://127.0.0.1:5000") == \
        "http://127.0.0.1:5000/webhooks/twilio/status?d=4"
    assert rebase("https://x.example/a", None) == "https://x.example/a"


def test_hold_parks_calls_after_the_given_count_until_released():
    with FakeTwilio(SID, TOKEN) as fake:
        sms = twilio_client(fake)
        fake.hold_after(1)
        results = []
        worker = threading.Thread(target=lambda: results.extend(
            sms.send(SmsMessage(i, f"+3361234000{i}", "hi")) for i in range(3)))
        worker.start()
        assert fake.held.wait(10)
        assert len(fake.messages) == 1
        fake.release(accept=False)
        worker.join(10)
    assert [r.ok for r in results] == [True, False, True]
    assert len(fake.messages) == 2


def test_failure_rate_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError):
        FakeTwilio(failure_rate=1.5)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_cli_runs_both_fakes_and_prints_the_settings_for_the_app():
    grid_port, twilio_port = _free_port(), _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "devtools.fake_providers", "--sendgrid-port", str(grid_port),
                             "--twilio-port", str(twilio_port), "--callback-base", "http://127.0.0.1:9"],
                            stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    try:
        lines = []
        end = time.monotonic() + 30
        while time.monotonic() < end and not any("_fake/reply" in line for line in lines):
            lines.append(proc.stdout.readline())
        output = "".join(lines)
        assert f"SENDGRID_API_BASE_URL='http://127.0.0.1:{grid_port}'" in output
        assert f"TWILIO_API_BASE_URL='http://127.0.0.1:{twilio_port}'" in output
        key = re.search(r"SENDGRID_WEBHOOK_PUBLIC_KEY='([^']+)'", output).group(1)
        assert key.startswith("MFkw")  # base64 DER of a P-256 SubjectPublicKeyInfo
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
