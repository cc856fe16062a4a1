"""How many recipients one delivery job takes: the configured sizes, with an SMS batch never
longer than half of JOB_TIMEOUT at the configured Twilio throughput (five minutes of ten, by default)."""
from __future__ import annotations

from emergency.jobs.retries import batch_sizes


def test_batches_take_the_configured_sizes_when_no_throughput_cap_is_set(app):
    app.config.update(EMAIL_BATCH_SIZE=1000, SMS_BATCH_SIZE=1000, TWILIO_MPS=None)
    with app.app_context():
        assert batch_sizes() == {"email": 1000, "sms": 1000}


def test_an_sms_batch_holds_at_most_five_minutes_of_the_twilio_cap(app):
    app.config.update(EMAIL_BATCH_SIZE=1000, SMS_BATCH_SIZE=1000, TWILIO_MPS=1)
    with app.app_context():
        assert batch_sizes() == {"email": 1000, "sms": 300}


def test_a_generous_cap_leaves_the_configured_sms_batch_alone(app):
    app.config.update(SMS_BATCH_SIZE=1000, TWILIO_MPS=100)
    with app.app_context():
        assert batch_sizes()["sms"] == 1000


def test_a_cap_below_one_message_a_second_still_sends_batches_of_at_least_one(app):
    app.config.update(SMS_BATCH_SIZE=1000, TWILIO_MPS=0.001)
    with app.app_context():
        assert batch_sizes()["sms"] == 1


def test_the_sms_cap_follows_the_job_timeout(app):
    app.config.update(SMS_BATCH_SIZE=1000, TWILIO_MPS=1, JOB_TIMEOUT=120)
    with app.app_context():
        assert batch_sizes()["sms"] == 60  # half of the two minutes a job may run
