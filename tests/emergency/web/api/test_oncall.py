"""The on-call list over the API: coordinators list it and put users on or off call with a
mobile phone (all or nothing, audited); wrong values are refused in the API's error shape and
the caller's language; viewers are refused."""
from __future__ import annotations

from sqlalchemy import select

from emergency.core.models import AuditEntry, User
from tests.conftest import api_headers


def user_id(app, email: str) -> int:
    from emergency.core.database import db_session

    with app.app_context():
        return db_session().scalar(select(User.id).where(User.email == email))


def member(app, email: str) -> User:
    from emergency.core.database import db_session

    with app.app_context():
        return db_session().scalar(select(User).where(User.email == email))


def test_a_coordinator_lists_who_may_be_on_call(app, client):
    response = client.get("/api/v1/on-call", headers=api_headers(app))
    assert response.status_code == 200
    body = response.get_json()
    assert sorted(u["email"] for u in body["users"]) == [
        "approver@example.org", "coordinator2@example.org", "coordinator@example.org"]
    assert {u["on_call"] for u in body["users"]} == {False}
    assert body["notifications"] == []


def test_a_coordinator_puts_someone_on_call_with_a_phone(app, client):
    ada = user_id(app, "approver@example.org")
    response = client.patch(f"/api/v1/users/{ada}/on-call", headers=api_headers(app),
                            json={"on_call": True, "phone": "+33 6 12 34 56 78"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"id": ada, "name": "Ada Approver", "email": "approver@example.org",
                                   "role": "approver", "language": "en", "phone": "+33612345678", "on_call": True}
    listed = client.get("/api/v1/on-call", headers=api_headers(app)).get_json()["users"]
    assert listed[0]["email"] == "approver@example.org" and listed[0]["on_call"] is True  # on call first
    from emergency.core.database import db_session

    with app.app_context():
        entries = db_session().scalars(select(AuditEntry).where(AuditEntry.object_type == "user")).all()
        assert [(e.actor, e.action) for e in entries] == [("api:coordinator@example.org", "user.phone_changed"),
                                                          ("api:coordinator@example.org", "user.on_call")]
        assert all("+33" not in str(e.details) for e in entries)


def test_a_null_phone_removes_it(app, client):
    ada = user_id(app, "approver@example.org")
    client.patch(f"/api/v1/users/{ada}/on-call", headers=api_headers(app), json={"phone": "+33612345678"})
    response = client.patch(f"/api/v1/users/{ada}/on-call", headers=api_headers(app), json={"phone": None})
    assert response.get_json()["phone"] is None


def test_an_invalid_phone_is_refused_in_french_and_nothing_changes(app, client):
    ada = user_id(app, "approver@example.org")
    response = client.patch(f"/api/v1/users/{ada}/on-call", headers={**api_headers(app), "Accept-Language": "fr"},
                            json={"on_call": True, "phone": "+33 12"})
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "invalid"
    assert body["fields"]["phone"] == "+33 12 n'est pas un numéro de téléphone valide."
    assert (member(app, "approver@example.org").on_call, member(app, "approver@example.org").phone) == (False, None)


def test_on_call_must_be_a_boolean(app, client):
    ada = user_id(app, "approver@example.org")
    response = client.patch(f"/api/v1/users/{ada}/on-call", headers=api_headers(app), json={"on_call": "yes"})
    assert response.status_code == 422 and "on_call" in response.get_json()["fields"]


def test_an_empty_change_is_refused(app, client):
    ada = user_id(app, "approver@example.org")
    response = client.patch(f"/api/v1/users/{ada}/on-call", headers=api_headers(app), json={"name": "x"})
    assert response.status_code == 422


def test_a_viewer_cannot_be_put_on_call_and_an_unknown_user_is_not_found(app, client):
    vic = user_id(app, "viewer@example.org")
    response = client.patch(f"/api/v1/users/{vic}/on-call", headers=api_headers(app), json={"on_call": True})
    assert response.status_code == 422 and "user" in response.get_json()["fields"]
    assert client.patch("/api/v1/users/9999/on-call", headers=api_headers(app),
                        json={"on_call": True}).status_code == 404


def test_a_viewers_token_can_neither_list_nor_change(app, client):
    viewer = api_headers(app, "viewer@example.org")
    ada = user_id(app, "approver@example.org")
    assert client.get("/api/v1/on-call", headers=viewer).status_code == 403
    assert client.patch(f"/api/v1/users/{ada}/on-call", headers=viewer, json={"on_call": True}).status_code == 403
    assert member(app, "approver@example.org").on_call is False
