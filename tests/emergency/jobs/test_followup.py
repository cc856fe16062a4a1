"""Follow-up rounds: non-responders to a safety check are asked again, on the other channel
first, up to the plan's rounds; then, with the traveller's consent, their emergency contact
is asked. Nobody we have heard from gets a follow-up, not even one prepared before they
answered; a round is created once however many ticks race for it; a lost scheduled tick is
made up by the sweep; a paused plan or a closed incident sends nothing; a round over
APPROVAL_THRESHOLD waits for approval. On SQLite and on PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from emergency.core.models import CONTACT_ROUND, Alert, AlertRecipient, AuditEntry, FollowupPlan, SafetyResponse
from notify.models import Delivery, OutboxMessage
from tests.conftest import api_headers
from tests.emergency.followup_helpers import age, person, safety_check, set_plan


@pytest.fixture
def app(backend_app):
    return backend_app


@pytest.fixture
def db(app):
    with app.test_request_context():
        from emergency.core.database import db_session

        yield db_session()


def tick(incident_id):
    from emergency.jobs.followup import tick as run

    return run(incident_id)


def answer(incident_id, traveller_id, status="safe", **options):
    from emergency.services.responses import record_response

    record_response(incident_id, traveller_id, status, "sms", **options)


def rounds(db, check_id) -> list[Alert]:
    db.expire_all()
    return list(db.scalars(select(Alert).where(Alert.followup_of == check_id).order_by(Alert.id)))


def sent_to(db, alert_id) -> dict[int, tuple[str, str]]:
    """traveller id -> (channel, status) of each delivery of the alert."""
    return {d.recipient_id: (d.channel, d.status)
            for d in db.scalars(select(Delivery).where(Delivery.campaign_id == alert_id))}


def outbox_to(db, address) -> list[OutboxMessage]:
    return list(db.scalars(select(OutboxMessage).where(OutboxMessage.to == address).order_by(OutboxMessage.id)))


@pytest.fixture
def scene(client, app, db, make_incident):
    """Ann (English, email and phone), Zoé (French, email and phone), Bob (email only), all in
    Lisbon; a safety check by email and SMS. Returns (incident, check, ann, zoe, bob)."""
    ann = person(db, "Ann", email="ann@example.org", phone="+351912345601",
                 contact=("Mary Roy", "fr", "mary@example.org", "+15145550101"))
    zoe = person(db, "Zoé", language="fr", email="zoe@example.org", phone="+351912345602",
                 contact=("Paul Roy", "en", "paul@example.org", None))
    bob = person(db, "Bob", email="bob@example.org", consent=False,
                 contact=("Liz Roy", "en", "liz@example.org", None))
    incident = make_incident()
    check = safety_check(client, app, incident)
    return incident, check, ann, zoe, bob


def test_the_first_safety_check_creates_the_plan_with_the_defaults(db, scene):
    incident, *_ = scene
    plan = db.scalar(select(FollowupPlan).where(FollowupPlan.incident_id == incident))
    assert (plan.delay_minutes, plan.max_rounds, plan.tell_contacts, plan.paused) == (120, 2, True, False)


def test_nothing_is_sent_before_the_delay(db, scene):
    incident, check, *_ = scene
    age(db, 119)
    assert tick(incident) is None
    assert rounds(db, check) == []


def test_a_round_goes_only_to_non_responders_on_the_other_channel_first_in_their_language(db, scene):
    incident, check, ann, zoe, bob = scene
    answer(incident, ann)
    age(db, 121)
    round_id = tick(incident)
    (first,) = rounds(db, check)
    assert (first.id, first.kind, first.round, first.channels) == (round_id, "follow_up", 1, ["sms", "email"])
    # Zoé gets it by SMS (the check led with email); Bob has no phone, so email
    assert sent_to(db, round_id) == {zoe: ("sms", "sent"), bob: ("email", "sent")}
    (sms,) = [m for m in outbox_to(db, "+351912345602") if m.delivery_id in
              {d.id for d in db.scalars(select(Delivery).where(Delivery.campaign_id == round_id))}]
    assert sms.body.startswith("Rappel")  # French first
    assert "Reminder" in sms.body
    (mail,) = [m for m in outbox_to(db, "bob@example.org") if m.subject.startswith("Reminder")]
    assert "We have not received your answer yet." in mail.body and "/r/" in mail.body


def test_round_two_leads_with_the_safety_checks_channel_and_the_rounds_stop_at_the_maximum(db, scene):
    incident, check, ann, zoe, bob = scene
    set_plan(db, incident, delay_minutes=30, max_rounds=2, tell_contacts=False)
    for _ in range(4):
        age(db, 31)
        tick(incident)
    found = rounds(db, check)
    assert [(a.round, a.channels[0]) for a in found] == [(1, "sms"), (2, "email")]
    assert sent_to(db, found[1].id)[zoe] == ("email", "sent")


def test_a_companions_own_answer_does_not_stop_the_follow_up_of_the_traveller(db, scene):
    """The companion spoke for themselves only: nobody has heard from the traveller, who is
    still asked."""
    incident, check, ann, zoe, bob = scene
    from registry.models import Companion

    companion = Companion(traveller_id=zoe, given_name="Léa", family_name="Roy", age_band="5-11",
                          phone="+351912345699")
    db.add(companion)
    db.commit()
    answer(incident, zoe, reported_by="companion", reporter_name="Léa Roy", companion_id=companion.id)
    age(db, 121)
    round_id = tick(incident)
    assert sent_to(db, round_id) == {ann: ("sms", "sent"), zoe: ("sms", "sent"), bob: ("email", "sent")}


def test_someone_who_answers_after_the_freeze_is_not_sent_the_round(app, db, scene, monkeypatch):
    incident, check, ann, zoe, bob = scene
    from emergency.jobs import fanout

    real = fanout.deliver_sms_batch

    def answer_first(alert_id, batch, attempt=0):
        # Zoé answers after the round's recipients were frozen, before its SMS leaves
        answer(incident, zoe, "need_help")
        return real(alert_id, batch, attempt)

    monkeypatch.setattr(fanout, "deliver_sms_batch", answer_first)
    age(db, 121)
    round_id = tick(incident)
    deliveries = {d.recipient_id: d for d in db.scalars(select(Delivery).where(Delivery.campaign_id == round_id))}
    assert (deliveries[zoe].status, deliveries[zoe].error) == ("failed", "answered")
    assert deliveries[ann].status == "sent"
    round_sms = {d.id for d in deliveries.values()}
    assert [m for m in outbox_to(db, "+351912345602") if m.delivery_id in round_sms] == []
    from emergency.core.models import Incident
    from emergency.services.dashboard import incident_stats

    assert incident_stats(db.get(Incident, incident))["failed"] == 0


def test_the_contact_step_asks_the_first_contact_in_their_language_only_with_consent(db, scene):
    incident, check, ann, zoe, bob = scene
    answer(incident, zoe)
    set_plan(db, incident, delay_minutes=60, max_rounds=0)
    age(db, 61)
    contact_id = tick(incident)
    (step,) = rounds(db, check)
    assert (step.id, step.kind, step.round) == (contact_id, "contact_check", CONTACT_ROUND)
    recipients = db.scalars(select(AlertRecipient).where(AlertRecipient.alert_id == contact_id)).all()
    # Bob gave no consent; Zoé answered: only Ann's contact, Mary, in French
    assert [(r.traveller_id, r.email, r.language) for r in recipients] == [(ann, "mary@example.org", "fr")]
    (mail,) = outbox_to(db, "mary@example.org")
    assert mail.subject.startswith("Avez-vous eu des nouvelles de Ann Roy")
    assert mail.body.index("Ann Roy") < mail.body.index("Have you heard from them?")
    (sms,) = outbox_to(db, "+15145550101")
    assert "Ann Roy" in sms.body and "1" in sms.body
    # the affected figures are the travellers': Mary's messages reach nobody affected
    from emergency.core.models import Incident
    from emergency.services.dashboard import incident_stats

    stats = incident_stats(db.get(Incident, incident))
    assert stats["affected"] == 3


def test_a_contacts_sms_reply_records_the_traveller_safe_reported_by_the_contact(db, scene):
    incident, check, ann, zoe, bob = scene
    set_plan(db, incident, delay_minutes=60, max_rounds=0)
    age(db, 61)
    tick(incident)
    from emergency.services.inbound_sms import process_inbound_sms

    reply = process_inbound_sms("+15145550101", None, "1", "SM-contact-1")
    assert reply.startswith("Merci. Nous avons noté que Ann Roy est en sécurité")
    (response,) = db.scalars(select(SafetyResponse).where(SafetyResponse.traveller_id == ann)).all()
    assert (response.status, response.reported_by, response.reporter_name) == ("safe", "contact", "Mary Roy")
    assert response.source_message.startswith("inbound:")


def test_two_ticks_at_once_create_one_round(app, db, scene):
    incident, check, *_ = scene
    age(db, 121)
    from emergency.core.models import Incident
    from emergency.services import followup_rounds

    inc = db.get(Incident, incident)
    plan = followup_rounds.plan_for(incident)
    step = followup_rounds.next_step(inc, plan)
    first = followup_rounds.create_round(inc, step, None)
    db.commit()
    # a second scheduler that read the same state a moment earlier
    assert followup_rounds.create_round(inc, step, None) is None
    assert first is not None and [a.id for a in rounds(db, check)] == [first.id]


def test_a_lost_scheduled_tick_is_made_up_by_the_sweep_once(db, scene):
    incident, check, *_ = scene
    from emergency.jobs.followup import sweep_due

    assert sweep_due() == 0
    age(db, 121)  # the tick scheduled for now never ran
    assert sweep_due() == 1
    assert sweep_due() == 0  # the round went out: nothing due until the next delay
    assert [a.round for a in rounds(db, check)] == [1]


def test_a_paused_plan_sends_nothing_until_resumed(db, scene):
    incident, check, *_ = scene
    from emergency.services import followup

    followup.pause(incident)
    age(db, 121)
    assert tick(incident) is None
    assert rounds(db, check) == []
    followup.resume(incident)  # the round is overdue: it goes now
    assert [a.round for a in rounds(db, check)] == [1]


def test_a_closed_incident_sends_nothing(client, app, db, scene):
    incident, check, *_ = scene
    assert client.post(f"/api/v1/incidents/{incident}/close", headers=api_headers(app)).status_code == 200
    age(db, 121)
    assert tick(incident) is None
    assert rounds(db, check) == []


def test_a_round_over_the_approval_threshold_waits_for_approval(app, db, scene):
    incident, check, *_ = scene
    app.config["APPROVAL_THRESHOLD"] = 2
    age(db, 121)
    round_id = tick(incident)
    (waiting,) = rounds(db, check)
    assert (waiting.id, waiting.status) == (round_id, "draft")
    assert sent_to(db, round_id) == {}
    request = db.scalar(select(AuditEntry).where(AuditEntry.object_id == str(round_id),
                                                 AuditEntry.action == "alert.approval_requested"))
    assert (request.details["kind"], request.details["round"], request.details["recipients"]) == ("follow_up", 1, 3)
    age(db, 121)
    assert tick(incident) is None  # no second round while the first waits
    from emergency.services.alerts import needs_approval

    assert needs_approval(waiting)
