"""Load check, run by hand (not part of `make test`): 100,000 seeded travellers in one
continent-sized incident render as clusters in headless Chromium and the map stays usable.

    .venv/bin/python -m pytest bench/map_100k_check.py -q

It seeds 100k travellers into SQLite first (minutes on a busy machine), which is why it lives
in bench/ rather than in the test suite; it asserts what renders, never how long it took.
Screenshots land in test-artifacts/incident-100k-*.png. Chromium is looked for at
CHROMIUM_PATH (default /usr/bin/chromium); without it the check is skipped. What rendered is
written with the run's provenance (commit, versions, load; bench/provenance.py) under
bench/results/.
"""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from bench import provenance
from tests.conftest import api_headers

TODAY = date.today()

# ---------------------------------------------------------------- 100k travellers in a browser

EURASIA_AFRICA = {"type": "Polygon", "coordinates": [[[-25, -40], [150, -40], [150, 75], [-25, 75], [-25, -40]]]}


@pytest.fixture
def entry():
    """The check's entry under bench/results/, its clock and load started before the seeding."""
    from tests.emergency.web.conftest import _need_browser

    _need_browser()
    with provenance.Run("map_100k_check", command="python -m pytest bench/map_100k_check.py", capture=False) as run:
        yield run


@pytest.fixture
def big_server(tmp_path, entry):
    """A live server whose incident covers a continent-sized zone holding ~100k seeded travellers."""
    import threading

    from werkzeug.serving import make_server

    from registry.seed import seed
    from tests.conftest import _make_app

    app = _make_app(f"sqlite:///{tmp_path / 'big.db'}", WTF_CSRF_ENABLED=True, JOBS_MODE="thread")
    with app.app_context():
        from emergency.core.database import db_session

        seed(db_session(), 100_000)
        db_session().commit()
    client = app.test_client()
    start = (TODAY - timedelta(days=400)).isoformat()
    end = (TODAY + timedelta(days=400)).isoformat()
    created = client.post("/api/v1/incidents", headers=api_headers(app), json={
        "title": "Continent", "zone": EURASIA_AFRICA, "starts_at": f"{start}T00:00:00Z", "ends_at": f"{end}T00:00:00Z"})
    assert created.status_code == 201, created.get_json()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", created.get_json()
    server.shutdown()
    app.extensions["db_engine"].dispose()


@pytest.mark.browser
def test_a_hundred_thousand_travellers_render_as_clusters_and_the_map_stays_usable(big_server, entry, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    from tests.conftest import PASSWORD
    from tests.emergency.web.conftest import CHROMIUM
    from tests.emergency.web.console.test_browser import ARTIFACTS

    url, incident = big_server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        page.set_default_timeout(600_000)  # a loaded CI box; no timing is asserted
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{url}/login")
        page.fill("#email", "coordinator@example.org")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{url}/incidents/{incident['id']}")
        # chunked loading: the page answers scripts while the markers go in
        page.wait_for_function("window.incidentClusters !== undefined")
        assert page.evaluate("1 + 1") == 2
        page.wait_for_function(  # cheap check, once a second: every marker is in the cluster tree
            "window.incidentClusters._topClusterLevel._childCount === window.incidentPointsCount", polling=1000)
        on_map = page.evaluate("window.incidentClusters.getLayers().length")
        status = page.locator("#map-status").inner_text()
        page.evaluate("window.incidentMap.setView([30, 40], 3)")
        expect(page.locator(".cluster-icon").first).to_be_visible()
        before = page.locator(".cluster-icon").count()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "incident-100k-clusters.png"))
        # zoom in on Paris: the clusters split into smaller ones
        page.evaluate("window.incidentMap.setView([48.85, 2.35], 7)")
        expect(page.locator(".cluster-icon").first).to_be_visible()
        after = page.locator(".cluster-icon").count()
        page.screenshot(path=str(ARTIFACTS / "incident-100k-paris.png"))
        browser.close()
    affected = incident["affected_count"]
    assert affected > 50_000
    assert on_map > 40_000 and on_map <= affected
    assert f"{on_map} travellers on the map" in status
    assert before > 0 and after > 0
    assert errors == []
    entry.result(f"{affected} affected travellers, {on_map} markers on the map (status: {status!r}); "
                 f"{before} clusters shown at zoom 3, {after} at zoom 7 over Paris; no page errors.")
