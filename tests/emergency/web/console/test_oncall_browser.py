"""The on-call page on a 390-pixel phone, in French: reached from the cases page, a
coordinator puts an approver on call with a phone; nothing scrolls sideways."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from emergency.core.models import User
from tests.conftest import PASSWORD

ARTIFACTS = Path(__file__).resolve().parents[4] / "test-artifacts"
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.browser


def test_a_coordinator_on_a_phone_puts_an_approver_on_call_in_french(live_app, live_server, page):
    from playwright.sync_api import expect

    from emergency.core.database import db_session

    ARTIFACTS.mkdir(exist_ok=True)
    with live_app.app_context():
        ada = db_session().scalar(select(User.id).where(User.email == "approver@example.org"))
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
    tab.locator("#on-call-link").tap()
    expect(tab.locator("h1")).to_have_text("De garde")
    assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    row = tab.locator(f"#user-{ada}")
    row.locator(f"#user-{ada}-phone").fill("06 12 34 56 78")
    row.locator(f"#user-{ada}-on_call").check()
    row.locator("button[type=submit]").tap()
    expect(tab.locator(f"#user-{ada} .error")).to_contain_text("format international")
    assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    row = tab.locator(f"#user-{ada}")
    row.locator(f"#user-{ada}-phone").fill("+33 6 12 34 56 78")
    row.locator("button[type=submit]").tap()
    expect(tab.locator(".flash-success")).to_have_text("Coordonnées de garde de Ada Approver enregistrées.")
    expect(tab.locator(f"#user-{ada} .on-call-badge")).to_have_text("De garde")
    assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    tab.screenshot(path=str(ARTIFACTS / "on-call-fr-phone.png"), full_page=True)
    with live_app.app_context():
        saved = db_session().scalar(select(User).where(User.id == ada))
        assert (saved.on_call, saved.phone) == (True, "+33612345678")
    assert errors == []
