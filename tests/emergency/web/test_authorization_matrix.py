"""The authorization matrix: every route of the application (app.url_map, every method) asked
by every kind of caller, with the answer each must get kept in one table, `MATRIX`.

A route added without a row in the table fails `test_every_route_has_a_row`, so nobody adds
a page or an endpoint without deciding who may use it. A row is built by the surface's rule:

- console pages (`console(level)`): not signed in as staff → 302 to /login; staff below
  `level` → 403; at or above → allowed;
- the staff API (`api(level)`): no staff token → 401 (a traveller's session is no token);
  a partner's token or a staff role below `level` → 403;
- the partners' API (`partner_api()`): no token → 401; any staff token → 403;
- a traveller's own pages (`traveller()`): anyone not signed in as a traveller → 302 to /my;
- public pages (`public()`): everyone; provider webhooks (`signed()`): everyone unsigned → 403;
  signing out (`back_to_sign_in()`): everyone → 302 to the sign-in page.

"Allowed" (`OK`) is any answer below 500 that is not one of those refusals: the matrix
checks who gets through, the route's own tests check what it does with the input.
Each caller is signed in the way its surface expects: staff by the console's log-in and
their bearer token, a partner by its token, a traveller by an emailed sign-in link.
"""
from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD, api_headers

OK = "ok"
ROLES = ("anonymous", "traveller", "partner", "viewer", "coordinator", "approver", "admin")
STAFF = ("viewer", "coordinator", "approver", "admin")


def console(level: str) -> tuple:
    return tuple(302 if role not in STAFF else (OK if STAFF.index(role) >= STAFF.index(level) else 403)
                 for role in ROLES)


def api(level: str) -> tuple:
    return tuple(401 if role in ("anonymous", "traveller") else 403 if role == "partner" else
                 (OK if STAFF.index(role) >= STAFF.index(level) else 403) for role in ROLES)


def partner_api() -> tuple:
    return tuple(401 if role in ("anonymous", "traveller") else OK if role == "partner" else 403 for role in ROLES)


def traveller() -> tuple:
    return tuple(OK if role == "traveller" else 302 for role in ROLES)


def public() -> tuple:
    return (OK,) * len(ROLES)


def signed() -> tuple:
    return (403,) * len(ROLES)


def back_to_sign_in() -> tuple:
    """Signing out: whoever asks ends on the sign-in page."""
    return (302,) * len(ROLES)


