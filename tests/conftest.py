"""Shared fixtures, in the style of Flask's tutorial: `app`, `client`, `runner`.

Every test app gets a fresh, migrated database; `make_app` builds more of them (another
configuration, another database). `backend_session` and `backend_app` run a test on SQLite
and on PostgreSQL+PostGIS with the same assertions; PostGIS and Redis tests are skipped when
those servers are absent, except under CI=true where their absence is a failure.

Every test that reaches PostgreSQL carries the `postgis` marker, every one that reaches Redis
the `redis` marker (and the browser tests `browser`), so `-m "not postgis and not redis"`
runs on a machine without those servers and skips nothing; `pytest_runtest_setup` fails a
test that uses such a fixture without its marker, so this stays true.

The factories put people and incidents where a test needs them: `make_traveller` and
`make_incident` go through the API as a coordinator would; `insert_traveller` writes registry
rows directly (for tests of what reads them, and for what the API would refuse).
"""
from __future__ import annotations

import functools
import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from devtools import pgdb
from emergency import create_app
from emergency.core.database import make_engine
from emergency.core.migrate import upgrade

PASSWORD = "correct horse battery staple"
USERS = (
    ("coordinator@example.org", "Cora Coordinator", "coordinator"),
    ("coordinator2@example.org", "Colin Coordinator", "coordinator"),
    ("approver@example.org", "Ada Approver", "approver"),
    ("viewer@example.org", "Vic Viewer", "viewer"),
)
IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", pgdb.DEFAULT_ADMIN_URL)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


# The fixtures that reach a server, by the marker a test that uses them (even through
# another fixture) must carry. A fixture that reaches a server another way depends on one of
# these; one that does so only for some of its parameters marks those parameters
# (`pytest.param(..., marks=...)`) and calls `require_marker`.
SERVER_FIXTURES = {
    "postgis": {"postgis_url", "notify_pg_url"},
    "redis": {"redis_server"},
    "browser": {"live_server", "page"},
}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    used = set(getattr(item, "fixturenames", ()))
    for marker, fixtures in SERVER_FIXTURES.items():
        if used & fixtures and item.get_closest_marker(marker) is None:
            pytest.fail(f"{item.nodeid} uses {', '.join(sorted(used & fixtures))} without "
                        f"@pytest.mark.{marker}: `-m 'not {marker}'` would not leave it out", pytrace=False)


def require_marker(request, marker: str) -> None:
    """Fail the test unless it carries `marker`: for a fixture that reaches a server only for
    some of its parameters, which must then be `pytest.param(..., marks=pytest.mark.<marker>)`."""
    if request.node.get_closest_marker(marker) is None:
        pytest.fail(f"{request.node.nodeid} reaches a server through {request.fixturename} without "
                    f"@pytest.mark.{marker}", pytrace=False)


def _unavailable(what: str, why: Exception):
    if IN_CI:
        pytest.fail(f"{what} is required when CI=true but is not available: {why}")
    pytest.skip(f"{what} not available: {why}")


@contextmanager
def throwaway_database(prefix: str, extensions: tuple[str, ...] = ()) -> Iterator[str]:
    """`devtools.pgdb.throwaway_database` on the test server: skips when the server or an
    extension is missing, fails under CI=true."""
    try:
        with pgdb.throwaway_database(prefix, extensions, admin_url=PG_ADMIN_URL) as url:
            yield url
    except pgdb.Unavailable as exc:
        _unavailable(exc.what, exc.cause)


@pytest.fixture(scope="session")
def postgis_url():
    """A fresh PostgreSQL database with PostGIS for this test session, dropped at the end."""
    with throwaway_database("emergency_test", extensions=("postgis",)) as url:
        yield url


def _reset_postgres(url: str) -> None:
    """Empty every table (schema stays), so each test starts from nothing."""
    eng = create_engine(url)
    with eng.begin() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename NOT IN "
            "('alembic_version','spatial_ref_sys')"))]
        if tables:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    eng.dispose()


@pytest.fixture(scope="session")
def postgis_migrated(postgis_url):
    eng = make_engine(postgis_url)
    upgrade(eng)
    eng.dispose()
    return postgis_url


@pytest.fixture(params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)])
def database_url(request, tmp_path):
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(_migrated_sqlite_template(), path)
        return f"sqlite:///{path}"
    require_marker(request, "postgis")
    url = request.getfixturevalue("postgis_migrated")
    _reset_postgres(url)
    return url


