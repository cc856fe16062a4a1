"""The on-call page: coordinators and up see who may be on call and put them on or off call
with their mobile phone (validated, refused in the reader's language, changing nothing);
viewers neither see nor change it; every change is audited without the number; the latest
messages to officers are listed with their status and error; forms carry a CSRF token."""
from __future__ import annotations

import html as htmllib
import re

import pytest
from sqlalchemy import select

from emergency.core.models import AuditEntry, StaffNotification, User
from tests.conftest import PASSWORD


def text_of(response) -> str:
    return htmllib.unescape(response.get_data(as_text=True))


def user(app, email: str) -> User:
    from emergency.core.database import db_session

    with app.app_context():
        return db_session().scalar(select(User).where(User.email == email))


def audit_actions(app) -> list[tuple[str, str, dict | None]]:
    from emergency.core.database import db_session

    with app.app_context():
        return [(e.action, e.object_id, e.details) for e in db_session().scalars(
            select(AuditEntry).where(AuditEntry.object_type == "user").order_by(AuditEntry.id))]


def save(client, target: User, on_call: bool, phone: str = "", **extra):
    prefix = f"user-{target.id}"
    data = {f"{prefix}-phone": phone, **extra}
    if on_call:
        data[f"{prefix}-on_call"] = "y"
    return client.post(f"/on-call/{target.id}", data=data)


def test_the_page_lists_coordinators_and_up_but_not_viewers(app, login_as):
    client = login_as("coordinator@example.org")
    page = text_of(client.get("/on-call"))
    assert "Cora Coordinator" in page and "Ada Approver" in page and "Colin Coordinator" in page
    assert "Vic Viewer" not in page


def test_a_coordinator_puts_an_approver_on_call_with_a_phone(app, login_as):
    client = login_as("coordinator@example.org")
    ada = user(app, "approver@example.org")
    response = save(client, ada, True, "+33 6 12 34 56 78")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/on-call#user-{ada.id}")
    ada = user(app, "approver@example.org")
    assert (ada.on_call, ada.phone) == (True, "+33612345678")
    assert audit_actions(app) == [("user.phone_changed", str(ada.id), {"has_phone": True}),
                                  ("user.on_call", str(ada.id), None)]
    page = text_of(client.get("/on-call"))
    assert "On-call details of Ada Approver saved." in page


def test_taking_someone_off_call_is_audited(app, login_as):
    client = login_as("coordinator@example.org")
    ada = user(app, "approver@example.org")
    save(client, ada, True)
    save(client, ada, False)
    assert user(app, "approver@example.org").on_call is False
    assert [a for a, _id, _d in audit_actions(app)] == ["user.on_call", "user.off_call"]


@pytest.mark.parametrize("lang, message", [
    ("en", "Write the number in international format, starting with + and the country code, like +1 613 555 0199."),
    ("fr", "Écrivez le numéro au format international, en commençant par + et l'indicatif du pays, comme "
           "+1 613 555 0199."),
])
def test_an_invalid_phone_is_refused_in_the_readers_language_and_changes_nothing(app, login_as, lang, message):
    client = login_as("coordinator@example.org")
    client.get(f"/on-call?lang={lang}")
    ada = user(app, "approver@example.org")
    response = save(client, ada, True, "613 555 0199")
    assert response.status_code == 422
    assert message in text_of(response)
    ada = user(app, "approver@example.org")
    assert (ada.on_call, ada.phone) == (False, None)
    assert audit_actions(app) == []


def test_a_landline_is_refused_because_it_cannot_get_text_messages(app, login_as):
    client = login_as("coordinator@example.org")
    response = save(client, user(app, "approver@example.org"), True, "+33 1 42 68 53 00")
    assert response.status_code == 422
    assert "cannot receive text messages" in text_of(response)


def test_a_viewer_can_neither_see_nor_change_the_list(app, login_as):
    client = login_as("viewer@example.org")
    assert client.get("/on-call").status_code == 403
    assert save(client, user(app, "approver@example.org"), True).status_code == 403
    assert user(app, "approver@example.org").on_call is False


def test_a_viewer_cannot_be_put_on_call(app, login_as):
    client = login_as("coordinator@example.org")
    assert save(client, user(app, "viewer@example.org"), True).status_code == 404
    assert user(app, "viewer@example.org").on_call is False


def test_the_cases_page_links_to_the_on_call_page_for_coordinators_only(app, client, login_as):
    assert 'id="on-call-link"' in text_of(login_as("coordinator@example.org").get("/cases"))
    client.post("/logout")
    assert 'id="on-call-link"' not in text_of(login_as("viewer@example.org").get("/cases"))


def test_the_page_lists_the_latest_messages_with_their_status_and_error(app, login_as, make_traveller, make_incident):
    from emergency.core.database import db_session
    from emergency.services.responses import record_response

    client = login_as("coordinator@example.org")
    save(client, user(app, "coordinator@example.org"), True, "+16135550101")
    incident, ann = make_incident(), make_traveller("Ann", email="ann@example.org")
    with app.test_request_context():
        record_response(incident, ann, "need_help", "link")
    with app.app_context():
        row = db_session().scalar(select(StaffNotification).where(StaffNotification.channel == "sms"))
        row.status, row.error = "failed", "Twilio 21610 unsubscribed"
        db_session().commit()
    page = text_of(client.get("/on-call"))
    rows = re.findall(r'<tr data-notification="\d+" class="notification-(\w+)">', page)
    assert sorted(rows) == ["failed", "sent"]
    assert "Case opened" in page and "Twilio 21610 unsubscribed" in page


def test_the_page_in_french(app, login_as):
    client = login_as("coordinator@example.org")
    page = text_of(client.get("/on-call?lang=fr"))
    assert "<h1>De garde</h1>" in page and "Téléphone mobile (format international)" in page


class TestWithCsrf:
    @pytest.fixture
    def app_overrides(self):
        return {"WTF_CSRF_ENABLED": True}

    @staticmethod
    def token(client, path):
        html = client.get(path).get_data(as_text=True)
        return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)

    def test_a_change_without_the_form_token_changes_nothing(self, app, client):
        client.post("/login", data={"email": "coordinator@example.org", "password": PASSWORD,
                                    "csrf_token": self.token(client, "/login")})
        ada = user(app, "approver@example.org")
        response = save(client, ada, True, "+33612345678")
        assert response.status_code in (302, 400)
        assert user(app, "approver@example.org").on_call is False

    def test_a_change_with_the_pages_form_token_is_saved(self, app, client):
        client.post("/login", data={"email": "coordinator@example.org", "password": PASSWORD,
                                    "csrf_token": self.token(client, "/login")})
        ada = user(app, "approver@example.org")
        page = client.get("/on-call").get_data(as_text=True)
        form = page[page.index(f'action="/on-call/{ada.id}"'):]
        token = re.search(r'name="user-\d+-csrf_token" type="hidden" value="([^"]+)"', form).group(1)
        response = save(client, ada, True, "+33612345678", **{f"user-{ada.id}-csrf_token": token})
        assert response.status_code == 302
        assert user(app, "approver@example.org").on_call is True
