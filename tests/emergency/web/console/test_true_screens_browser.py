"""A coordinator's night in Chromium, in English and in French: the language chosen at log-in
stays after signing in again elsewhere, the incident has a title in each language and a
day-first start, the send flash counts the people, every table says how each one was placed.
(The outbox, an administrator's page in development only, is paged: test_true_screens.py.)"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import PASSWORD

ARTIFACTS = Path(__file__).resolve().parents[4] / "test-artifacts"

pytestmark = pytest.mark.browser

SEEN = {
    "en": {"title": "Lisbon earthquake", "sent": "Alert 1 is being sent to 3 people.", "point": "Exact point",
           "h1": "Incidents"},
    "fr": {"title": "Séisme à Lisbonne", "sent": "L'alerte 1 est en cours d'envoi à 3 personnes.", "point": "Point exact",
           "h1": "Incidents"},
}


def sign_in(browser, base: str, lang: str | None, locale: str):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale=locale)
    tab = context.new_page()
    tab.set_default_timeout(20000)
    tab.goto(f"{base}/login" + (f"?lang={lang}" if lang else ""))
    tab.fill("#email", "coordinator@example.org")
    tab.fill("#password", PASSWORD)
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{base}/")
    return context, tab


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_coordinators_night_reads_true_in_their_language(live_server, page, lang):
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    other = "en-CA" if lang == "fr" else "fr-CA"  # a browser whose own preference is the other language
    first, tab = sign_in(page.context.browser, live_server, lang, other)
    first.close()
    # Signing in again in a fresh browser (no session, other Accept-Language): the last choice holds.
    context, tab = sign_in(page.context.browser, live_server, None, other)
    assert tab.evaluate("document.documentElement.lang") == lang

    tab.goto(f"{live_server}/incidents/new")
    tab.fill("#title", "Lisbon earthquake")
    tab.fill("#title_fr", "Séisme à Lisbonne")
    tab.fill("#starts_at", "01/01/2026 07:30" if lang == "fr" else "2026-01-01 07:30")
    tab.check("input[name=zone_kind][value=circle]")
    tab.fill("#lat", "38,72" if lang == "fr" else "38.72")
    tab.fill("#lon", "-9.14")
    tab.fill("#radius_km", "60")
    tab.locator("form:has(#title) button.btn-primary").click()
    tab.wait_for_url(re.compile(r".*/incidents/\d+$"))
    expect(tab.locator("main h1")).to_contain_text(SEEN[lang]["title"])

    tab.locator("#compose button.btn-primary").click()
    tab.once("dialog", lambda dialog: dialog.accept())
    tab.locator("form[action$='/send'] button").click()
    expect(tab.locator(".flash-success")).to_have_text(SEEN[lang]["sent"])
    expect(tab.locator("#recipients")).to_contain_text(SEEN[lang]["point"])
    tab.screenshot(path=str(ARTIFACTS / f"sent-{lang}.png"), full_page=True)
    context.close()
