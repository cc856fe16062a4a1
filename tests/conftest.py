"""Shared fixtures, in the style of Flask's tutorial: `app`, `client`, `runner`.

Every test app gets a fresh, migrated database. `backend_session` runs a test on SQLite and
on PostgreSQL+PostGIS with the same assertions; PostGIS and Redis tests are skipped when
those servers are absent, except under CI=true where their absence is a failure.
"""
from __future__ import annotations

import functools
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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


@pytest.fixture(params=["sqlite", "postgis"])
def database_url(request, tmp_path):
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(_migrated_sqlite_template(), path)
        return f"sqlite:///{path}"
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
        "SECRET_KEY": "test-secret-key",
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
def app_overrides():
    """Override in a test module to change the app's configuration."""
    return {}


@pytest.fixture
def app(tmp_path, app_overrides):
    app = _make_app(f"sqlite:///{tmp_path / 'app.db'}", **app_overrides)
    yield app
    app.extensions["db_engine"].dispose()


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


@pytest.fixture
def redis_url():
    yield from flushed_redis(REDIS_URL)


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
