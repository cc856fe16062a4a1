"""One incident followed up until everyone is accounted for, on the real stack: PostgreSQL,
Redis, `emergency worker` processes, the official SDKs against the fake SendGrid and Twilio.

1,000 travellers (email and phone each, English and French, some with companions, about half
with consent and an emergency contact) get a safety check; 60% answer it, 20% the first
follow-up, 10% the second, some of them asking for help; a worker is killed in the middle of
the second round; then the emergency contacts of those still silent are told. Answers come in
as they would: signed SMS replies to the Twilio webhook and POSTs of the links in the emails
the fake SendGrid received.

What the providers must have received is computed here from the data, not read from the
app: for each round, everyone not heard from before its recipients were frozen, one message
on the round's lead channel (the other one for a number that sent STOP); for the contacts,
one message each. The fakes record the delivery id each message carries, so a message sent
twice shows twice. Rounds are started both ways a coordinator or the clock does it: "send the
next round now" through the API, and the sweep that ticks an incident whose round is due
(the plan's clock moved on, not slept through)."""
from __future__ import annotations

import random
import re
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from redis import Redis
from rq import Worker
from sqlalchemy import create_engine, insert, select, text

from common.clock import utcnow
from emergency.core.models import CONTACT_ROUND, Alert, AlertRecipient, Case, SafetyResponse
from notify.models import Delivery
from registry.models import Companion, EmergencyContact, Stop, Traveller, Trip
from tests.conftest import _reset_postgres, api_headers, post_incident
from tests.emergency.followup_helpers import age
from tests.emergency.jobs.test_exactly_once import Workers, gone, started_jobs
from tests.emergency.provider_helpers import client_transport, provider_config, start_fakes

pytestmark = [pytest.mark.redis, pytest.mark.postgis]

TRAVELLERS = 1000
FIRST, ROUND_1, ROUND_2 = 600, 200, 100  # who answers the safety check, then each round
DURING_ROUND_2 = 10  # of ROUND_2: answer while the round is going out, before their message leaves
OPTED_OUT = 5  # silent travellers who text STOP after the safety check
CONTACTS_ANSWERING = 3  # emergency contacts who reply "1" about the traveller
COMPANIONS_ANSWERING = 3  # companions with a phone of their own who reply "1" about themselves
DEADLINE = 120  # seconds any one wait may take before it is a failure
SMS_BATCH, EMAIL_BATCH = 50, 20
LINK_TOKEN = re.compile(r"/r/([A-Za-z0-9_\-.]+)/safe")


@dataclass
class Person:
    id: int
    email: str
    phone: str
    language: str
    consent: bool
    contact: tuple[str, str] | None  # (channel, address) of the emergency contact
    companions: int
    companion_phone: str | None  # the first companion's own number, if they gave one


@pytest.fixture
def pg_url(postgis_migrated):
    _reset_postgres(postgis_migrated)
    return postgis_migrated


@pytest.fixture
def fakes():
    sendgrid, twilio = start_fakes()
    yield sendgrid, twilio
    sendgrid.release(accept=False)
    twilio.release(accept=False)
    sendgrid.stop()
    twilio.stop()


@pytest.fixture
def workers():
    holder = {}
    yield holder
    if "workers" in holder:
        holder["workers"].stop_all()


@pytest.fixture
def engine(pg_url):
    engine = create_engine(pg_url)
    yield engine
    engine.dispose()


