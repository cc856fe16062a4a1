"""SendGrid provider: the real SDK against the local fake SendGrid server."""
import pytest

from notify.providers.base import EmailBatch, EmailRecipient
from notify.providers.sendgrid_provider import SendGridEmail, chunk_recipients


def make_batch(recipients, html="<p>Hello -name-, <a href='-safe_url-'>I am safe</a></p>"):
    return EmailBatch("en", "Alert for -name-", "Hello -name-, tap -safe_url-", html, recipients)


def recipients(n, start=1):
    return [EmailRecipient(i, f"traveller{i}@example.org", {"name": f"T{i}", "safe_url": f"https://x/s/{i}"})
            for i in range(start, start + n)]


@pytest.fixture
def provider(fake_sendgrid):
    return SendGridEmail("SG.test-key", host=fake_sendgrid.base_url, from_email="alerts@consular.example")


def test_batch_is_one_request_with_a_personalization_per_recipient_in_order(provider, fake_sendgrid):
    results = provider.send_batch(make_batch(recipients(3)))
    assert [r.ok for r in results] == [True, True, True]
    assert len(fake_sendgrid.mails) == 1
    persons = fake_sendgrid.personalizations()
    assert [p["to"] for p in persons] == [[{"email": f"traveller{i}@example.org"}] for i in (1, 2, 3)]


def test_each_personalization_carries_its_delivery_id_and_substitutions(provider, fake_sendgrid):
    provider.send_batch(make_batch(recipients(2, start=41)))
    persons = fake_sendgrid.personalizations()
    assert [p["custom_args"] for p in persons] == [{"delivery_id": "41"}, {"delivery_id": "42"}]
    assert persons[0]["substitutions"] == {"-name-": "T41", "-safe_url-": "https://x/s/41"}


def test_content_is_text_then_html_with_the_placeholders_kept(provider, fake_sendgrid):
    provider.send_batch(make_batch(recipients(1)))
    mail = fake_sendgrid.mails[0]
    assert [c["type"] for c in mail["content"]] == ["text/plain", "text/html"]
    assert mail["subject"] == "Alert for -name-"
    assert "-safe_url-" in mail["content"][0]["value"]


def test_text_only_batch_sends_only_text(provider, fake_sendgrid):
    provider.send_batch(make_batch(recipients(1), html=None))
    assert [c["type"] for c in fake_sendgrid.mails[0]["content"]] == ["text/plain"]


def test_message_ids_combine_the_x_message_id_and_the_delivery_id(provider, fake_sendgrid):
    results = provider.send_batch(make_batch(recipients(2)))
    x_message_id = fake_sendgrid.message_ids[0]
    assert [r.provider_message_id for r in results] == [f"{x_message_id}.1", f"{x_message_id}.2"]


def test_more_than_1000_recipients_go_in_several_requests(provider, fake_sendgrid):
    results = provider.send_batch(make_batch(recipients(1001)))
    assert all(r.ok for r in results) and len(results) == 1001
    assert [len(m["personalizations"]) for m in fake_sendgrid.mails] == [1000, 1]


def test_shared_address_goes_to_a_second_request_because_sendgrid_refuses_duplicates(provider, fake_sendgrid):
    family = [EmailRecipient(1, "home@example.org"), EmailRecipient(2, "HOME@example.org"),
              EmailRecipient(3, "other@example.org")]
    results = provider.send_batch(make_batch(family))
    assert all(r.ok for r in results)
    assert [len(m["personalizations"]) for m in fake_sendgrid.mails] == [2, 1]


def test_chunks_never_exceed_the_size_or_repeat_an_address():
    rs = [EmailRecipient(i, f"p{i % 3}@example.org") for i in range(9)]
    chunks = chunk_recipients(rs, size=2)
    assert all(len(c) <= 2 for c in chunks)
    assert all(len({r.to for r in c}) == len(c) for c in chunks)
    assert sorted(r.delivery_id for c in chunks for r in c) == list(range(9))


def test_too_many_requests_is_a_retryable_failure_for_every_recipient(provider, fake_sendgrid):
    fake_sendgrid.fail_next(1, status=429)
    results = provider.send_batch(make_batch(recipients(2)))
    assert [(r.ok, r.retryable) for r in results] == [(False, True), (False, True)]
    assert "429" in results[0].error
    assert fake_sendgrid.mails == []


def test_server_error_is_retryable(provider, fake_sendgrid):
    fake_sendgrid.fail_next(1, status=503)
    assert provider.send_batch(make_batch(recipients(1)))[0].retryable


def test_bad_request_fails_for_good_with_sendgrids_error(provider):
    results = provider.send_batch(make_batch([EmailRecipient(1, "not-an-address")]))
    assert (results[0].ok, results[0].retryable) == (False, False)
    assert "valid address" in results[0].error


def test_wrong_api_key_fails_without_sending(fake_sendgrid):
    provider = SendGridEmail("SG.wrong", host=fake_sendgrid.base_url, from_email="alerts@consular.example")
    result = provider.send_batch(make_batch(recipients(1)))[0]
    assert (result.ok, result.retryable) == (False, False)
    assert "401" in result.error and fake_sendgrid.mails == []


def test_unreachable_server_is_retryable():
    provider = SendGridEmail("SG.test-key", host="http://127.0.0.1:9", from_email="a@consular.example", timeout=5)
    result = provider.send_batch(make_batch(recipients(1)))[0]
    assert (result.ok, result.retryable) == (False, True)


def test_sandbox_mode_is_sent_as_a_boolean(fake_sendgrid):
    provider = SendGridEmail("SG.test-key", host=fake_sendgrid.base_url,
                             from_email="alerts@consular.example", sandbox=True)
    assert provider.send_batch(make_batch(recipients(1)))[0].ok
    assert fake_sendgrid.mails[0]["mail_settings"] == {"sandbox_mode": {"enable": True}}


def test_empty_batch_sends_no_request(fake_sendgrid):
    provider = SendGridEmail("SG.test-key", host=fake_sendgrid.base_url, from_email="alerts@consular.example")
    results = provider.send_batch(EmailBatch("en", "s", "t", None, []))
    assert results == [] and fake_sendgrid.requests == []
