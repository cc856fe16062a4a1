"""A French traveller on a phone answers a safety check from the email's one-click link: the
page opens with "safe" chosen, nothing is recorded until she taps the one button, and the
confirmation follows. The screenshots land in test-artifacts/ (not kept in git)."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from emergency.core.models import SafetyResponse
from registry.models import Traveller
from tests.conftest import post_incident

ARTIFACTS = Path(__file__).resolve().parents[4] / "test-artifacts"
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.browser


def answers(app) -> list[tuple[int, str, str]]:
    from emergency.core.database import db_session

    with app.app_context():
        db_session().expire_all()
        return [(r.traveller_id, r.status, r.channel) for r in db_session().scalars(select(SafetyResponse))]


def test_a_french_traveller_on_a_phone_opens_the_safe_link_and_one_tap_answers(live_app, live_server, page):
    from playwright.sync_api import expect

    from emergency.core.database import db_session
    from emergency.services.safety_links import response_urls

    ARTIFACTS.mkdir(exist_ok=True)
    incident = post_incident(live_app.test_client(), live_app, "Séisme à Lisbonne", radius_km=60)
    with live_app.app_context():
        zoe = db_session().scalar(select(Traveller.id).where(Traveller.given_name == "Zoé"))
        safe_url = response_urls(incident, zoe)["safe_url"].replace(live_app.config["PUBLIC_BASE_URL"], live_server)

    phone = page.context.browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="fr-FR")
    tab = phone.new_page()
    tab.set_default_timeout(20000)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))

    tab.goto(safe_url)
    expect(tab.locator("html")).to_have_attribute("lang", "fr")
    expect(tab.locator("#confirm-hint")).to_contain_text("Rien n'est envoyé")
    expect(tab.locator('input[name=answer][value=safe]')).to_be_checked()
    expect(tab.locator('input[name=answer][value=help]')).not_to_be_checked()
    button = tab.locator("button[type=submit]")
    expect(button).to_have_count(1)
    expect(button).to_have_text("Envoyer ma réponse")
    box = button.bounding_box()
    assert box["width"] >= 300 and box["height"] >= 48  # a thumb finds it
    assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
    tab.screenshot(path=str(ARTIFACTS / "answer-link-fr-phone.png"), full_page=True)
    assert answers(live_app) == []

    button.tap()
    expect(tab.locator("#recorded")).to_contain_text("Merci. Nous avons noté que vous êtes en sécurité.")
    tab.screenshot(path=str(ARTIFACTS / "answer-link-fr-phone-done.png"), full_page=True)
    assert answers(live_app) == [(zoe, "safe", "link")]
    assert errors == []
