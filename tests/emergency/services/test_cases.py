"""Cases: a "need help" opens one case per person and incident; asking again adds to it or
reopens it; officers' actions follow the allowed transitions, refuse wrong values without
changing anything, and each one is audited with ids only."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from emergency.core.models import AuditEntry, Case, CaseEvent, SafetyResponse, User
from emergency.core.timeutil import as_utc


@pytest.fixture
def people(app, make_traveller, make_incident):
    """An incident in Lisbon and two travellers there: (incident id, Ann's id, Zoé's id)."""
    ann = make_traveller("Ann", email="ann@example.org", phone="+351912345678")
    zoe = make_traveller("Zoé", email="zoe@example.org", language="fr")
    return make_incident(), ann, zoe


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        from emergency.core.database import db_session

        yield db_session()


def answer(incident, traveller, status="need_help", channel="link", message=None):
    from emergency.services.responses import record_response

    return record_response(incident, traveller, status, channel, message=message)


def the_case(session, incident, traveller) -> Case:
    return session.scalar(select(Case).where(Case.incident_id == incident, Case.traveller_id == traveller))


def kinds(case: Case) -> list[str]:
    """The case's history, oldest first."""
    return [e.kind for e in case.events]


def officer(session, email="coordinator@example.org") -> User:
    return session.scalar(select(User).where(User.email == email))


def test_a_need_help_answer_opens_a_new_unassigned_case(people, ctx):
    incident, ann, _zoe = people
    answer(incident, ann, channel="sms", message="Water rising")
    case = the_case(ctx, incident, ann)
    assert (case.status, case.priority, case.assignee_id, case.source) == ("new", "normal", None, "sms")
    assert kinds(case) == ["opened"]
    assert case.events[0].response.message == "Water rising"


def test_a_safe_answer_opens_no_case(people, ctx):
    incident, ann, _zoe = people
    answer(incident, ann, "safe")
    assert ctx.scalar(select(func.count()).select_from(Case)) == 0


def test_asking_again_adds_an_event_to_the_open_case_instead_of_a_second_case(people, ctx):
    incident, ann, _zoe = people
    answer(incident, ann, channel="link")
    answer(incident, ann, channel="sms", message="Still stuck")
    assert ctx.scalar(select(func.count()).select_from(Case)) == 1
    case = the_case(ctx, incident, ann)
    assert kinds(case) == ["opened", "need_help"]
    assert case.events[-1].source == "sms"


def test_the_same_answer_again_without_a_message_adds_nothing(people, ctx):
    incident, ann, _zoe = people
    answer(incident, ann)
    answer(incident, ann)  # a second tap on the same button
    assert kinds(the_case(ctx, incident, ann)) == ["opened"]


def test_each_person_and_each_incident_has_its_own_case(people, ctx, make_incident):
    incident, ann, zoe = people
    other = make_incident("Fire", lat=38.7, lon=-9.1)
    answer(incident, ann)
    answer(incident, zoe)
    answer(other, ann)
    assert ctx.scalar(select(func.count()).select_from(Case)) == 3


@pytest.mark.parametrize("settled", ["resolved", "closed"])
def test_asking_again_reopens_a_settled_case_as_new_and_restarts_its_wait(people, ctx, settled):
    from emergency.services import cases

    incident, ann, _zoe = people
    answer(incident, ann)
    case = the_case(ctx, incident, ann)
    case.opened_at = case.waiting_since = case.opened_at - timedelta(hours=5)
    cases.set_status(case, settled, officer(ctx))
    answer(incident, ann, "safe")
    answer(incident, ann, "need_help", channel="sms")
    ctx.refresh(case)
    assert case.status == "new" and case.resolved_at is None and case.closed_at is None
    assert kinds(case) == ["opened", "status", "reopened"]
    assert (case.events[-1].from_status, case.events[-1].source) == (settled, "sms")
    assert ctx.scalar(select(func.count()).select_from(Case)) == 1
    assert as_utc(case.waiting_since) - as_utc(case.opened_at) > timedelta(hours=4)


