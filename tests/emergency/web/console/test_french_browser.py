"""What a person sees in Chromium, in English and in French: the preview forgets the previous
zone after an error, the SMS counters count the bilingual SMS each reader gets, Leaflet's
controls speak the page's language, and an unknown address is a house page."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import PASSWORD

ARTIFACTS = Path(__file__).resolve().parents[4] / "test-artifacts"

pytestmark = pytest.mark.browser

WORDS = {
    "en": {"zoom_in": "Zoom in", "polygon": "Draw a polygon", "sms": "English readers get one SMS with both texts",
           "two": "2 segments", "not_found": "Page not found", "other": "Page introuvable"},
    "fr": {"zoom_in": "Zoom avant", "polygon": "Dessiner un polygone",
           "sms": "Les lecteurs anglophones reçoivent un seul SMS avec les deux textes", "two": "2 segments",
           "not_found": "Page introuvable", "other": "Page not found"},
}


def sign_in(page, base: str, lang: str) -> None:
    page.goto(f"{base}/login?lang={lang}")
    page.fill("#email", "coordinator@example.org")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_a_refused_zone_clears_the_previous_preview(live_server, page, lang):
    from playwright.sync_api import expect

    sign_in(page, live_server, lang)
    page.goto(f"{live_server}/incidents/new")
    expect(page.locator(".leaflet-control-zoom-in")).to_have_attribute("title", WORDS[lang]["zoom_in"])
    expect(page.locator(".leaflet-draw-draw-polygon")).to_have_attribute("title", WORDS[lang]["polygon"])
    page.check("input[name=zone_kind][value=circle]")
    page.fill("#lat", "38,72")  # a decimal comma, as a French reader writes it
    page.fill("#lon", "-9.14")
    page.fill("#radius_km", "60")
    page.click("#preview-button")
    expect(page.locator("#affected-count")).to_have_text("3")
    expect(page.locator("#preview-table")).to_be_visible()
    page.fill("#lat", "north")
    page.click("#preview-button")
    expect(page.locator("#preview-error")).to_be_visible()
    expect(page.locator("#preview-error")).to_contain_text("Latitude")
    expect(page.locator("#preview-table")).to_be_hidden()
    assert page.locator("#preview-table tbody tr").count() == 0
    page.screenshot(path=str(ARTIFACTS / f"preview-cleared-{lang}.png"), full_page=True)
    assert page.js_errors == []


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_sms_counters_count_the_bilingual_sms_each_reader_gets(live_server, page, lang):
    from playwright.sync_api import expect

    sign_in(page, live_server, lang)
    page.goto(f"{live_server}/incidents/new")
    page.fill("#title", "Floods")
    page.check("input[name=zone_kind][value=circle]")
    page.fill("#lat", "38.72")
    page.fill("#lon", "-9.14")
    page.fill("#radius_km", "60")
    page.locator("form:has(#title) button.btn-primary").click()
    page.wait_for_url(re.compile(r".*/incidents/\d+$"))
    page.fill("#sms_en", "Consular alert: floods in Lisbon. Are you safe? Reply 1 if safe, 2 if you need help.")
    page.fill("#sms_fr", "Alerte consulaire : inondations a Lisbonne. Etes-vous en securite? Repondez 1 ou 2.")
    counter = page.locator("#sms-en-count")
    expect(counter).to_contain_text(WORDS[lang]["sms"])
    expect(counter).to_contain_text(WORDS[lang]["two"])  # 84 + 2 + 83 characters: two GSM-7 segments
    page.locator("#compose").screenshot(path=str(ARTIFACTS / f"sms-counters-{lang}.png"))
    assert page.js_errors == []


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_an_unknown_address_is_a_house_page_in_both_languages(live_server, page, lang):
    from playwright.sync_api import expect

    sign_in(page, live_server, lang)
    page.goto(f"{live_server}/incidents/424242")
    expect(page.locator("main h1")).to_have_text(WORDS[lang]["not_found"])
    expect(page.locator("main h2")).to_have_text(WORDS[lang]["other"])
    expect(page.locator(".langswitch a")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / f"not-found-{lang}.png"), full_page=True)


@pytest.mark.parametrize("lang, words", [("en", "3 travellers on the map"), ("fr", "3 voyageurs sur la carte")])
def test_the_map_counts_travellers_with_the_languages_plural(live_server, page, lang, words):
    from playwright.sync_api import expect

    sign_in(page, live_server, lang)
    page.goto(f"{live_server}/incidents/new")
    page.fill("#title", "Floods")
    page.check("input[name=zone_kind][value=circle]")
    page.fill("#lat", "38.72")
    page.fill("#lon", "-9.14")
    page.fill("#radius_km", "60")
    page.locator("form:has(#title) button.btn-primary").click()
    page.wait_for_url(re.compile(r".*/incidents/\d+$"))
    expect(page.locator("#map-status")).to_contain_text(words)
    assert page.evaluate("Console.plural({one: 'a', other: 'b'}, 0)") == ("a" if lang == "fr" else "b")
