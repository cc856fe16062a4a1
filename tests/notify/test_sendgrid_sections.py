"""Mixed-language SendGrid requests: one request carries several batches (languages, zones)
through `sections`, and every recipient reads exactly what the outbox would store for them."""
from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from notify.delivery import create_deliveries, send_email_batch
from notify.models import Delivery, OutboxMessage
from notify.providers.base import EmailBatch, EmailRecipient
from notify.providers.outbox import OutboxEmail
from notify.providers.sendgrid_provider import SendGridEmail

EN_TEXT = "Safety check: Floods\nAre you safe? -safe_url-\n\nVérification : Inondations\nÊtes-vous en sécurité ? -safe_url-"
FR_TEXT = "Vérification : Inondations\nÊtes-vous en sécurité ? -safe_url-\n\nSafety check: Floods\nAre you safe? -safe_url-"


def recipient(i, lang):
    return EmailRecipient(i, f"{lang}{i}@example.org", {"safe_url": f"https://c.example/r/{i}/safe", "name": f"N{i}"})


def batches(en_ids, fr_ids, html=True):
    return [
        EmailBatch("en", "Floods -name- / Inondations", EN_TEXT,
                   "<p lang='en'>Are you safe? <a href='-safe_url-'>Yes</a></p>" if html else None,
                   [recipient(i, "en") for i in en_ids]),
        EmailBatch("fr", "Inondations -name- / Floods", FR_TEXT,
                   "<p lang='fr'>Êtes-vous en sécurité ? <a href='-safe_url-'>Oui</a></p>" if html else None,
                   [recipient(i, "fr") for i in fr_ids]),
    ]


@pytest.fixture
def provider(fake_sendgrid):
    return SendGridEmail("SG.test-key", host=fake_sendgrid.base_url)


def test_a_mixed_language_batch_is_one_request_and_each_recipient_reads_their_own_language_first(
        provider, fake_sendgrid):
    results = provider.send_batches(batches([1, 3], [2, 4]))
    assert [r.ok for r in results] == [True] * 4
    assert len(fake_sendgrid.mails) == 1
    read = {m["to"]: m for m in fake_sendgrid.rendered}
    assert read["fr2@example.org"]["text"].startswith("Vérification : Inondations\nÊtes-vous en sécurité ? "
                                                      "https://c.example/r/2/safe")
    assert read["en1@example.org"]["text"].startswith("Safety check: Floods\nAre you safe? https://c.example/r/1/safe")
    assert read["fr4@example.org"]["subject"] == "Inondations N4 / Floods"
    assert read["en3@example.org"]["html"] == "<p lang='en'>Are you safe? <a href='https://c.example/r/3/safe'>Yes</a></p>"


def test_the_request_holds_each_language_once_in_sections_not_once_per_recipient(provider, fake_sendgrid):
    provider.send_batches(batches(range(1, 51), range(51, 101)))
    [mail] = fake_sendgrid.mails
    assert [c["value"] for c in mail["content"]] == ["-body_text-", "-body_html-"]
    assert sorted(mail["sections"]) == ["-body_html_en-", "-body_html_fr-", "-body_text_en-", "-body_text_fr-"]
    fr = next(p for p in mail["personalizations"] if p["to"][0]["email"] == "fr51@example.org")
    assert fr["substitutions"]["-body_text-"] == "-body_text_fr-"
    assert fr["custom_args"] == {"delivery_id": "51"}


def test_sendgrid_and_the_outbox_render_exactly_the_same_messages(provider, fake_sendgrid, session_factory):
    provider.send_batches(batches([1, 3, 5], [2, 4]))
    OutboxEmail(session_factory).send_batches(batches([1, 3, 5], [2, 4]))
    with session_factory() as s:
        stored = {(m.to, m.subject, m.body, m.html, str(m.delivery_id)) for m in s.scalars(select(OutboxMessage))}
    sent = {(m["to"], m["subject"], m["text"], m["html"], m["delivery_id"]) for m in fake_sendgrid.rendered}
    assert sent == stored and len(sent) == 5


def test_two_batches_of_one_language_get_separate_sections(provider, fake_sendgrid):
    first, second = batches([1], [2])
    second.language = "en"  # another zone's English message
    provider.send_batches([first, second])
    [mail] = fake_sendgrid.mails
    assert "-body_text_en_2-" in mail["sections"]
    read = {m["to"]: m["text"] for m in fake_sendgrid.rendered}
    assert read["en1@example.org"].startswith("Safety check") and read["fr2@example.org"].startswith("Vérification")