@pytest.mark.parametrize("settled", ["resolved", "closed"])
def test_the_same_need_help_again_after_the_case_was_settled_reopens_it(people, ctx, settled):
    """The latest answer is still "need help", but help came and the case was settled: pressing
    "need help" again, with no message, is a new call for help and must not be taken for a
    second click."""
    from emergency.services import cases

    incident, ann, _zoe = people
    answer(incident, ann)
    case = the_case(ctx, incident, ann)
    cases.set_status(case, settled, officer(ctx))
    _response, added = answer(incident, ann)
    ctx.refresh(case)
    assert added and case.status == "new"
    assert kinds(case) == ["opened", "status", "reopened"]
    assert ctx.scalar(select(func.count()).select_from(SafetyResponse)) == 2


def test_the_same_need_help_again_while_the_case_is_open_adds_nothing(people, ctx):
    incident, ann, _zoe = people
    answer(incident, ann)
    _response, added = answer(incident, ann)
    assert not added and kinds(the_case(ctx, incident, ann)) == ["opened"]


@pytest.mark.parametrize("path", [
    ["in_progress", "resolved"], ["in_progress", "closed"], ["resolved"], ["closed"],
    ["resolved", "closed"], ["resolved", "in_progress"], ["closed", "in_progress", "resolved"],
])
def test_officers_move_a_case_along_the_allowed_transitions(people, ctx, path):
    from emergency.services import cases

    incident, ann, _zoe = people
    answer(incident, ann)
    case = the_case(ctx, incident, ann)
    for status in path:
        assert cases.set_status(case, status, officer(ctx)) is True
    assert case.status == path[-1]
    assert (case.resolved_at is not None) == (path[-1] == "resolved")


@pytest.mark.parametrize("path, refused", [
    (["in_progress"], "new"), (["resolved"], "new"), (["closed"], "new"), (["closed"], "resolved"),
])
def test_a_transition_that_is_not_allowed_is_refused_and_changes_nothing(people, ctx, path, refused):
    from emergency.services import cases

    incident, ann, _zoe = people
    answer(incident, ann)
    case = the_case(ctx, incident, ann)
    for status in path:
        cases.set_status(case, status, officer(ctx))
    before = len(case.events)
    with pytest.raises(cases.TransitionRefused):
        cases.set_status(case, refused, officer(ctx))
    assert case.status == path[-1] and len(case.events) == before


def test_reopening_by_an_officer_restarts_the_wait_and_is_recorded_as_a_reopening(people, ctx):
    from emergency.services import cases

    incident, ann, _zoe = people
    answer(incident, ann)
    case = the_case(ctx, incident, ann)
    cases.set_status(case, "closed", officer(ctx))
    first_wait = case.waiting_since
    cases.set_status(case, "in_progress", officer(ctx))
    assert case.status == "in_progress" and case.closed_at is None
    assert as_utc(case.waiting_since) > as_utc(first_wait)
    assert case.events[-1].kind == "reopened" and case.events[-1].user.email == "coordinator@example.org"


@pytest.mark.parametrize("action, value", [("status", "done"), ("priority", "critical")])
def test_an_unknown_status_or_priority_is_refused(people, ctx, action, value):
    from emergency.services import cases

    incident, ann, _zoe = people
    answer(incident, ann)
    case = the_case(ctx, incident, ann)
    setter = cases.set_status if action == "status" else cases.set_priority
    with pytest.raises(cases.CaseError) as refused:
        setter(case, value, officer(ctx))
    assert refused.value.field == action
    assert (case.status, case.priority, kinds(case)) == ("new", "normal", ["opened"])


