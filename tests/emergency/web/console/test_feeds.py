"""The feeds & rules page: viewers read it; coordinators create and change rules (refused in
the reader's language, field by field, changing nothing); only administrators add feeds and
allow a rule to send by itself; every form carries a CSRF token."""
from __future__ import annotations

import html as htmllib
import re

import pytest
from sqlalchemy import select

from emergency.core.models import AuditEntry, Feed, TriggerRule
from tests.conftest import PASSWORD, _password_hash
from tests.emergency.services.test_hazards import count, make_rule

ADMIN = "admin@example.org"
RULE = {"name": "Strong quakes", "source": "any", "kinds": ["earthquake"], "min_magnitude": "6.5",
        "min_alert_level": "", "min_severity": "", "countries": "JP, PH", "min_affected": "3", "action": "draft",
        "enabled": "y"}


def text_of(response) -> str:
    return htmllib.unescape(response.get_data(as_text=True))


def add_admin(app) -> None:
    from emergency.core.auth import create_user
    from emergency.core.database import db_session

    with app.app_context():
        user = create_user(ADMIN, "Ad Min", "admin")
        user.password_hash = _password_hash()
        db_session().commit()


def rule(app, rule_id: int) -> TriggerRule:
    from emergency.core.database import db_session

    with app.app_context():
        found = db_session().get(TriggerRule, rule_id)
        db_session().expunge(found)
        return found


def test_a_viewer_reads_the_page_without_any_form(app, login_as):
    rule_id = make_rule(app, name="Big quakes")
    client = login_as("viewer@example.org")
    page = text_of(client.get("/feeds"))
    assert "Big quakes" in page and f'id="rule-{rule_id}"' in page
    assert "<form" not in page.split("<main", 1)[-1].split("</main>")[0]
    assert client.post("/feeds/rules", data=RULE).status_code == 403
    assert client.post(f"/feeds/rules/{rule_id}", data={**RULE, "name": "Mine"}).status_code == 403
    assert client.post("/feeds", data={"name": "X", "kind": "usgs", "url": "https://example.org/x"}).status_code == 403
    assert rule(app, rule_id).name == "Big quakes" and count(app, Feed) == 0


def test_the_incidents_page_links_to_feeds_for_viewers_too(app, login_as):
    assert 'id="feeds-and-rules"' in text_of(login_as("viewer@example.org").get("/"))


def test_a_coordinator_creates_and_edits_a_rule_but_sees_no_feed_form(app, login_as):
    client = login_as("coordinator@example.org")
    page = text_of(client.get("/feeds"))
    assert 'id="add-feed"' not in page and 'name="auto_send_allowed"' not in page
    response = client.post("/feeds/rules", data=RULE)
    assert response.status_code == 302
    from emergency.core.database import db_session

    with app.app_context():
        saved = db_session().scalar(select(TriggerRule))
        assert (saved.name, saved.countries, saved.min_magnitude, saved.action) == ("Strong quakes", ["JP", "PH"], 6.5, "draft")
        rule_id = saved.id
    assert client.post(f"/feeds/rules/{rule_id}", data={**RULE, "min_affected": "10"}).status_code == 302
    assert rule(app, rule_id).min_affected == 10
    actions = [a for a, in _audit(app)]
    assert actions == ["trigger.rule_created", "trigger.rule_changed"]


def _audit(app):
    from emergency.core.database import db_session

    with app.app_context():
        return list(db_session().execute(select(AuditEntry.action).where(AuditEntry.object_type == "trigger_rule")
                                         .order_by(AuditEntry.id)))


def test_a_coordinator_cannot_allow_a_rule_to_send_even_by_forging_the_form(app, login_as):
    client = login_as("coordinator@example.org")
    client.post("/feeds/rules", data={**RULE, "action": "send", "auto_send_allowed": "y"})
    from emergency.core.database import db_session

    with app.app_context():
        assert db_session().scalar(select(TriggerRule.auto_send_allowed)) is False