MATRIX: dict[tuple[str, str], tuple] = {
    # console
    ("GET", "/"): console("viewer"),
    ("GET", "/login"): public(),
    ("POST", "/login"): public(),
    ("POST", "/logout"): back_to_sign_in(),
    # the second step of a log-in: only the person half-way through one gets the page
    ("GET", "/login/code"): back_to_sign_in(),
    ("POST", "/login/code"): back_to_sign_in(),
    ("GET", "/account/two-step"): console("viewer"),
    ("POST", "/account/two-step"): console("viewer"),
    ("POST", "/account/two-step/off"): console("viewer"),
    ("GET", "/advisories"): console("viewer"),
    ("POST", "/advisories"): console("coordinator"),
    ("POST", "/alerts/<int:alert_id>/approve"): console("approver"),
    ("POST", "/alerts/<int:alert_id>/send"): console("coordinator"),
    ("POST", "/alerts/sms-info"): console("viewer"),
    ("GET", "/cases"): console("viewer"),
    ("GET", "/cases/<int:case_id>"): console("viewer"),
    ("POST", "/cases/<int:case_id>/<action>"): console("coordinator"),
    ("GET", "/countries.geojson"): public(),  # the base map's country shapes
    ("GET", "/feeds"): console("viewer"),
    ("POST", "/feeds"): console("admin"),
    ("POST", "/feeds/<int:feed_id>/toggle"): console("admin"),
    ("POST", "/feeds/rules"): console("coordinator"),
    ("POST", "/feeds/rules/<int:rule_id>"): console("coordinator"),
    ("GET", "/incidents/<int:incident_id>"): console("viewer"),
    ("POST", "/incidents/<int:incident_id>/alerts"): console("coordinator"),
    ("POST", "/incidents/<int:incident_id>/close"): console("coordinator"),
    ("GET", "/incidents/<int:incident_id>/export"): console("viewer"),
    ("GET", "/incidents/<int:incident_id>/export.<fmt>"): console("viewer"),
    ("POST", "/incidents/<int:incident_id>/followup"): console("coordinator"),
    ("POST", "/incidents/<int:incident_id>/followup/pause"): console("coordinator"),
    ("POST", "/incidents/<int:incident_id>/followup/resume"): console("coordinator"),
    ("POST", "/incidents/<int:incident_id>/followup/rounds"): console("coordinator"),
    ("GET", "/incidents/<int:incident_id>/points.json"): console("viewer"),
    ("POST", "/incidents/<int:incident_id>/sms-estimate"): console("viewer"),
    ("GET", "/incidents/<int:incident_id>/stats.json"): console("viewer"),
    ("POST", "/incidents/<int:incident_id>/travellers/<int:traveller_id>/answer"): console("coordinator"),
    ("POST", "/incidents/from-cap"): console("coordinator"),
    ("GET", "/incidents/new"): console("coordinator"),
    ("POST", "/incidents/new"): console("coordinator"),
    ("POST", "/incidents/preview"): console("coordinator"),
    ("GET", "/on-call"): console("coordinator"),
    ("POST", "/on-call/<int:user_id>"): console("coordinator"),
    # The outbox holds sign-in and answer links, emails and phone numbers: administrators only.
    ("GET", "/outbox"): console("admin"),
    ("POST", "/outbox/<int:message_id>/reply"): console("admin"),
    ("GET", "/travellers"): console("coordinator"),
    ("GET", "/travellers/<int:traveller_id>"): console("coordinator"),
    # staff API
    ("GET", "/api/v1/openapi.json"): public(),
    ("GET", "/api/v1/advisories"): api("viewer"),
    ("GET", "/api/v1/advisories/<cc>"): api("viewer"),
    ("PUT", "/api/v1/advisories/<cc>"): api("coordinator"),
    ("GET", "/api/v1/alerts/<int:alert_id>"): api("viewer"),
    ("POST", "/api/v1/alerts/<int:alert_id>/approve"): api("approver"),
    ("GET", "/api/v1/alerts/<int:alert_id>/cap"): api("viewer"),
    ("POST", "/api/v1/alerts/<int:alert_id>/send"): api("coordinator"),
    ("GET", "/api/v1/alerts/cap.atom"): api("viewer"),
    ("GET", "/api/v1/cases"): api("viewer"),
    ("GET", "/api/v1/cases/<int:case_id>"): api("viewer"),
    ("PATCH", "/api/v1/cases/<int:case_id>"): api("coordinator"),
    ("POST", "/api/v1/cases/<int:case_id>/notes"): api("coordinator"),
    ("GET", "/api/v1/incidents"): api("viewer"),
    ("POST", "/api/v1/incidents"): api("coordinator"),
    ("GET", "/api/v1/incidents/<int:incident_id>"): api("viewer"),
    ("GET", "/api/v1/incidents/<int:incident_id>/affected"): api("coordinator"),
    ("GET", "/api/v1/incidents/<int:incident_id>/alerts"): api("viewer"),
    ("POST", "/api/v1/incidents/<int:incident_id>/alerts"): api("coordinator"),
    ("POST", "/api/v1/incidents/<int:incident_id>/close"): api("coordinator"),
    ("GET", "/api/v1/incidents/<int:incident_id>/export"): api("viewer"),
    ("GET", "/api/v1/incidents/<int:incident_id>/followup"): api("viewer"),
    ("PATCH", "/api/v1/incidents/<int:incident_id>/followup"): api("coordinator"),
    ("POST", "/api/v1/incidents/<int:incident_id>/followup/pause"): api("coordinator"),
    ("POST", "/api/v1/incidents/<int:incident_id>/followup/resume"): api("coordinator"),
    ("POST", "/api/v1/incidents/<int:incident_id>/followup/rounds"): api("coordinator"),
    ("GET", "/api/v1/incidents/<int:incident_id>/recipients"): api("viewer"),
    ("GET", "/api/v1/incidents/<int:incident_id>/responses"): api("viewer"),
    ("POST", "/api/v1/incidents/<int:incident_id>/responses"): api("coordinator"),
    ("GET", "/api/v1/on-call"): api("coordinator"),
    ("PATCH", "/api/v1/users/<int:user_id>/on-call"): api("coordinator"),
    ("GET", "/api/v1/hazard-events"): api("viewer"),
    ("GET", "/api/v1/trigger-rules"): api("viewer"),
    ("POST", "/api/v1/trigger-rules"): api("coordinator"),
    ("GET", "/api/v1/trigger-rules/<int:rule_id>"): api("viewer"),
    ("PATCH", "/api/v1/trigger-rules/<int:rule_id>"): api("coordinator"),
    ("GET", "/api/v1/feeds"): api("viewer"),
    ("POST", "/api/v1/feeds"): api("admin"),
    ("GET", "/api/v1/travellers"): api("coordinator"),
    ("POST", "/api/v1/travellers"): api("coordinator"),
    ("GET", "/api/v1/travellers/<int:traveller_id>"): api("coordinator"),
    ("POST", "/api/v1/triggers"): api("coordinator"),
    # partners' API
    ("GET", "/api/v1/partners/me/travellers"): partner_api(),
    ("POST", "/api/v1/partners/me/travellers/import"): partner_api(),
    ("GET", "/api/v1/partners/me/travellers/<path:external_id>"): partner_api(),
    ("DELETE", "/api/v1/partners/me/travellers/<path:external_id>"): partner_api(),
    # travellers' own pages
    ("GET", "/my"): public(),
    ("POST", "/my"): public(),
    ("GET", "/my/signin/<token>"): public(),
    ("POST", "/my/signin/<token>"): public(),
    ("POST", "/my/signout"): back_to_sign_in(),
    ("POST", "/my/back-home"): traveller(),
    ("POST", "/my/contacts"): traveller(),
    ("GET", "/my/contacts/confirm"): traveller(),
    ("POST", "/my/contacts/confirm/<field>"): traveller(),
    ("GET", "/my/delete"): traveller(),
    ("POST", "/my/delete"): traveller(),
    ("GET", "/my/trips"): traveller(),
    ("POST", "/my/trips"): traveller(),
    ("POST", "/my/trips/<int:trip_id>/cancel"): traveller(),
    # public pages
    ("GET", "/healthz"): public(),
    ("GET", "/favicon.ico"): public(),
    ("GET", "/static/<path:filename>"): public(),
    ("GET", "/register"): public(),
    ("POST", "/register"): public(),
    ("GET", "/register/done"): public(),
    ("GET", "/places/suggest"): public(),
    ("GET", "/now"): public(),
    ("GET", "/incidents/<int:incident_id>/checkin"): public(),
    ("POST", "/incidents/<int:incident_id>/checkin"): public(),
    ("GET", "/checkin/<token>"): public(),
    ("POST", "/checkin/<token>"): public(),
    ("GET", "/r/<token>"): public(),
    ("POST", "/r/<token>"): public(),
    ("GET", "/r/<token>/<answer>"): public(),
    # provider webhooks: only a provider's signature lets a request in
    ("POST", "/webhooks/sendgrid/events"): signed(),
    ("POST", "/webhooks/twilio/sms"): signed(),
    ("POST", "/webhooks/twilio/status"): signed(),
}