def test_a_case_goes_only_to_an_active_officer_who_may_act_on_it(people, ctx):
    from emergency.services import cases

    incident, ann, _zoe = people
    answer(incident, ann)
    case = the_case(ctx, incident, ann)
    viewer = officer(ctx, "viewer@example.org")
    for wrong in (viewer.id, 9999, "2", True):
        with pytest.raises(cases.CaseError):
            cases.assign(case, wrong, officer(ctx))
    colin = officer(ctx, "coordinator2@example.org")
    assert cases.assign(case, colin.id, officer(ctx)) is True
    assert cases.assign(case, colin.id, officer(ctx)) is False  # already theirs: nothing to record
    assert cases.assign(case, None, officer(ctx)) is True
    assert case.assignee_id is None
    assert kinds(case) == ["opened", "assigned", "assigned"]


def test_notes_and_contact_attempts_join_the_history_and_empty_ones_are_refused(people, ctx):
    from emergency.services import cases

    incident, ann, _zoe = people
    answer(incident, ann)
    case = the_case(ctx, incident, ann)
    cases.add_note(case, "  Hotel says she left at 9.  ", officer(ctx))
    cases.record_contact(case, "phone", "no_answer", None, officer(ctx))
    with pytest.raises(cases.CaseError):
        cases.add_note(case, "   ", officer(ctx))
    with pytest.raises(cases.CaseError):
        cases.add_note(case, "x" * 4001, officer(ctx))
    with pytest.raises(cases.CaseError):
        cases.record_contact(case, "pigeon", "reached", None, officer(ctx))
    with pytest.raises(cases.CaseError):
        cases.record_contact(case, "sms", "maybe", None, officer(ctx))
    ctx.rollback()
    ctx.refresh(case)
    assert kinds(case) == ["opened", "note", "contact"]
    assert case.events[1].note == "Hotel says she left at 9."
    assert (case.events[-1].method, case.events[-1].outcome) == ("phone", "no_answer")


def test_an_answer_given_by_phone_counts_and_shows_in_the_case_but_settles_nothing(people, ctx):
    from emergency.services.phone_answers import record_phone_answer
    from emergency.services.responses import latest_response

    incident, ann, _zoe = people
    answer(incident, ann)
    case = the_case(ctx, incident, ann)
    assert record_phone_answer(case, "safe", "At her sister's", officer(ctx)) is True
    assert record_phone_answer(case, "safe", None, officer(ctx)) is False  # already her answer
    latest = latest_response(incident, ann)
    assert (latest.status, latest.channel, latest.message) == ("safe", "phone", "At her sister's")
    assert (latest.reported_by, latest.reporter_name) == ("officer", "Cora Coordinator")
    ctx.refresh(case)
    assert case.status == "new"
    assert kinds(case) == ["opened", "answer"]
    assert case.events[-1].user.email == "coordinator@example.org"


def test_a_need_help_taken_by_phone_opens_the_case_signed_by_the_officer(people, ctx):
    from emergency.services import cases
    from emergency.services.phone_answers import record_phone_answer

    incident, ann, _zoe = people
    answer(incident, ann)
    case = the_case(ctx, incident, ann)
    cases.set_status(case, "resolved", officer(ctx))
    answer(incident, ann, "safe")
    record_phone_answer(case, "need_help", "Injured leg", officer(ctx))
    ctx.refresh(case)
    assert case.status == "new"
    assert kinds(case) == ["opened", "status", "reopened"]
    assert case.events[-1].source == "phone" and case.events[-1].user.email == "coordinator@example.org"
    assert ctx.scalar(select(func.count()).select_from(SafetyResponse)) == 3