@pytest.fixture
def backend_session(database_url):
    """A Session on a fresh, migrated database; parametrised over SQLite and PostGIS."""
    eng = make_engine(database_url)
    session = sessionmaker(bind=eng, expire_on_commit=False)()
    yield session
    session.close()
    eng.dispose()


@functools.lru_cache(maxsize=1)
def _password_hash() -> str:
    """Hashing is slow on purpose (scrypt); tests hash the shared password once."""
    from werkzeug.security import generate_password_hash

    return generate_password_hash(PASSWORD)


@functools.lru_cache(maxsize=1)
def _migrated_sqlite_template() -> Path:
    """An SQLite database migrated once per test session; each test app gets a copy."""
    path = Path(tempfile.mkdtemp(prefix="emergency-template-")) / "template.db"
    eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    with eng.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    eng.dispose()
    return path


def _make_app(url: str, **overrides):
    config = {
        "TESTING": True,
        "ENV_NAME": "testing",
        "SECRET_KEY": "test-secret-key-of-at-least-32-bytes",
        "DATABASE_URL": url,
        "WTF_CSRF_ENABLED": False,
        "JOBS_MODE": "sync",
        "PUBLIC_BASE_URL": "https://consular.test",
        "TWILIO_AUTH_TOKEN": None,
        "SENDGRID_API_KEY": None,
        "TWILIO_ACCOUNT_SID": None,
        "REDIS_URL": None,
        "APPROVAL_THRESHOLD": 25,
        "RATELIMIT_ENABLED": False,  # the rate-limit tests switch it back on
    }
    config.update(overrides)
    if url.startswith("sqlite:///"):
        shutil.copyfile(_migrated_sqlite_template(), url[len("sqlite:///"):])
    else:
        eng = make_engine(url)
        upgrade(eng)
        eng.dispose()
    app = create_app(config)
    with app.app_context():
        from emergency.core.auth import create_user, issue_api_token
        from emergency.core.database import db_session

        tokens = {}
        for email, name, role in USERS:
            user = create_user(email, name, role)
            user.password_hash = _password_hash()
            tokens[email] = issue_api_token(user)
        db_session().commit()
    app.config["TEST_API_TOKENS"] = tokens
    return app


@pytest.fixture
def make_app(tmp_path):
    """`make_app(url=None, **overrides)`: a test app on `url`, or on a fresh SQLite file of the
    test's own, with its users and their API tokens; its engine is closed after the test."""
    apps = []

    def make(url: str | None = None, **overrides):
        app = _make_app(url or f"sqlite:///{tmp_path / f'app{len(apps)}.db'}", **overrides)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["db_engine"].dispose()


@pytest.fixture
def app_overrides():
    """Override in a test module to change the app's configuration."""
    return {}


@pytest.fixture
def app(make_app, app_overrides):
    return make_app(**app_overrides)


@pytest.fixture
def backend_app(make_app, database_url):
    """A test app on SQLite and on PostgreSQL+PostGIS (a module makes it its `app` to run every
    test on both)."""
    return make_app(database_url)


@pytest.fixture
def backend_db(backend_app):
    """A backend app's session, inside its app context, on SQLite and on PostgreSQL+PostGIS."""
    from emergency.core.database import db_session

    with backend_app.app_context():
        yield db_session()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def english_locale(monkeypatch):
    """CLI errors follow the locale (LC_ALL, then LC_MESSAGES, then LANG): read them in English
    whatever the machine running the tests uses."""
    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


@pytest.fixture
def db(app):
    """The app's session, inside an app context."""
    from emergency.core.database import db_session

    with app.app_context():
        yield db_session()


def login(client, email: str, password: str = PASSWORD):
    return client.post("/login", data={"email": email, "password": password}, follow_redirects=True)


@pytest.fixture
def login_as(client):
    def _login(email: str):
        response = login(client, email)
        assert response.status_code == 200
        return client

    return _login


def api_headers(app, email: str = "coordinator@example.org") -> dict:
    return {"Authorization": f"Bearer {app.config['TEST_API_TOKENS'][email]}"}


def stop(country: str = "PT", place: str | None = None, lat: float | None = None, lon: float | None = None,
         days_before: int = 1, days_after: int = 3) -> dict:
    """One stop of an API registration, from `days_before` days ago to `days_after` days ahead,
    so that an incident starting now finds it."""
    today = date.today()
    return {"country": country, "place": place, "lat": lat, "lon": lon,
            "arrival": (today - timedelta(days=days_before)).isoformat(),
            "departure": (today + timedelta(days=days_after)).isoformat()}


