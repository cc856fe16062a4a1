"""Addresses providers condemned are remembered and skipped; a late callback still counts."""
from __future__ import annotations

import pytest

from notify import contact_health
from notify.delivery import apply_event, claim_batch, create_deliveries
from notify.models import ContactHealth


def test_a_bounce_or_undelivered_status_condemns_the_address_but_a_delay_does_not():
    assert contact_health.says_bad("email", "bounce") and contact_health.says_bad("email", "Dropped")
    assert contact_health.says_bad("sms", "undelivered") and contact_health.says_bad("sms", "failed")
    assert not contact_health.says_bad("email", "deferred")
    assert not contact_health.says_bad("sms", "bounce")
    assert not contact_health.says_bad("sms", None)


def test_marking_is_idempotent_and_the_latest_verdict_wins(session):
    contact_health.mark(session, "email", " Zoe@Example.org ", "bad", "550 no such user")
    contact_health.mark(session, "email", "zoe@example.org", "bad", "again")
    assert session.query(ContactHealth).count() == 1
    assert contact_health.is_bad(session, "email", "ZOE@example.org")
    contact_health.mark(session, "email", "zoe@example.org", "ok")
    assert not contact_health.is_bad(session, "email", "zoe@example.org")


def test_a_bad_email_does_not_condemn_the_same_text_as_a_phone(session):
    contact_health.mark(session, "sms", "+33612345678", "bad")
    assert not contact_health.is_bad(session, "email", "+33612345678")


def test_drop_bad_keeps_only_rows_with_good_addresses(session):
    contact_health.mark(session, "sms", "+33612345678", "bad")
    contact_health.mark(session, "email", "gone@example.org", "bad")
    rows = [(1, "sms", "+33612345678", "fr"), (1, "email", "zoe@example.org", "fr"),
            (2, "email", "GONE@example.org", "en"), (3, "sms", None, "en")]
    assert contact_health.drop_bad(session, rows) == [rows[1], rows[3]]


def test_an_unknown_verdict_is_refused(session):
    with pytest.raises(ValueError):
        contact_health.mark(session, "sms", "+33612345678", "maybe")


def test_a_callback_for_a_row_whose_worker_died_records_the_sid_and_stops_a_resend(session):
    create_deliveries(session, 1, [(10, "sms", "+33612345678", "fr")], {"sms": 10})
    session.commit()
    [claimed] = claim_batch(session, 1, "sms", 0)
    changed = apply_event(session, "SMabc", "sent", delivery_id=claimed.id)
    session.commit()
    assert (changed.status, changed.provider_message_id) == ("sent", "SMabc")
    assert claim_batch(session, 1, "sms", 0, stale_after=None) == []