def test_every_case_action_is_audited_with_ids_and_never_the_notes_text(people, ctx):
    from emergency.services import cases
    from emergency.services.phone_answers import record_phone_answer

    incident, ann, _zoe = people
    answer(incident, ann)
    answer(incident, ann, message="second call")
    case = the_case(ctx, incident, ann)
    me = officer(ctx)
    cases.assign(case, me.id, me)
    cases.set_priority(case, "urgent", me)
    cases.add_note(case, "Secret medical detail", me)
    cases.record_contact(case, "sms", "failed", "number unreachable", me)
    record_phone_answer(case, "safe", "fine", me)
    cases.set_status(case, "resolved", me)
    cases.set_status(case, "in_progress", me)
    entries = list(ctx.scalars(select(AuditEntry).where(AuditEntry.object_type == "case").order_by(AuditEntry.id)))
    assert [e.action for e in entries] == [
        "case.opened", "case.need_help", "case.assigned", "case.priority", "case.note", "case.contact",
        "case.phone_answer", "case.status", "case.reopened"]
    assert all(e.object_id == str(case.id) and e.details["traveller_id"] == ann for e in entries)
    assert entries[0].actor == f"traveller:{ann}"
    assert {e.actor for e in entries[2:]} == {"coordinator@example.org"}
    everything = repr([e.details for e in ctx.scalars(select(AuditEntry))])
    for private in ("Secret medical detail", "number unreachable", "fine", "second call"):
        assert private not in everything


def test_a_deleted_traveller_takes_their_case_and_its_history_along(people, ctx):
    from registry.models import Traveller

    incident, ann, zoe = people
    answer(incident, ann, message="first")
    answer(incident, ann, channel="sms", message="again")
    answer(incident, zoe)
    ctx.delete(ctx.get(Traveller, ann))
    ctx.commit()
    assert [c.traveller_id for c in ctx.scalars(select(Case))] == [zoe]
    assert ctx.scalar(select(func.count()).select_from(CaseEvent)) == 1


def test_cases_open_add_up_and_queue_alike_on_sqlite_and_postgis(backend_app):
    """The unique (incident, traveller) constraint, the savepoint around a new case and the
    queue's order, on both databases."""
    from emergency.core.database import db_session
    from emergency.services import case_queue
    from tests.conftest import post_incident, post_traveller

    client = backend_app.test_client()
    ann = post_traveller(client, backend_app, "Ann", email="ann@example.org")
    bea = post_traveller(client, backend_app, "Bea", email="bea@example.org")
    incident = post_incident(client, backend_app)
    with backend_app.test_request_context():
        answer(incident, bea)
        answer(incident, ann, message="first")
        answer(incident, ann, channel="sms", message="again")
        session = db_session()
        bea_case = the_case(session, incident, bea)
        bea_case.opened_at = bea_case.waiting_since = bea_case.opened_at - timedelta(hours=1)
        session.commit()
        rows, total = case_queue.queue(case_queue.QueueFilter())
        assert total == 2 and [c.traveller_id for c in rows] == [bea, ann]
        assert kinds(the_case(session, incident, ann)) == ["opened", "need_help"]


def test_a_case_opened_meanwhile_by_a_concurrent_answer_gets_the_call_added(backend_app, monkeypatch):
    """Two calls for help at once: the second finds no case, its insert hits the unique
    constraint, and the call joins the case the first one opened; the answer itself is kept."""
    from emergency.core.database import db_session
    from emergency.services import cases
    from tests.conftest import post_incident, post_traveller

    client = backend_app.test_client()
    ann = post_traveller(client, backend_app, "Ann", email="ann@example.org")
    incident = post_incident(client, backend_app)
    with backend_app.test_request_context():
        answer(incident, ann, message="first")
        real_case_for = cases.case_for
        calls = iter([None])
        monkeypatch.setattr(cases, "case_for", lambda *a: next(calls, None) or real_case_for(*a))
        answer(incident, ann, channel="sms", message="second")
        session = db_session()
        assert session.scalar(select(func.count()).select_from(Case)) == 1
        assert kinds(the_case(session, incident, ann)) == ["opened", "need_help"]
        assert session.scalar(select(func.count()).select_from(SafetyResponse)) == 2