def post_traveller(client, app, given_name: str, *, email: str | None = None, phone: str | None = None,
                   language: str = "en", family_name: str = "Roy", stops: list[dict] | None = None) -> int:
    """Register a traveller through POST /api/v1/travellers as a coordinator (in Lisbon, unless
    `stops` says otherwise); fails the test unless the API accepts them. Returns their id."""
    response = client.post("/api/v1/travellers", headers=api_headers(app), json={
        "given_name": given_name, "family_name": family_name, "email": email, "phone": phone,
        "language": language, "stops": stops if stops is not None else [stop("PT", place="Lisbon")]})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def post_incident(client, app, title: str = "Floods", *, lat: float = 38.72, lon: float = -9.14,
                  radius_km: float = 30, **fields) -> int:
    """Open an incident through POST /api/v1/incidents as a coordinator: a circle (Lisbon,
    30 km, unless told otherwise), or any other body `fields` give (zone, zones, starts_at...);
    fails the test unless the API accepts it. Returns its id."""
    body = {"title": title, "zone": {"circle": {"lat": lat, "lon": lon, "radius_km": radius_km}}, **fields}
    response = client.post("/api/v1/incidents", headers=api_headers(app), json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


@pytest.fixture
def make_traveller(client, app):
    """`post_traveller` on this test's app and client."""
    return functools.partial(post_traveller, client, app)


@pytest.fixture
def make_incident(client, app):
    """`post_incident` on this test's app and client."""
    return functools.partial(post_incident, client, app)


_traveller_numbers = itertools.count(1)


def insert_traveller(session, *stops: dict, commit: bool = True, **fields):
    """Insert a traveller with one trip holding `stops` straight into the registry's tables,
    without the validation registration applies. Each stop gives the columns of a `Stop`
    (country, place, lat, lon, arrival, departure...); its precision is "point" when it has
    coordinates and "country" otherwise, unless it says. `fields` give the traveller's columns
    (a unique name and email unless given). A traveller without stops has no trip. Committed,
    or only flushed with commit=False (the session's own rows). Returns the traveller."""
    from registry.models import Stop, Traveller, Trip

    n = next(_traveller_numbers)
    traveller = Traveller(**{"given_name": "Test", "family_name": f"Traveller {n}",
                             "email": f"t{n}@example.org", **fields})
    session.add(traveller)
    session.flush()  # the trip and its stops carry the traveller's id
    if stops:
        trip = Trip(traveller_id=traveller.id)
        session.add(trip)
        for values in stops:
            precision = values.get("precision") or ("point" if values.get("lat") is not None else "country")
            trip.stops.append(Stop(traveller_id=traveller.id, **{**values, "precision": precision}))
    if commit:
        session.commit()
    else:
        session.flush()
    return traveller


def flushed_redis(url: str) -> Iterator[str]:
    """Yield `url` with its Redis database emptied before and after (for a fixture); skips
    when Redis is missing, fails under CI=true."""
    from redis import Redis

    try:
        Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        _unavailable("Redis", exc)
    Redis.from_url(url).flushdb()
    yield url
    Redis.from_url(url).flushdb()


@pytest.fixture(scope="session")
def redis_server():
    """The Redis server of TEST_REDIS_URL, answering; every fixture that uses Redis asks for
    it (so its tests need the `redis` marker). Skips when it is missing, fails under CI=true."""
    from redis import Redis

    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        _unavailable("Redis", exc)
    return REDIS_URL


@pytest.fixture
def redis_url(redis_server):
    yield from flushed_redis(redis_server)


def run_worker(app, *args: str, timeout: float = 600, **env: str):
    """Run `emergency worker --burst *args` in its own process on `app`'s database and Redis
    (production settings, the outbox: no provider keys), with `env` added to its
    environment; returns the finished process, which must have exited 0."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    config = app.config
    environment = {**os.environ, "DATABASE_URL": config["DATABASE_URL"], "REDIS_URL": config["REDIS_URL"],
                   "SECRET_KEY": config["SECRET_KEY"], "PUBLIC_BASE_URL": config["PUBLIC_BASE_URL"],
                   "EMERGENCY_ENV": "production",
                   "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""), **env}
    for key in ("SENDGRID_API_KEY", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "JOBS_MODE"):
        environment.pop(key, None)
    done = subprocess.run([sys.executable, "-m", "emergency.cli", "worker", "--burst", *args],
                          env=environment, cwd=root, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return done
