"""Fixtures of the tests that drive the pages in a real browser (headless Chromium through
Playwright): a live server and a page. They are skipped when Playwright or Chromium is
missing, and fail under CI=true."""
from __future__ import annotations

import os
import shutil
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from registry.service import StopInput, TravellerInput, register_traveller
from tests.conftest import IN_CI

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
TODAY = date.today()


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
def live_app(make_app):
    """The app `live_server` serves (CSRF on), with three travellers pinned in Lisbon and one
    in Toronto; a test reaches into it for what a person would get by email."""
    _need_browser()
    app = make_app(WTF_CSRF_ENABLED=True, JOBS_MODE="thread")
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
    return app


@pytest.fixture
def live_server(live_app):
    """The console and the public pages of `live_app` served over HTTP on a free port."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def page():
    """A headless Chromium page; the page's JavaScript errors collect in `page.js_errors`."""
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