# Run last for each caller: they end the caller's session.
SESSION_ENDERS = {("POST", "/logout"), ("POST", "/my/signout"), ("POST", "/my/delete")}
ARGUMENTS = {"cc": "FR", "fmt": "csv", "action": "note", "answer": "safe", "token": "not-a-token",
             "external_id": "E1", "filename": "missing.css",
             "field": "email"}


def routes(app) -> set[tuple[str, str]]:
    return {(method, rule.rule) for rule in app.url_map.iter_rules() for method in rule.methods - {"HEAD", "OPTIONS"}}


def url(rule: str) -> str:
    return re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: "1" if m.group(1) == "int" else ARGUMENTS[m.group(2)], rule)


def test_every_route_has_a_row(app):
    assert routes(app) - MATRIX.keys() == set(), "a route without a row in MATRIX: decide who may use it"
    assert MATRIX.keys() - routes(app) == set(), "a row of MATRIX names no route any more"


@pytest.fixture
def callers(app, make_traveller, make_incident):
    """A client per caller, signed in as its role; an incident, an alert and a traveller with id 1."""
    from emergency.core.auth import create_user, issue_api_token
    from emergency.core.database import db_session
    from emergency.services import signin
    from registry.partners import create_partner
    from tests.conftest import _password_hash

    traveller_id = make_traveller("Zoé", email="zoe@example.org")
    incident_id = make_incident("Floods")
    client = app.test_client()
    client.post(f"/api/v1/incidents/{incident_id}/alerts", headers=api_headers(app), json={"channels": ["email"]})
    with app.app_context():
        admin = create_user("admin@example.org", "Ada Admin", "admin")
        admin.password_hash = _password_hash()
        partner = create_partner(db_session(), "Acme Tours")
        partner_user = create_user("api@acme.example", "Acme API", "partner")
        partner_user.partner_id = partner.id
        tokens = {"admin": issue_api_token(admin), "partner": issue_api_token(partner_user)}
        link = signin.issue_token(traveller_id)
        db_session().commit()
    emails = {"viewer": "viewer@example.org", "coordinator": "coordinator@example.org",
              "approver": "approver@example.org", "admin": "admin@example.org"}
    made = {}
    for role in ROLES:
        client = app.test_client()
        headers = {}
        if role in STAFF:
            assert client.post("/login", data={"email": emails[role], "password": PASSWORD}).status_code == 302
            token = tokens["admin"] if role == "admin" else app.config["TEST_API_TOKENS"][emails[role]]
            headers = {"Authorization": f"Bearer {token}"}
        elif role == "partner":
            headers = {"Authorization": f"Bearer {tokens['partner']}"}
        elif role == "traveller":
            assert client.post(f"/my/signin/{link}").status_code == 302
        made[role] = (client, headers)
    return made


def refusal(response) -> int | None:
    """The refusal this answer is (302 to a sign-in page, 401, 403), or None."""
    if response.status_code in (401, 403):
        return response.status_code
    if response.status_code == 302 and re.search(r"^(https?://[^/]+)?/(login|my)(\?|$)", response.headers["Location"]):
        return 302
    return None


def test_every_caller_gets_what_the_matrix_says_on_every_route(app, callers):
    order = sorted(MATRIX, key=lambda key: (key in SESSION_ENDERS, key))
    wrong = []
    for index, role in enumerate(ROLES):
        client, headers = callers[role]
        for method, rule in order:
            expected = MATRIX[method, rule][index]
            response = client.open(url(rule), method=method, headers=headers)
            got = refusal(response)
            if response.status_code >= 500 or got != (None if expected == OK else expected):
                wrong.append(f"{role:11} {method:6} {rule}: expected {expected}, got {response.status_code}")
    assert wrong == []