def populate(app) -> dict[int, Person]:
    """TRAVELLERS travellers in Lisbon, inserted in bulk. Even ids consent and have an
    emergency contact (by SMS or by email, in either language); ids ending in 5 have a contact
    but no consent, ids ending in 1 consent but have no contact; every seventh travels with
    one or two companions, the first of whom has a phone of their own every other time."""
    from emergency.core.database import db_session

    rng = random.Random(13)
    today = date.today()
    people: dict[int, Person] = {}
    travellers, trips, stops, companions, contacts = [], [], [], [], []
    for i in range(1, TRAVELLERS + 1):
        language = "fr" if i % 3 == 0 else "en"
        consent = i % 2 == 0 or i % 10 == 1
        contact = None
        if i % 2 == 0 or i % 10 == 5:
            contact = ("sms", f"+35192{i:07d}") if i % 4 != 0 else ("email", f"contact{i}@example.net")
            contacts.append({"traveller_id": i, "name": f"Contact {i}", "language": rng.choice(("en", "fr")),
                             "phone": contact[1] if contact[0] == "sms" else None,
                             "email": contact[1] if contact[0] == "email" else None})
        n_companions = (1 + i % 2) if i % 7 == 0 else 0
        companion_phone = f"+35193{i:07d}" if i % 14 == 0 else None
        companions += [{"traveller_id": i, "given_name": f"C{i}-{k}", "family_name": "Roy", "age_band": "18-64",
                        "phone": companion_phone if k == 0 else None} for k in range(n_companions)]
        person = Person(i, f"t{i}@example.org", f"+35191{i:07d}", language, consent, contact, n_companions,
                        companion_phone)
        people[i] = person
        travellers.append({"id": i, "given_name": f"T{i}", "family_name": "Roy", "email": person.email,
                           "phone": person.phone, "language": language, "source": "import",
                           "consent_at": utcnow() if consent else None})
        trips.append({"id": i, "traveller_id": i})
        stops.append({"id": i, "trip_id": i, "traveller_id": i, "country": "PT", "place": "Lisbon",
                      "lat": 38.72 + rng.uniform(-0.05, 0.05), "lon": -9.14 + rng.uniform(-0.05, 0.05),
                      "precision": "point", "arrival": today - timedelta(days=1), "departure": today + timedelta(days=3)})
    with app.app_context():
        session = db_session()
        for model, rows in ((Traveller, travellers), (Trip, trips), (Stop, stops), (Companion, companions),
                            (EmergencyContact, contacts)):
            session.execute(insert(model), rows)
        for table in ("travellers", "trips", "stops"):
            session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {TRAVELLERS})"))
        session.commit()
    return people


def wait_until(predicate, what: str, pool: Workers, timeout: float = DEADLINE) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}\n{pool.logs()}")


def alert_status(engine, alert_id: int) -> str | None:
    with engine.connect() as conn:
        return conn.execute(select(Alert.status).where(Alert.id == alert_id)).scalar()


def wait_sent(engine, alert_id: int, pool: Workers, timeout: float = DEADLINE) -> None:
    wait_until(lambda: alert_status(engine, alert_id) == "sent", f"alert {alert_id} to be sent", pool, timeout)


def round_of(engine, check_id: int, number: int) -> int | None:
    with engine.connect() as conn:
        return conn.execute(select(Alert.id).where(Alert.followup_of == check_id, Alert.round == number)).scalar()


def deliveries(engine, alert_id: int, channel: str) -> dict[int, Delivery]:
    """recipient id -> the alert's delivery row on `channel`."""
    with engine.connect() as conn:
        rows = conn.execute(select(Delivery.recipient_id, Delivery.id, Delivery.status, Delivery.error, Delivery.batch)
                            .where(Delivery.campaign_id == alert_id, Delivery.channel == channel)).all()
    return {r.recipient_id: r for r in rows}


def reply_sms(twilio, client, phone: str, body: str) -> None:
    """`phone` texts us `body`: Twilio's signed POST to the inbound webhook."""
    callback = twilio.reply(phone, body, transport=client_transport(client))
    assert callback.status == 200, callback.response


def answer_by_link(client, sendgrid, email_delivery_id: int, answer: str) -> None:
    """The traveller opens the email with this delivery id and taps the answer's button: the
    page's form POSTed, with the link's token taken from the mail the fake rendered."""
    mail = next(m for m in sendgrid.rendered if str(m["delivery_id"]) == str(email_delivery_id))
    token = LINK_TOKEN.search(mail["text"]).group(1)
    response = client.post(f"/r/{token}", data={"answer": answer, "via": "link"})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]


def received(engine, sendgrid, twilio) -> Counter:
    """What the providers accepted: (alert, traveller, channel, address) -> times, each message
    named by the delivery id it carried, the address being what the provider was given."""
    messages = [(m["delivery_id"], "email", m["to"]) for m in sendgrid.rendered]
    messages += [(delivery_id, "sms", m["to"]) for delivery_id, m in zip(twilio.delivery_ids(), twilio.messages)]
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(Delivery.id, Delivery.campaign_id, Delivery.recipient_id))}
    found = Counter()
    for delivery_id, channel, address in messages:
        row = rows[int(delivery_id)]
        found[(row.campaign_id, row.recipient_id, channel, address)] += 1
    return found


def rq_job_of(url: str, pid: int) -> str | None:
    """The job the RQ worker with this pid is running, as it told Redis."""
    for worker in Worker.all(connection=Redis.from_url(url)):
        if worker.pid == pid:
            return worker.get_current_job_id()
    return None


