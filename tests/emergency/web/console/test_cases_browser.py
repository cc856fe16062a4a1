"""A coordinator on a phone, in French, works the case queue: each case is a card that fits the
screen (no sideways scrolling), the longest wait on top; the case page shows how to reach the
person, and taking the case in hand is one form away. Screenshots land in test-artifacts/."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from emergency.core.models import Case
from registry.models import Traveller
from tests.conftest import PASSWORD, post_incident

ARTIFACTS = Path(__file__).resolve().parents[4] / "test-artifacts"
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.browser


def test_a_coordinator_on_a_phone_works_the_case_queue_in_french(live_app, live_server, page):
    from playwright.sync_api import expect

    from emergency.core.database import db_session
    from emergency.services.responses import record_response

    ARTIFACTS.mkdir(exist_ok=True)
    incident = post_incident(live_app.test_client(), live_app, "Séisme à Lisbonne", radius_km=60)
    with live_app.test_request_context():
        for hours, name in ((1, "Ann"), (3, "Zoé")):
            traveller = db_session().scalar(select(Traveller.id).where(Traveller.given_name == name))
            record_response(incident, traveller, "need_help", "sms", message="Immeuble effondré, rue bloquée")
            case = db_session().scalar(select(Case).where(Case.traveller_id == traveller))
            case.opened_at = case.waiting_since = case.opened_at - timedelta(hours=hours)
        db_session().commit()

    phone = page.context.browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="fr-FR")
    tab = phone.new_page()
    tab.set_default_timeout(20000)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))

    tab.goto(f"{live_server}/login?lang=fr&next=/cases")
    tab.fill("#email", "coordinator@example.org")
    tab.fill("#password", PASSWORD)
    tab.click("button[type=submit]")
    expect(tab.locator("h1")).to_have_text("Dossiers")
    expect(tab.locator("#nav-cases .nav-count")).to_contain_text("2")
    rows = tab.locator("#case-queue tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Zoé")  # three hours of waiting before Ann's one
    expect(rows.first).to_contain_text("3 h 00 min")
    # On a phone each cell is a labelled line of the case's card.
    label = tab.evaluate("getComputedStyle(document.querySelector('#case-queue td'), '::before').content")
    assert label == '"Attente"'
    assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    tab.screenshot(path=str(ARTIFACTS / "cases-queue-fr-phone.png"), full_page=True)

    rows.first.locator("a").tap()
    expect(tab.locator("h1")).to_have_text("Zoé Lee")
    expect(tab.locator("#case-traveller")).to_contain_text("+351912345671")
    expect(tab.locator("#case-history")).to_contain_text("Demande d'aide par texto : dossier ouvert.")
    assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    tab.select_option("#status-status", "in_progress")
    tab.locator("#form-status button").tap()
    expect(tab.locator(".flash-success")).to_have_text("État modifié.")
    expect(tab.locator("#case-status")).to_have_text("En cours")
    tab.screenshot(path=str(ARTIFACTS / "case-page-fr-phone.png"), full_page=True)
    assert errors == []
