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


def test_a_retry_is_logged_only_when_it_was_scheduled(app, caplog):
    """A second run of a batch (its `-aN` retry already queued) schedules nothing, and says so."""
    import logging

    from emergency.jobs.retries import with_retries
    from notify.errors import RetryLater

    scheduled = []

    class Runner:
        def __init__(self, accepts: bool):
            self.accepts = accepts

        def enqueue_in(self, delay, func, *args, job_id, queue="default"):
            scheduled.append(job_id)
            return self.accepts

    def send(**options):
        raise RetryLater(3, "Twilio 429", 1)

    app.config.update(DELIVERY_MAX_ATTEMPTS=20)
    with app.app_context(), caplog.at_level(logging.WARNING, logger="emergency.jobs.retries"):
        app.extensions["jobs"] = Runner(accepts=True)
        assert with_retries(send, 7, "sms", 3, 0, send) is False
        app.extensions["jobs"] = Runner(accepts=False)
        assert with_retries(send, 7, "sms", 3, 0, send) is False
    assert scheduled == ["alert-7-sms-3-a1", "alert-7-sms-3-a1"]
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "retry 1 in" in messages[0]
    assert "retry 1 in" not in messages[1] and "already queued" in messages[1] and "nothing scheduled" in messages[1]
