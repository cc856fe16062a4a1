"""A coordinator in a real browser (headless Chromium driven by Playwright): log in,
give a zone, see how many travellers it affects, create the incident.

The screenshots land in test-artifacts/ so a person can look at what was built.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PASSWORD

ARTIFACTS = Path(__file__).resolve().parents[4] / "test-artifacts"

pytestmark = pytest.mark.browser


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