def test_a_single_language_uses_plain_content_without_sections(provider, fake_sendgrid):
    provider.send_batches(batches([1, 2], []))
    [mail] = fake_sendgrid.mails
    assert "sections" not in mail and mail["content"][0]["value"] == EN_TEXT


def test_batches_without_html_are_sent_apart_from_batches_with_html(provider, fake_sendgrid):
    with_html = batches([1], [2])
    without = batches([3], [4], html=False)
    results = provider.send_batches(with_html + without)
    assert all(r.ok for r in results) and len(fake_sendgrid.mails) == 2
    read = {m["to"]: m for m in fake_sendgrid.rendered}
    assert read["fr4@example.org"]["html"] is None and read["fr2@example.org"]["html"].startswith("<p lang='fr'>")


def test_a_shared_mailbox_is_never_twice_in_one_mixed_request(provider, fake_sendgrid):
    en, fr = batches([1], [2])
    fr.recipients[0].to = en.recipients[0].to  # a family's one mailbox, two languages
    results = provider.send_batches([en, fr])
    assert all(r.ok for r in results) and len(fake_sendgrid.mails) == 2
    assert sorted(m["text"][:6] for m in fake_sendgrid.rendered) == ["Safety", "Vérifi"]


def test_1001_mixed_recipients_are_two_requests(provider, fake_sendgrid):
    results = provider.send_batches(batches(range(1, 602), range(602, 1002)))
    assert len(results) == 1001 and all(r.ok for r in results)
    assert [len(m["personalizations"]) for m in fake_sendgrid.mails] == [1000, 1]


def test_recipient_substitutions_may_not_use_the_reserved_body_tags(provider, fake_sendgrid):
    en, fr = batches([1], [2])
    fr.recipients[0].substitutions["body_text"] = "sneaky"
    with pytest.raises(ValueError):
        provider.mixed_request_body([(en, en.recipients[0]), (fr, fr.recipients[0])])


def test_a_refused_mixed_request_fails_every_recipient_in_it(provider, fake_sendgrid):
    fake_sendgrid.fail_next(1, 429)
    results = provider.send_batches(batches([1], [2]))
    assert [(r.ok, r.retryable) for r in results] == [(False, True), (False, True)]


def render_by_language(deliveries):
    """As emergency.services.alert_messages.email_batches does: one EmailBatch per language of the batch."""
    groups: dict[str, list] = {}
    for d in deliveries:
        groups.setdefault(d.language, []).append(d)
    return [EmailBatch(lang, f"Subject {lang}", EN_TEXT if lang == "en" else FR_TEXT, f"<p>{lang} -safe_url-</p>",
                       [EmailRecipient(d.id, d.address, {"safe_url": f"https://c.example/{d.id}"}) for d in group])
            for lang, group in groups.items()]


def test_2500_mixed_language_recipients_take_three_requests_each_delivery_once(provider, fake_sendgrid, session):
    rows = [(i, "email", f"t{i}@example.org", "en" if i % 5 < 3 else "fr") for i in range(1, 2501)]
    assert create_deliveries(session, 7, rows, {"email": 1000}) == {"email": 3}
    session.commit()
    for batch in range(3):
        send_email_batch(session, 7, batch, provider, render_by_language)
    assert len(fake_sendgrid.mails) == 3
    assert all(len({p["subject"] for p in m["personalizations"]}) == 2 for m in fake_sendgrid.mails)
    received = Counter(fake_sendgrid.delivery_ids())
    assert len(received) == 2500 and set(received.values()) == {1}
    assert {d.status for d in session.scalars(select(Delivery))} == {"sent"}
    fr = session.scalars(select(Delivery).where(Delivery.recipient_id == 4)).one()
    [read] = [m for m in fake_sendgrid.rendered if m["delivery_id"] == str(fr.id)]
    assert read["subject"] == "Subject fr" and read["text"].startswith("Vérification")


def test_providers_without_send_batches_still_get_one_call_per_language(session):
    class OneAtATime:
        name = "plain"

        def __init__(self):
            self.calls = []

        def send_batch(self, batch):
            from notify.providers.base import SendResult

            self.calls.append(batch.language)
            return [SendResult(r.delivery_id, True, f"x{r.delivery_id}") for r in batch.recipients]

    create_deliveries(session, 1, [(1, "email", "a@example.org", "en"), (2, "email", "b@example.org", "fr")],
                      {"email": 10})
    session.commit()
    provider = OneAtATime()
    send_email_batch(session, 1, 0, provider, render_by_language)
    assert sorted(provider.calls) == ["en", "fr"]
    assert {d.status for d in session.scalars(select(Delivery))} == {"sent"}