@pytest.mark.parametrize("lang, change, message", [
    ("en", {"name": ""}, "A name is required."),
    ("fr", {"name": ""}, "Un nom est requis."),
    ("en", {"min_magnitude": "strong"}, "This must be a number."),
    ("fr", {"min_magnitude": "strong"}, "Ce doit être un nombre."),
    ("en", {"countries": "JP, XX"}, "Unknown country code: XX."),
    ("fr", {"countries": "JP, XX"}, "Code de pays inconnu\u00a0: XX."),
    ("fr", {"kinds": ["meteor"]}, "Type d’événement inconnu."),
])
def test_an_invalid_rule_is_refused_in_the_readers_language_and_changes_nothing(app, login_as, lang, change, message):
    client = login_as("coordinator@example.org")
    client.get(f"/feeds?lang={lang}")
    response = client.post("/feeds/rules", data={**RULE, **change})
    assert response.status_code == 422
    page = text_of(response)
    assert f'<p class="error" role="alert">{message}</p>' in page
    assert 'value="Strong quakes"' in page or change.get("name") == ""  # what was typed is kept
    assert count(app, TriggerRule) == 0 and _audit(app) == []


def test_an_invalid_change_leaves_the_rule_as_it_was(app, login_as):
    rule_id = make_rule(app, name="Big quakes")
    client = login_as("coordinator@example.org")
    response = client.post(f"/feeds/rules/{rule_id}", data={**RULE, "min_affected": "-4"})
    assert response.status_code == 422 and "This number is out of range." in text_of(response)
    assert f'<details id="rule-{rule_id}" class="rule" open>' in text_of(response)
    assert rule(app, rule_id).name == "Big quakes"


def test_an_administrator_allows_a_rule_to_send_and_adds_a_feed(app, login_as):
    add_admin(app)
    client = login_as(ADMIN)
    page = text_of(client.get("/feeds"))
    assert 'id="add-feed"' in page and 'name="auto_send_allowed"' in page
    assert client.post("/feeds/rules", data={**RULE, "action": "send", "auto_send_allowed": "y"}).status_code == 302
    from emergency.core.database import db_session

    with app.app_context():
        assert db_session().scalar(select(TriggerRule.auto_send_allowed)) is True
    added = client.post("/feeds", data={"name": "USGS M4.5", "kind": "usgs",
                                        "url": "https://earthquake.usgs.gov/earthquakes/feed/v1.0/summary/4.5_hour.geojson"})
    assert added.status_code == 302
    assert count(app, Feed) == 1 and count(app, AuditEntry, AuditEntry.action == "trigger.feed_added") == 1


@pytest.mark.parametrize("lang, data, message", [
    ("en", {"name": "", "kind": "usgs", "url": "https://example.org/a"}, "Give the feed a name."),
    ("fr", {"name": "A", "kind": "rss", "url": "https://example.org/a"},
     "Choisissez un type de flux\u00a0: usgs, gdacs ou cap_index."),
    ("fr", {"name": "A", "kind": "usgs", "url": "ftp://example.org/a"}, "Donnez au flux une adresse http(s)."),
])
def test_an_invalid_feed_is_refused_in_the_readers_language(app, login_as, lang, data, message):
    add_admin(app)
    client = login_as(ADMIN)
    client.get(f"/feeds?lang={lang}")
    response = client.post("/feeds", data=data)
    assert response.status_code == 422 and message in text_of(response)
    assert count(app, Feed) == 0


def test_the_page_in_french(app, login_as):
    page = text_of(login_as("coordinator@example.org").get("/feeds?lang=fr"))
    assert "<h1>Flux et règles</h1>" in page


class TestWithCsrf:
    @pytest.fixture
    def app_overrides(self):
        return {"WTF_CSRF_ENABLED": True}

    @staticmethod
    def login(client, email="coordinator@example.org"):
        html = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
        client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})

    def test_a_rule_without_the_form_token_is_not_saved(self, app, client):
        self.login(client)
        response = client.post("/feeds/rules", data=RULE)
        assert response.status_code in (302, 400)
        assert count(app, TriggerRule) == 0

    def test_a_rule_with_the_pages_form_token_is_saved(self, app, client):
        self.login(client)
        page = client.get("/feeds").get_data(as_text=True)
        form = page[page.index('action="/feeds/rules"'):]
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
        assert client.post("/feeds/rules", data={**RULE, "csrf_token": token}).status_code == 302
        assert count(app, TriggerRule) == 1
