"""The console and the traveller pages work under the Content-Security-Policy: headless
Chromium opens each page (maps, composer, cases, on-call, feeds, registration, the answer
page), uses its scripts, and no `securitypolicyviolation` event fires nor does the console
report a refused script or style."""
from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, post_incident, post_traveller

pytestmark = pytest.mark.browser

# Runs before any page script: every violation the page reports is kept for the test to read.
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || "") + ":" + e.lineNumber);
});
"""


@pytest.fixture
def watched(page):
    messages: list[str] = []
    page.add_init_script(WATCH)
    page.on("console", lambda m: messages.append(m.text) if "Content Security Policy" in m.text else None)
    page.csp_console = messages
    return page


def violations(page) -> list[str]:
    return page.evaluate("window.__csp || []") + page.csp_console


def visit(page, url: str) -> None:
    page.csp_console.clear()
    page.goto(url)
    page.wait_for_load_state("networkidle")


def test_console_pages_raise_no_policy_violation(live_app, live_server, watched):
    from playwright.sync_api import expect

    client = live_app.test_client()
    incident_id = post_incident(client, live_app)
    page = watched
    visit(page, f"{live_server}/login")
    page.fill("#email", "coordinator@example.org")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server}/")
    seen = {}
    for path in ("/", "/incidents/new", f"/incidents/{incident_id}", "/cases", "/on-call", "/feeds",
                 "/advisories", "/travellers", "/account/two-step"):
        visit(page, live_server + path)
        seen[path] = violations(page)
    # the incident page's map draws its zone and clustered travellers through its scripts
    visit(page, f"{live_server}/incidents/{incident_id}")
    page.wait_for_selector(".cluster-icon div, .point-icon span", timeout=20000)
    # the composer counts SMS segments as one types
    if page.locator("#body_en").count():
        page.fill("#body_en", "Stay indoors. Restez à l'intérieur.")
    seen["incident, used"] = violations(page)
    visit(page, f"{live_server}/incidents/new")
    page.check("input[name=zone_kind][value=circle]")
    page.fill("#lat", "38.72")
    page.fill("#lon", "-9.14")
    page.fill("#radius_km", "60")
    page.click("#preview-button")
    expect(page.locator("#affected-count")).to_have_text("3")
    seen["new incident, previewed"] = violations(page)
    assert {path: found for path, found in seen.items() if found} == {}
    assert page.js_errors == []


def test_traveller_pages_raise_no_policy_violation(live_app, live_server, watched):
    from emergency.services import safety_links

    client = live_app.test_client()
    incident_id = post_incident(client, live_app)
    traveller_id = post_traveller(client, live_app, "Noor", email="noor@example.org")
    with live_app.test_request_context():
        token = safety_links.make_token(incident_id, traveller_id)
    page = watched
    seen = {}
    for path in ("/register", "/register?lang=fr", "/my", f"/r/{token}", f"/incidents/{incident_id}/checkin", "/now"):
        visit(page, live_server + path)
        seen[path] = violations(page)
    visit(page, f"{live_server}/register")
    page.click("[data-add-stop]")
    page.wait_for_selector("#stops-1-country")
    seen["register, used"] = violations(page)
    assert {path: found for path, found in seen.items() if found} == {}
    assert page.js_errors == []
