"""A coordinator in a real browser (headless Chromium driven by Playwright): log in,
give a zone, see how many travellers it affects, create the incident.

The screenshots land in test-artifacts/ so a person can look at what was built.
"""
from __future__ import annotations

import os
import shutil
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from registry.service import StopInput, TravellerInput, register_traveller
from tests.conftest import IN_CI, PASSWORD, _make_app

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[4] / "test-artifacts"
TODAY = date.today()

pytestmark = pytest.mark.browser


def _need_browser():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        reason = f"playwright is not installed: {exc}"
    else:
        if shutil.which(CHROMIUM) or Path(CHROMIUM).exists():
            return
        reason = f"Chromium not found at {CHROMIUM}"
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def live_server(tmp_path):
    _need_browser()
    app = _make_app(f"sqlite:///{tmp_path / 'browser.db'}", WTF_CSRF_ENABLED=True, JOBS_MODE="thread")
    with app.app_context():
        from emergency.core.database import db_session

        session = db_session()
        for i, (given, lang, lat, lon) in enumerate([("Ann", "en", 38.72, -9.14), ("Zoé", "fr", 38.75, -9.2),
                                                      ("Max", "en", 38.70, -9.10)]):
            register_traveller(session, TravellerInput(
                given_name=given, family_name="Lee", email=f"p{i}@example.org", phone=f"+35191234567{i}",
                language=lang, stops=[StopInput(country="PT", lat=lat, lon=lon, arrival=TODAY.isoformat(),
                                                departure=(TODAY + timedelta(days=4)).isoformat())]))
        register_traveller(session, TravellerInput(
            given_name="Tom", family_name="Wu", email="tom@example.org", phone="+14165550199", language="en",
            stops=[StopInput(country="CA", place="Toronto", arrival=TODAY.isoformat())]))
        session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    app.extensions["db_engine"].dispose()


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="en-CA")
        page = context.new_page()
        page.set_default_timeout(20000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.js_errors = errors
        yield page
        browser.close()


def test_coordinator_logs_in_gives_a_circle_and_sees_the_affected_count(live_server, page):
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{live_server}/incidents/new")
    expect(page).to_have_url(f"{live_server}/login?next=%2Fincidents%2Fnew")
    page.fill("#email", "coordinator@example.org")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server}/incidents/new")

    page.fill("#title", "Lisbon earthquake")
    page.check("input[name=zone_kind][value=circle]")
    page.fill("#lat", "38.72")
    page.fill("#lon", "-9.14")
    page.fill("#radius_km", "60")
    page.click("#preview-button")
    expect(page.locator("#affected-count")).to_have_text("3")
    expect(page.locator("#preview-table")).to_contain_text("Zoé Lee")
    expect(page.locator("#preview-table")).not_to_contain_text("Tom Wu")
    page.screenshot(path=str(ARTIFACTS / "incident-preview.png"), full_page=True)

    page.click("button[type=submit].btn-primary")
    expect(page.locator("#stat-affected")).to_have_text("3")
    page.screenshot(path=str(ARTIFACTS / "incident-page.png"), full_page=True)
    assert page.js_errors == []


def test_coordinator_draws_a_rectangle_on_the_map_and_sees_the_affected_count(live_server, page):
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{live_server}/login")
    page.fill("#email", "coordinator@example.org")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server}/incidents/new?lang=fr")
    page.fill("#title", "Séisme")
    page.check("input[name=zone_kind][value=draw]")
    # Centre the map on Lisbon, then draw a rectangle around the city with leaflet-draw.
    page.evaluate("window.incidentMap && window.incidentMap.setView([38.72, -9.14], 9)")
    page.click(".leaflet-draw-draw-rectangle")
    box = page.locator("#map").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx - 120, cy - 120)
    page.mouse.down()
    page.mouse.move(cx + 120, cy + 120, steps=8)
    page.mouse.up()
    page.click("#preview-button")
    expect(page.locator("#affected-count")).to_have_text("3")
    page.screenshot(path=str(ARTIFACTS / "incident-drawn-fr.png"), full_page=True)
    assert page.js_errors == []
