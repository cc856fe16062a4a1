"""Answering a safety check from the email: opening a one-click link (GET or HEAD, as mail
scanners and link previews do) records nothing and shows the answer page with that answer
chosen, in the traveller's language; only the traveller's tap on its one button (a POST with
the page's form token) records the answer, once."""
from __future__ import annotations

import html as htmllib
import re

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy import func, select

from emergency.core.models import AuditEntry, SafetyResponse
from tests.conftest import post_incident, post_traveller

SAFE_MSG = "Thank you. We have recorded that you are safe."
HELP_MSG = "We have recorded that you need help. A consular officer will contact you as soon as possible."
CHOSEN_HINT = "Your answer is chosen below. Nothing is sent until you tap the button."


def in_french(app, message: str) -> str:
    """The French catalogue's version of a message; fails if it has none, so an English page
    cannot pass for French."""
    with app.test_request_context(), force_locale("fr"):
        text = gettext(message)
    assert text != message, f"no French translation for {message!r}"
    return text


def text_of(response) -> str:
    return htmllib.unescape(response.get_data(as_text=True))


def recorded(app) -> list[tuple[int, str, str]]:
    """(traveller, status, channel) of every stored answer."""
    from emergency.core.database import db_session

    with app.app_context():
        return [(r.traveller_id, r.status, r.channel)
                for r in db_session().scalars(select(SafetyResponse).order_by(SafetyResponse.id))]


def answer_audits(app) -> int:
    from emergency.core.database import db_session

    with app.app_context():
        return db_session().scalar(select(func.count()).select_from(AuditEntry)
                                   .where(AuditEntry.action == "safety.response"))


def links_for(app, client, language: str, name: str = "Ann") -> dict[str, str]:
    """The paths of the email's links (safe, help, page) for a new traveller in an incident."""
    from emergency.services.safety_links import response_urls

    traveller = post_traveller(client, app, name, email=f"{name.lower()}@example.org", language=language)
    incident = post_incident(client, app, "Lisbon earthquake")
    with app.app_context():
        urls = response_urls(incident, traveller)
    base = app.config["PUBLIC_BASE_URL"]
    return {"traveller": traveller, **{k.removesuffix("_url"): v.removeprefix(base) for k, v in urls.items()}}


def checked_answers(page: str) -> list[str]:
    return re.findall(r'<input type="radio" name="answer" value="(\w+)" checked>', page)


@pytest.fixture
def ann(app, client):
    return links_for(app, client, "en")


@pytest.fixture
def zoe(app, client):
    return links_for(app, client, "fr", name="Zoe")


# --- opening a link records nothing -----------------------------------------------------

@pytest.mark.parametrize("method", ["get", "head"])
@pytest.mark.parametrize("answer", ["safe", "help"])
def test_opening_a_one_click_link_with_get_or_head_records_nothing(app, client, ann, method, answer):
    response = getattr(client, method)(ann[answer])
    assert response.status_code == 200
    assert recorded(app) == []
    assert answer_audits(app) == 0


def test_a_mail_scanner_that_opens_both_links_records_nothing(app, client, ann):
    for answer in ("safe", "help", "safe"):
        client.head(ann[answer])
        client.get(ann[answer])
    assert recorded(app) == [] and answer_audits(app) == 0
    page = text_of(client.get(ann["page"]))
    assert "Your current answer" not in page


def test_an_unknown_answer_word_is_not_found_and_records_nothing(app, client, ann):
    for word in ("maybe", "need_help", "SAFE"):
        assert client.get(ann["page"] + "/" + word).status_code == 404
    assert recorded(app) == []


# --- the page the link opens ------------------------------------------------------------

def test_the_safe_link_shows_an_english_traveller_the_page_in_english_with_safe_chosen(client, ann):
    page = text_of(client.get(ann["safe"]))
    assert '<html lang="en">' in page
    assert CHOSEN_HINT in page
    assert checked_answers(page) == ["safe"]
    assert page.count('type="submit"') == 1 and "Send my answer" in page
    assert f'<form method="post" action="{ann["page"]}"' in page
    assert 'name="message"' in page


def test_the_help_link_shows_a_french_traveller_the_page_in_french_with_help_chosen(app, client, zoe):
    page = text_of(client.get(zoe["help"]))
    assert '<html lang="fr">' in page
    assert in_french(app, CHOSEN_HINT) in page
    assert in_french(app, "Send my answer") in page and "Send my answer" not in page
    assert checked_answers(page) == ["help"]


def test_the_links_lang_parameter_wins_over_the_travellers_language(app, client, zoe):
    page = text_of(client.get(zoe["safe"] + "?lang=en"))
    assert '<html lang="en">' in page and CHOSEN_HINT in page
    assert checked_answers(page) == ["safe"]


