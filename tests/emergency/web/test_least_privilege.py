"""Least privilege: the outbox (sign-in links, answer links, addresses) is for administrators
in development only; a viewer sees no contact details anywhere an export would refuse them;
a traveller proves they hold a new email or phone before it is theirs; signing out ends the
session on the server, so a copy of the cookie is refused."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from emergency.core.models import AuditEntry
from registry.models import Traveller
from tests.conftest import PASSWORD, api_headers, login
from tests.emergency.web.public.test_selfservice import add_traveller, outbox, sign_in

DEVELOPMENT = {"ENV_NAME": "development"}


def add_admin(app, email="admin@example.org"):
    from emergency.core.auth import create_user
    from emergency.core.database import db_session

    with app.app_context():
        create_user(email, "Ada Admin", "admin", PASSWORD)
        db_session().commit()
    return email


# --- the outbox ------------------------------------------------------------------------

@pytest.mark.parametrize(("email", "status"), [("viewer@example.org", 403), ("coordinator@example.org", 403),
                                               ("approver@example.org", 403), ("admin@example.org", 200)])
def test_in_development_only_an_administrator_opens_the_outbox(make_app, email, status):
    app = make_app(**DEVELOPMENT)
    add_admin(app)
    client = app.test_client()
    login(client, email)
    assert client.get("/outbox").status_code == status
    assert client.post("/outbox/1/reply", data={"body": "1"}).status_code == (404 if status == 200 else 403)
    nav = client.get("/cases").get_data(as_text=True)
    assert ('href="/outbox"' in nav) is (status == 200)


def test_outside_development_the_outbox_does_not_exist_even_for_an_administrator(app, client):
    login(client, add_admin(app))
    assert client.get("/outbox").status_code == 404
    assert client.post("/outbox/1/reply", data={"body": "1"}).status_code == 404
    assert 'href="/outbox"' not in client.get("/cases").get_data(as_text=True)


def test_the_demo_has_an_administrator_who_sees_the_outbox(make_app):
    from emergency.cli.demo import prepare_demo

    app = make_app(**DEVELOPMENT)
    with app.app_context():
        logins = prepare_demo(0)
    admin = [(email, password) for role, email, password in logins if role == "admin"]
    assert len(admin) == 1
    client = app.test_client()
    login(client, *admin[0])
    assert client.get("/outbox").status_code == 200


# --- contact details and roles ----------------------------------------------------------

@pytest.fixture
def case_of_ann(app, make_traveller, make_incident):
    from emergency.core.database import db_session
    from emergency.services import cases
    from registry.models import EmergencyContact

    traveller_id = make_traveller("Ann", email="ann.secret@example.org", phone="+33612345678")
    incident_id = make_incident()
    with app.app_context():
        db_session().add(EmergencyContact(traveller_id=traveller_id, name="Mum", phone="+33698765432",
                                          email="mum.secret@example.org", language="fr"))
        case = cases.open_case_for_help(incident_id, traveller_id, "console")
        db_session().commit()
        return case.id


@pytest.mark.parametrize(("email", "shown"), [("viewer@example.org", False), ("coordinator@example.org", True)])
def test_the_case_page_shows_contact_details_only_to_roles_that_may_export_them(client, case_of_ann, email, shown):
    login(client, email)
    page = client.get(f"/cases/{case_of_ann}").get_data(as_text=True)
    for secret in ("ann.secret@example.org", "+33612345678", "mum.secret@example.org", "+33698765432"):
        assert (secret in page) is shown
    assert ('id="contacts-hidden"' in page) is (not shown)


@pytest.mark.parametrize(("email", "shown"), [("viewer@example.org", False), ("coordinator@example.org", True)])
def test_the_case_api_gives_contact_details_only_to_roles_that_may_export_them(client, app, case_of_ann, email, shown):
    body = client.get(f"/api/v1/cases/{case_of_ann}", headers=api_headers(app, email)).get_json()
    traveller = body["traveller"]
    assert (traveller["email"] == "ann.secret@example.org") is shown
    assert (traveller["phone"] == "+33612345678") is shown
    assert (traveller["emergency_contacts"][0]["email"] == "mum.secret@example.org") is shown
    assert traveller["given_name"] == "Ann" and traveller["emergency_contacts"][0]["name"] == "Mum"


# --- a traveller's new address ------------------------------------------------------------

def test_a_traveller_cannot_take_another_records_email_without_the_code_sent_to_it(client, app):
    from emergency.core.database import db_session

    add_traveller(app, email="ann@example.org")
    bob = add_traveller(app, email="bob@example.org")
    sign_in(client, app, "bob@example.org")
    response = client.post("/my/contacts", data={"email": "ann@example.org", "phone": "", "language": "en"})
    assert response.status_code == 302 and response.headers["Location"] == "/my/contacts/confirm"
    with app.app_context():
        assert db_session().get(Traveller, bob).email == "bob@example.org"
    code_to_ann = [m for m in outbox(app, "ann@example.org") if re.search(r"\b\d{6}\b", m.body)]
    assert len(code_to_ann) == 1  # the code went to the address being claimed, not to Bob
    for attempt in range(5):
        wrong = client.post("/my/contacts/confirm/email", data={"code": "000000"})
        assert wrong.status_code == 400
    right = re.search(r"\b(\d{6})\b", code_to_ann[0].body).group(1)
    assert client.post("/my/contacts/confirm/email", data={"code": right}).status_code == 400  # tries used up
    with app.app_context():
        assert db_session().get(Traveller, bob).email == "bob@example.org"


def test_the_holder_of_the_new_address_confirms_it_with_the_code(client, app):
    from emergency.core.database import db_session

    bob = add_traveller(app, email="bob@example.org")
    sign_in(client, app, "bob@example.org")
    client.post("/my/contacts", data={"email": "robert@example.org", "phone": "", "language": "en"})
    page = client.get("/my/contacts/confirm").get_data(as_text=True)
    assert "robert@example.org" in page and 'id="confirm-email"' in page
    body = outbox(app, "robert@example.org")[-1].body
    code = re.search(r"\b(\d{6})\b", body).group(1)
    assert client.post("/my/contacts/confirm/email", data={"code": code}).status_code == 302
    with app.app_context():
        assert db_session().get(Traveller, bob).email == "robert@example.org"
    assert client.post("/my/contacts/confirm/email", data={"code": code}).status_code == 400  # used once


# --- signing out ends the session on the server --------------------------------------------

def test_a_staff_cookie_copied_before_sign_out_is_refused_after(app):
    client = app.test_client()
    login(client, "coordinator@example.org")
    stolen = client.get_cookie("session").value
    assert client.post("/logout").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    response = replay.get("/cases")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    login(client, "coordinator@example.org")  # signing in again works
    assert client.get("/cases").status_code == 200


def test_a_traveller_cookie_copied_before_sign_out_is_refused_after(app, client):
    add_traveller(app)
    sign_in(client, app)
    stolen = client.get_cookie("session").value
    assert client.get("/my/trips").status_code == 200
    client.post("/my/signout")
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    response = replay.get("/my/trips")
    assert response.status_code == 302 and response.headers["Location"].startswith("/my")
    assert replay.post("/my/contacts", data={"email": "x@example.org"}).status_code == 302


def test_sign_in_sign_out_and_failures_are_audited_with_the_address_and_no_typed_email(app):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    client.post("/login", data={"email": "typo-password@example.org", "password": "nope"})
    login(client, "coordinator@example.org")
    client.post("/logout")
    from emergency.core.database import db_session

    with app.app_context():
        rows = db_session().scalars(select(AuditEntry).where(AuditEntry.action.like("user.%"))
                                    .order_by(AuditEntry.id)).all()
        assert [(r.action, r.address) for r in rows] == [("user.signin_failed", "192.0.2.7"),
                                                        ("user.signed_in", "192.0.2.7"),
                                                        ("user.signed_out", "192.0.2.7")]
        assert all("typo-password" not in f"{r.actor} {r.details}" for r in rows)


def test_a_travellers_own_actions_keep_no_address(app, client):
    add_traveller(app)
    sign_in(client, app)
    from emergency.core.database import db_session

    with app.app_context():
        entry = db_session().scalars(select(AuditEntry).where(AuditEntry.action == "traveller.signed_in")).one()
        assert entry.address is None



def test_a_deactivated_staff_members_open_session_ends_at_once(app, client):
    from emergency.core.database import db_session
    from emergency.core.models import User

    login(client, "coordinator@example.org")
    assert client.get("/cases").status_code == 200
    with app.app_context():
        db_session().scalar(select(User).where(User.email == "coordinator@example.org")).active = False
        db_session().commit()
    response = client.get("/cases")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
