"""The feeds & rules page on a 390-pixel phone, in French: reached from the incidents page,
with a feed that is down (a long address and error), an event with its incident, and a
rule refused then saved; nothing scrolls sideways."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.conftest import PASSWORD

ARTIFACTS = Path(__file__).resolve().parents[4] / "test-artifacts"
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.browser


def seed_feeds(app) -> None:
    from emergency.core.database import db_session
    from emergency.core.models import Feed, Hazard

    with app.app_context():
        session = db_session()
        session.add(Feed(name="MeteoAlarm France", kind="cap_index", enabled=True, consecutive_failures=4,
                         url="https://feeds.meteoalarm.org/feeds/meteoalarm-legacy-atom-france?" + "x" * 120,
                         last_error="ConnectionError fetching https://feeds.meteoalarm.org/feeds/meteoalarm-legacy-"
                                    "atom-france: HTTPSConnectionPool(host='feeds.meteoalarm.org', port=443): "
                                    "Max retries exceeded with url: /feeds/meteoalarm-legacy-atom-france"))
        now = datetime.now(timezone.utc)
        session.add(Hazard(source="usgs", source_id="us7000abcd", kind="earthquake", occurred_at=now,
                           title="M 6.8 - 35 km WSW of Ponta Delgada, Azores-Cape Verde Islands region, Portugal",
                           summary={}, magnitude=6.8, lat=37.6, lon=-26.0, countries=["PT"], affected=1234567))
        session.commit()


def test_a_coordinator_on_a_phone_reads_feeds_and_saves_a_rule_in_french(live_app, live_server, page):
    from playwright.sync_api import expect

    live_app.config["FEED_POLLING"] = False  # the seeded feed's address is not to be fetched
    seed_feeds(live_app)
    ARTIFACTS.mkdir(exist_ok=True)
    phone = page.context.browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="fr-FR")
    tab = phone.new_page()
    tab.set_default_timeout(20000)
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))

    tab.goto(f"{live_server}/login?lang=fr")
    tab.fill("#email", "coordinator@example.org")
    tab.fill("#password", PASSWORD)
    tab.click("button[type=submit]")
    expect(tab.locator("h1")).to_have_text("Incidents")
    tab.locator("#feeds-and-rules").tap()
    expect(tab.locator("h1")).to_have_text("Flux et règles")
    expect(tab.locator("#feed-list .badge-failed")).to_have_text("En panne")
    expect(tab.locator("#event-list")).to_contain_text("Séisme")
    assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    form = tab.locator("form.rule-form").last
    form.locator("input[name=name]").fill("Séismes forts au Japon")
    form.locator("input[name=kinds][value=earthquake]").check()
    form.locator("input[name=min_magnitude]").fill("6,5")  # a French decimal comma is not a number here
    form.locator("button[type=submit]").tap()
    expect(tab.locator("form.rule-form .error").first).to_have_text("Ce doit être un nombre.")
    assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    form = tab.locator("form.rule-form").last
    form.locator("input[name=min_magnitude]").fill("6.5")
    form.locator("input[name=countries]").fill("JP")
    form.locator("button[type=submit]").tap()
    expect(tab.locator(".flash-success")).to_have_text("Règle « Séismes forts au Japon » enregistrée.")
    expect(tab.locator("details.rule summary")).to_contain_text("Séismes forts au Japon")
    assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    tab.screenshot(path=str(ARTIFACTS / "feeds-fr-phone.png"), full_page=True)
    assert errors == []
