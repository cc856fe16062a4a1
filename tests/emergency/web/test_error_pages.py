"""Error pages a browser meets are the house's, in the reader's language with the other below;
the API keeps its JSON errors; a signed-in user's language follows their last choice."""
from __future__ import annotations

from sqlalchemy import select

from emergency.core.models import User
from tests.conftest import login


def test_an_unknown_console_address_is_a_french_page_in_the_console_layout(login_as):
    client = login_as("coordinator@example.org")
    response = client.get("/incidents/999999?lang=fr")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert '<html lang="fr">' in html
    assert "<h1>Page introuvable</h1>" in html
    assert "<h2>Page not found</h2>" in html
    assert 'class="mainnav"' in html and "English</a>" in html


def test_a_viewer_refused_a_console_page_reads_why_in_english_and_french(login_as):
    client = login_as("viewer@example.org")
    response = client.get("/travellers?lang=en")
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "<h1>Not allowed</h1>" in html and "<h2>Action non autorisée</h2>" in html


def test_a_wrong_method_on_a_traveller_page_uses_the_traveller_layout(client):
    response = client.put("/register", headers={"Accept-Language": "fr-CA"})
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    html = response.get_data(as_text=True)
    assert 'class="public-header"' in html and "<h1>Action impossible ici</h1>" in html


def test_a_server_error_is_a_house_page_not_a_traceback(app, client):
    @app.get("/boom")
    def boom():
        raise RuntimeError("ParseException: secret detail")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.get("/boom?lang=fr")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "<h1>Un problème est survenu</h1>" in html and "ParseException" not in html


def test_the_api_keeps_its_json_errors(client):
    response = client.get("/api/v1/no-such-thing", headers={"Accept-Language": "fr"})
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"


def test_the_language_chosen_on_the_login_page_is_the_users_language_after_signing_in(app, client, db):
    client.get("/login?lang=fr")
    login(client, "coordinator@example.org")
    assert db.scalar(select(User.language).where(User.email == "coordinator@example.org")) == "fr"
    other = app.test_client()  # another browser, no session language, an English browser
    page = login(other, "coordinator@example.org")
    assert '<html lang="fr">' in page.get_data(as_text=True)


def test_switching_language_in_the_console_is_remembered_for_the_user(login_as, db):
    client = login_as("coordinator@example.org")
    client.get("/?lang=fr")
    db.expire_all()
    assert db.scalar(select(User.language).where(User.email == "coordinator@example.org")) == "fr"
    client.get("/?lang=en")
    db.expire_all()
    assert db.scalar(select(User.language).where(User.email == "coordinator@example.org")) == "en"


def test_the_favicon_is_served_and_linked_from_both_layouts(client):
    assert client.get("/favicon.ico").headers["Location"].endswith("/static/favicon.svg")
    assert client.get("/static/favicon.svg").status_code == 200
    assert 'href="/static/favicon.svg"' in client.get("/login").get_data(as_text=True)
    assert 'href="/static/favicon.svg"' in client.get("/register").get_data(as_text=True)