def test_the_link_chooses_its_answer_even_when_another_one_was_given_before(app, client, ann):
    client.post(ann["page"], data={"answer": "safe"})
    page = text_of(client.get(ann["help"]))
    assert "Your current answer: you are safe." in page
    assert checked_answers(page) == ["help"]


@pytest.mark.parametrize("link", ["safe", "help", "page"])
def test_answer_pages_are_not_cached_and_send_no_referrer(client, ann, link):
    for response in (client.get(ann[link]), client.head(ann[link])):
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "no-referrer"


# --- the tap that answers ---------------------------------------------------------------

def test_one_tap_on_the_pages_button_records_the_answer_once(app, client, ann):
    client.get(ann["safe"])
    first = client.post(ann["page"], data={"answer": "safe", "via": "link", "message": ""})
    assert first.status_code == 200 and SAFE_MSG in text_of(first)
    client.post(ann["page"], data={"answer": "safe", "via": "link", "message": ""})  # a second tap
    assert recorded(app) == [(ann["traveller"], "safe", "link")]
    assert answer_audits(app) == 1


def test_a_french_traveller_who_taps_help_sees_the_confirmation_in_french(app, client, zoe):
    response = client.post(zoe["page"], data={"answer": "help", "via": "link", "message": "Au port"})
    assert in_french(app, HELP_MSG) in text_of(response)
    assert recorded(app) == [(zoe["traveller"], "need_help", "link")]


def test_an_answer_from_the_plain_answer_page_is_recorded_as_given_on_the_web(app, client, ann):
    client.post(ann["page"], data={"answer": "help"})
    assert recorded(app) == [(ann["traveller"], "need_help", "web")]


def test_a_post_without_an_answer_is_refused_and_records_nothing(app, client, ann):
    for data in ({}, {"answer": "maybe"}):
        assert client.post(ann["page"], data=data).status_code == 400
    assert recorded(app) == []


# --- broken links -----------------------------------------------------------------------

def tampered(path: str) -> str:
    payload, stamp, signature = path.split("/")[2].split(".")
    flipped = "A" if signature[5] != "A" else "B"
    return path.replace(signature, signature[:5] + flipped + signature[6:])


@pytest.mark.parametrize("link", ["safe", "help", "page"])
def test_a_tampered_link_keeps_its_error_page_and_records_nothing(app, client, ann, link):
    assert client.get(tampered(ann[link])).status_code == 400
    response = client.get(tampered(ann[link]) + "?lang=fr")
    assert response.status_code == 400
    assert in_french(app, "This link is not valid") in text_of(response)
    assert client.post(tampered(ann["page"]), data={"answer": "safe"}).status_code == 400
    assert recorded(app) == []


def test_an_expired_link_keeps_its_error_page_for_opening_and_for_answering(app, client, ann):
    app.config["SAFETY_LINK_MAX_AGE"] = -1
    opened = client.get(ann["safe"])
    assert opened.status_code == 410 and "This link has expired" in text_of(opened)
    french = client.get(ann["help"] + "?lang=fr")
    assert french.status_code == 410 and in_french(app, "This link has expired") in text_of(french)
    assert client.post(ann["page"], data={"answer": "safe"}).status_code == 410
    assert recorded(app) == []


# --- no form token (CSRF on elsewhere, as in production) --------------------------------

@pytest.fixture
def csrf_app(make_app):
    return make_app(WTF_CSRF_ENABLED=True)


def test_the_pages_own_form_records_the_answer_with_csrf_on_elsewhere(csrf_app):
    client = csrf_app.test_client()
    zoe = links_for(csrf_app, client, "fr", name="Zoe")
    client.get(zoe["safe"])
    response = client.post(zoe["page"], data={"answer": "safe", "via": "link"})
    assert response.status_code == 200 and in_french(csrf_app, SAFE_MSG) in text_of(response)
    assert recorded(csrf_app) == [(zoe["traveller"], "safe", "link")]


def test_a_browser_that_keeps_no_cookies_can_still_ask_for_help(csrf_app):
    """The signed link is the credential: no session cookie or form token is needed."""
    zoe = links_for(csrf_app, csrf_app.test_client(), "fr", name="Zoe")
    cookieless = csrf_app.test_client(use_cookies=False)
    response = cookieless.post(zoe["page"], data={"answer": "help", "via": "link",
                                                  "message": "Au port, avec ma sœur"})
    assert response.status_code == 200
    assert recorded(csrf_app) == [(zoe["traveller"], "need_help", "link")]


def test_a_post_without_a_form_token_on_a_broken_link_gets_the_links_error_page(csrf_app):
    client = csrf_app.test_client()
    ann = links_for(csrf_app, client, "en")
    response = client.post(tampered(ann["page"]), data={"answer": "safe"})
    assert response.status_code == 400 and "This link is not valid" in text_of(response)
    assert recorded(csrf_app) == []
