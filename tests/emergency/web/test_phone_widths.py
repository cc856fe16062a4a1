"""On a phone (360 and 390 px wide) no console or traveller page scrolls sideways, in English
and in French: document.scrollingElement.scrollWidth is measured in Chromium on every page.
The traveller pages' controls are also big enough for a thumb."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from registry.models import Traveller
from tests.conftest import PASSWORD

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
WIDTHS = (360, 390)

pytestmark = pytest.mark.browser


@pytest.fixture
def scene(live_app):
    """An incident over Lisbon with a sent safety check, a signed-in link and an answer link."""
    from emergency.core.database import db_session
    from emergency.services import alerts, incidents, safety_links, signin
    from geo.zones import circle

    with live_app.app_context(), live_app.test_request_context():
        session = db_session()
        incident = incidents.create_incident("Earthquake near Lisbon, aftershocks expected through the night",
                                             circle(38.72, -9.14, 60), datetime.now(timezone.utc) - timedelta(hours=1),
                                             None, title_fr="Séisme près de Lisbonne, répliques attendues pendant la nuit")
        alert = alerts.compose_alert(incident, alerts.default_texts(incident), list(alerts.CHANNELS))
        ann = session.scalar(select(Traveller).where(Traveller.given_name == "Ann"))
        token = signin.issue_token(ann.id)
        session.commit()
        return {"incident": incident.id, "alert": alert.id, "traveller": ann.id, "signin": token,
                "answer": safety_links.make_token(incident.id, ann.id)}


def console_pages(s: dict) -> list[str]:
    return ["/", "/incidents/new", f"/incidents/{s['incident']}", "/outbox", "/travellers",
            f"/travellers/{s['traveller']}", "/advisories", "/cases", "/on-call", "/feeds", "/no-such-page"]


def traveller_pages(s: dict) -> list[str]:
    return ["/register", "/my", "/now", f"/incidents/{s['incident']}/checkin", f"/r/{s['answer']}", "/no-such-page"]


# Controls under 44 px tall (WCAG 2.5.5's target size) on a traveller page, with the page.
SMALL_CONTROLS = """() => Array.from(document.querySelectorAll(
    'main button, main select, main input:not([type=hidden]):not([type=checkbox]):not([type=radio]), .lang-switch a'))
  .filter(el => el.offsetParent !== null && el.getBoundingClientRect().height < 43.5)
  .map(el => (el.id || el.name || el.textContent.trim()).slice(0, 40))"""


def too_wide(tab, base: str, paths: list[str], lang: str, width: int, shots: str, thumbs: bool = False) -> list[str]:
    wide = []
    for path in paths:
        tab.goto(f"{base}{path}{'&' if '?' in path else '?'}lang={lang}")
        tab.wait_for_load_state("load")
        measured = tab.evaluate("document.scrollingElement.scrollWidth")
        if measured > width:
            wide.append(f"{path} [{lang}, {width}px]: {measured}px")
        small = tab.evaluate(SMALL_CONTROLS) if thumbs else []
        if small:
            wide.append(f"{path} [{lang}, {width}px]: controls too small for a thumb: {small}")
        if width == 390:
            name = path.strip("/").replace("/", "-")[:40] or "home"
            tab.screenshot(path=str(ARTIFACTS / f"phone-{shots}-{name}-{lang}.png"), full_page=True)
    return wide


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_no_console_page_scrolls_sideways_on_a_phone(live_server, page, scene, lang):
    ARTIFACTS.mkdir(exist_ok=True)
    wide = []
    for width in WIDTHS:
        context = page.context.browser.new_context(viewport={"width": width, "height": 800}, is_mobile=True,
                                                   has_touch=True, locale="fr-CA" if lang == "fr" else "en-CA")
        tab = context.new_page()
        tab.goto(f"{live_server}/login?lang={lang}")
        tab.fill("#email", "coordinator@example.org")
        tab.fill("#password", PASSWORD)
        tab.click("button[type=submit]")
        tab.wait_for_url(f"{live_server}/")
        wide += too_wide(tab, live_server, ["/login", *console_pages(scene)], lang, width, "console")
        context.close()
    assert wide == []


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_no_traveller_page_scrolls_sideways_on_a_phone(live_server, page, scene, lang):
    ARTIFACTS.mkdir(exist_ok=True)
    wide = []
    for width in WIDTHS:
        context = page.context.browser.new_context(viewport={"width": width, "height": 800}, is_mobile=True,
                                                   has_touch=True, locale="fr-CA" if lang == "fr" else "en-CA")
        tab = context.new_page()
        wide += too_wide(tab, live_server, traveller_pages(scene), lang, width, "traveller", thumbs=True)
        # the traveller's own record, behind the sign-in link (used once, by the first width)
        if width == WIDTHS[0]:
            tab.goto(f"{live_server}/my/signin/{scene['signin']}?lang={lang}")
            tab.locator("main form button[type=submit]").first.click()
            tab.wait_for_url("**/my/trips**")
        wide += too_wide(tab, live_server, ["/my/trips"], lang, width, "traveller", thumbs=True) if width == WIDTHS[0] else []
        context.close()
    assert wide == []