def test_an_incident_of_1000_travellers_is_followed_up_until_everyone_is_accounted_for(
        pg_url, redis_url, fakes, workers, engine, tmp_path, make_app):
    sendgrid, twilio = fakes
    app = make_app(pg_url, JOBS_MODE="rq", REDIS_URL=redis_url, APPROVAL_THRESHOLD=5000,
                   **provider_config(sendgrid, twilio, SMS_BATCH_SIZE=SMS_BATCH, EMAIL_BATCH_SIZE=EMAIL_BATCH))
    client = app.test_client()
    headers = api_headers(app)
    people = populate(app)
    pool = workers["workers"] = Workers(app, tmp_path)
    pool.env["APPROVAL_THRESHOLD"] = "5000"  # the workers' ticks send rounds as the app would
    pool.start()
    pool.start()
    rng = random.Random(2024)

    # --- the safety check: everyone gets an email and an SMS ----------------------------------
    incident = post_incident(client, app, "Earthquake")
    check = client.post(f"/api/v1/incidents/{incident}/alerts", headers=headers,
                        json={"channels": ["sms", "email"]}).get_json()
    assert check["channels"] == ["email", "sms"]  # email leads: round 1 leads with SMS, round 2 with email
    assert client.post(f"/api/v1/alerts/{check['id']}/send", headers=headers).status_code == 202
    check = check["id"]
    wait_sent(engine, check, pool)

    answered: dict[int, tuple[str, str]] = {}  # traveller -> (phase, status)
    order = list(people)
    rng.shuffle(order)
    first, order = order[:FIRST], order[FIRST:]
    check_emails = deliveries(engine, check, "email")
    for n, tid in enumerate(first):
        status = "need_help" if n % 20 == 0 else "safe"
        if n % 2:
            reply_sms(twilio, client, people[tid].phone, "2" if status == "need_help" else "1")
        else:
            answer_by_link(client, sendgrid, check_emails[tid].id, "help" if status == "need_help" else "safe")
        answered[tid] = ("check", status)
    opted_out = order[-OPTED_OUT:]  # they never answer, and their SMS-led round goes to them by email
    for tid in opted_out:
        reply_sms(twilio, client, people[tid].phone, "STOP")
    # companions of travellers who will never answer text that they themselves are safe: that
    # says nothing about the traveller, who is still asked in every round
    never = order[ROUND_1 + ROUND_2:-OPTED_OUT]
    companions_safe = [tid for tid in never if people[tid].companion_phone][:COMPANIONS_ANSWERING]
    assert len(companions_safe) == COMPANIONS_ANSWERING
    for tid in companions_safe:
        reply_sms(twilio, client, people[tid].companion_phone, "1")

    # --- round 1, sent now by a coordinator: SMS first ----------------------------------------
    response = client.post(f"/api/v1/incidents/{incident}/followup/rounds", headers=headers)
    assert response.status_code == 202, response.get_json()
    round_1 = response.get_json()["id"]
    assert response.get_json()["channels"] == ["sms", "email"]
    wait_sent(engine, round_1, pool)
    second, order = order[:ROUND_1], order[ROUND_1:]
    for n, tid in enumerate(second):
        status = "need_help" if n % 25 == 0 else "safe"
        reply_sms(twilio, client, people[tid].phone, "2" if status == "need_help" else "1")
        answered[tid] = ("round 1", status)

    # --- round 2, due by the plan's clock and ticked by the sweep: email first -----------------
    silent_2 = [tid for tid in people if tid not in answered]
    already = sendgrid.accepted_count()  # one request per batch of EMAIL_BATCH
    sendgrid.hold_after(already + round(0.3 * len(silent_2) / EMAIL_BATCH))  # the kill comes at 30% of the round
    with app.app_context():
        from emergency.core.database import db_session
        from emergency.jobs.followup import sweep_due

        age(db_session(), app.config["FOLLOWUP_DELAY_MINUTES"] + 1)
        assert sweep_due() == 1
    assert sendgrid.held.wait(DEADLINE), pool.logs()
    round_2 = round_of(engine, check, 2)
    assert round_2 is not None

    # a worker busy with one of the round's email batches is killed, with its whole process tree
    victim = job = None
    end = time.monotonic() + 20
    while victim is None and time.monotonic() < end:
        for proc in pool.procs:
            running = rq_job_of(redis_url, proc.pid)
            if proc.poll() is None and running and running.startswith(f"alert-{round_2}-email-"):
                victim, job = proc, running
                break
        time.sleep(0.1)
    assert victim is not None, "no worker is sending the round's emails"
    pids = Workers.kill(victim)
    assert len(pids) >= 2, "worker and work horse"
    end = time.monotonic() + 10
    while time.monotonic() < end and not all(gone(pid) for pid in pids):
        time.sleep(0.05)
    # the fault happened: every process of the worker is gone, its job left started in RQ
    assert all(gone(pid) for pid in pids), "a process of the killed worker is still running"
    assert job in started_jobs(redis_url)
    emails_2 = deliveries(engine, round_2, "email")
    assert 0 < len([r for r in emails_2.values() if r.status == "sent"]) < len(silent_2)

    # while the round is stuck, some whose email has not left yet answer the first follow-up's
    # SMS; they are in the round's last batch, queued last: no worker reaches it before the
    # provider lets go
    last = max(r.batch for r in emails_2.values())
    assert all(r.status == "pending" for r in emails_2.values() if r.batch == last)
    waiting = [tid for tid in order if tid in emails_2 and emails_2[tid].batch == last
               and tid not in opted_out and tid not in companions_safe]
    assert len(waiting) >= DURING_ROUND_2
    during = waiting[:DURING_ROUND_2]
    for tid in during:
        reply_sms(twilio, client, people[tid].phone, "1")
        answered[tid] = ("round 2, before their message", "safe")
    order = [tid for tid in order if tid not in during]

    sendgrid.release(accept=True)  # the dead worker's request reaches the provider: the app never hears
    pool.start()
    wait_sent(engine, round_2, pool, timeout=DEADLINE + 60)
    emails_2 = deliveries(engine, round_2, "email")
    assert {tid: (emails_2[tid].status, emails_2[tid].error) for tid in during} == \
        {tid: ("failed", "answered") for tid in during}  # left unsent: they had answered

    third, order = order[:ROUND_2 - DURING_ROUND_2], order[ROUND_2 - DURING_ROUND_2:]
    for n, tid in enumerate(third):
        status = "need_help" if n % 30 == 0 else "safe"
        answer_by_link(client, sendgrid, emails_2[tid].id, "help" if status == "need_help" else "safe")
        answered[tid] = ("round 2", status)
    assert len([p for p, _ in answered.values() if p.startswith("round 2")]) == ROUND_2

    # --- the emergency contacts of those still silent, with consent --------------------------
    response = client.post(f"/api/v1/incidents/{incident}/followup/rounds", headers=headers)
    assert response.status_code == 202, response.get_json()
    contact_round = response.get_json()["id"]
    assert response.get_json()["kind"] == "contact_check"
    wait_sent(engine, contact_round, pool)
    silent = [tid for tid in people if tid not in answered]
    told = [tid for tid in silent if people[tid].consent and people[tid].contact]
    by_contact = [tid for tid in told if people[tid].contact[0] == "sms"][:CONTACTS_ANSWERING]
    for tid in by_contact:
        reply_sms(twilio, client, people[tid].contact[1], "1")
        answered[tid] = ("contacts", "safe")
    assert client.post(f"/api/v1/incidents/{incident}/followup/rounds", headers=headers).status_code == 409

    # --- what the providers received: exactly what the plan says, once each -----------------
    def heard_before(phase_names):
        return {tid for tid, (phase, _) in answered.items() if phase in phase_names}

    expected = Counter()
    for tid, p in people.items():
        expected[(check, tid, "sms", p.phone)] += 1
        expected[(check, tid, "email", p.email)] += 1
    for tid in set(people) - heard_before({"check"}):
        if tid in opted_out:
            expected[(round_1, tid, "email", people[tid].email)] += 1
        else:
            expected[(round_1, tid, "sms", people[tid].phone)] += 1
    for tid in set(people) - heard_before({"check", "round 1", "round 2, before their message"}):
        expected[(round_2, tid, "email", people[tid].email)] += 1
    for tid in told:
        channel, address = people[tid].contact
        expected[(contact_round, tid, channel, address)] += 1

    got = received(engine, sendgrid, twilio)
    assert [key for key, n in got.items() if n > 1] == [], "sent twice"
    assert Counter(twilio.delivery_ids()).most_common(1)[0][1] == 1
    assert Counter(str(m["delivery_id"]) for m in sendgrid.rendered).most_common(1)[0][1] == 1
    assert set(got) - set(expected) == set(), "messages the plan does not call for"
    assert set(expected) - set(got) == set(), "messages the plan calls for, never sent"
    freezes = {round_1: heard_before({"check"}), round_2: heard_before({"check", "round 1"}),
               contact_round: heard_before({"check", "round 1", "round 2, before their message", "round 2"})}
    for alert_id, heard in freezes.items():
        assert {tid for (a, tid, _, _) in got if a == alert_id} & heard == set(), "a message to someone who had answered"
        with engine.connect() as conn:
            frozen = set(conn.execute(select(AlertRecipient.traveller_id).where(AlertRecipient.alert_id == alert_id))
                         .scalars())
        expected_frozen = set(people) - heard
        if alert_id == contact_round:
            expected_frozen = {tid for tid in expected_frozen if people[tid].consent and people[tid].contact}
        assert frozen == expected_frozen

    # each in their own language first
    bodies = {int(d): m["body"] for d, m in zip(twilio.delivery_ids(), twilio.messages)}
    reminders = deliveries(engine, round_1, "sms")
    assert reminders and all(bodies[r.id].startswith("Rappel" if people[tid].language == "fr" else "Reminder")
                             for tid, r in reminders.items())
    for alert_id in (round_1, round_2):  # a companion who answered for themselves left the traveller asked
        assert set(companions_safe) <= {tid for (a, tid, _, _) in got if a == alert_id}

    # --- everyone is accounted for: safe, need help with a case, or silent after every round --
    with engine.connect() as conn:
        answers = conn.execute(select(SafetyResponse.traveller_id, SafetyResponse.status, SafetyResponse.reported_by)
                               .where(SafetyResponse.incident_id == incident, SafetyResponse.companion_id.is_(None))
                               .order_by(SafetyResponse.received_at, SafetyResponse.id)).all()
        cases = Counter(conn.execute(select(Case.traveller_id).where(Case.incident_id == incident)).scalars())
    latest = {r.traveller_id: r for r in answers}
    state = {}
    for tid in people:
        if tid in latest:
            state[tid] = latest[tid].status
        else:
            state[tid] = "no answer"
    assert Counter(state.values()) == Counter(status for _, status in answered.values()) + \
        Counter({"no answer": TRAVELLERS - len(answered)})
    assert {tid: s for tid, s in state.items() if s != "no answer"} == {tid: s for tid, (_, s) in answered.items()}
    assert set(cases) == {tid for tid, s in state.items() if s == "need_help"} and set(cases.values()) == {1}
    assert {tid for tid, r in latest.items() if r.reported_by == "contact"} == set(by_contact)
    no_answer = [tid for tid, s in state.items() if s == "no answer"]
    rounds_reached = Counter(a for (a, tid, _, _) in got if tid in no_answer and a in (check, round_1, round_2))
    assert rounds_reached == {check: 2 * len(no_answer), round_1: len(no_answer), round_2: len(no_answer)}
    contacted = {tid for (a, tid, _, _) in got if a == contact_round}
    assert {tid for tid in no_answer if people[tid].consent and people[tid].contact} <= contacted
    assert {tid for tid in no_answer if not people[tid].consent} & contacted == set()
    assert Counter(a for (a, tid, _, _) in got if a == contact_round) == {contact_round: len(told)}

    # the dashboard's household figures say the same, companions counted under their traveller
    with app.app_context():
        from emergency.core.database import db_session
        from emergency.core.models import Incident
        from emergency.services.households import household_stats

        figures = household_stats(db_session().get(Incident, incident))
    household = Counter()  # (status, given by someone else) of every traveller and companion
    for tid, s in state.items():
        household[(s, latest[tid].reported_by != "traveller" if tid in latest else False)] += 1
        for k in range(people[tid].companions):
            if k == 0 and tid in companions_safe:  # their own answer wins
                household[("safe", False)] += 1
            else:  # covered by the traveller's answer, if any
                household[(s, s != "no answer")] += 1
    assert {k: figures[k] for k in ("travellers", "companions", "safe", "need_help", "no_answer",
                                    "covered_by_someone_else")} == {
        "travellers": TRAVELLERS, "companions": sum(p.companions for p in people.values()),
        **{key: sum(n for (s, _), n in household.items() if s == status)
           for key, status in (("safe", "safe"), ("need_help", "need_help"), ("no_answer", "no answer"))},
        "covered_by_someone_else": sum(n for (_, other), n in household.items() if other)}

    followup = client.get(f"/api/v1/incidents/{incident}/followup", headers=headers).get_json()
    assert followup["state"] == "done"
    assert [(r["kind"], r["round"], r["status"]) for r in followup["rounds"]] == [
        ("follow_up", 1, "sent"), ("follow_up", 2, "sent"), ("contact_check", CONTACT_ROUND, "sent")]
