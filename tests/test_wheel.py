"""The wheel works: built from this checkout and installed (not editable) into a fresh
virtualenv with the pinned dependencies, it migrates a database and serves the public and
console pages in English and French, from a directory where nothing of the checkout can be
imported. It ships the six packages with their data (templates, translations, static
assets, migrations, the OpenAPI document, the country layer) and none of the development
folders (devtools, tests, bench, tools).

Slow (a minute or two, mostly pip installing from its cache), so it is marked `wheel`;
CI runs it, and outside CI it is skipped only when pip cannot reach the package index.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.wheel

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("common", "emergency", "registry", "geo", "notify", "cap", "hazards")
NOT_SHIPPED = ("devtools", "tests", "bench", "tools")
IN_CI = os.environ.get("CI", "").lower() == "true"
# The wheel is built from a copy of the checkout without version control, virtualenvs,
# local data and build leftovers (a stale build/lib would otherwise end up in the wheel).
SKIP_ANYWHERE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".pytest_cache", ".hypothesis", "node_modules")
SKIP_FROM_ROOT = {".git", ".venv", "build", "dist", "instance", "test-artifacts", "bench/results"}

# Runs inside the installed venv: builds the app and asks for pages in both languages.
PROBE = r"""
import json, sys
from pathlib import Path

import emergency
from emergency import create_app

try:
    import devtools  # noqa: F401
    devtools_importable = True
except ImportError:
    devtools_importable = False

app = create_app()
pages = {}
for path in ("/register", "/register?lang=fr", "/login", "/login?lang=fr",
             "/static/css/public.css", "/api/v1/openapi.json", "/healthz"):
    response = app.test_client().get(path)  # a new browser each time: ?lang= is remembered
    pages[path] = {"status": response.status_code, "text": response.get_data(as_text=True)}
print(json.dumps({
    "emergency_file": emergency.__file__,
    "template_folder": str(Path(app.root_path, app.template_folder)),
    "prefix": sys.prefix,
    "devtools_importable": devtools_importable,
    "pages": pages,
}))
"""


def _run(args: list, *, cwd: Path, env: dict | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _check(result: subprocess.CompletedProcess, what: str) -> subprocess.CompletedProcess:
    assert result.returncode == 0, f"{what} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


def _clean_env(**extra: str) -> dict:
    """The environment without anything that would let the checkout or a service leak in."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "REDIS_URL", "DATABASE_URL", "EMERGENCY_ENV")}
    env.update(extra)
    return env


def _skip_when_copying(directory: str, names: list[str]) -> set[str]:
    relative = Path(directory).relative_to(ROOT)
    return set(SKIP_ANYWHERE(directory, names)) | {n for n in names if (relative / n).as_posix() in SKIP_FROM_ROOT}


def _files_under(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The wheel built from a copy of this checkout, and a fresh venv with it installed."""
    work = tmp_path_factory.mktemp("wheel")
    probe = _run([sys.executable, "-m", "pip", "download", "--no-deps", "--dest", work / "probe", "setuptools>=77"],
                 cwd=work, timeout=300)
    if probe.returncode != 0:
        if IN_CI:
            pytest.fail(f"pip cannot reach the package index, required when CI=true:\n{probe.stderr[-2000:]}")
        pytest.skip(f"pip cannot reach the package index: {probe.stderr.strip().splitlines()[-1:]}")

    source = work / "source"
    shutil.copytree(ROOT, source, ignore=_skip_when_copying)
    dist = work / "dist"
    # --verbose shows the build backend's warnings.
    build = _check(_run([sys.executable, "-m", "pip", "wheel", "--verbose", "--no-deps", "--wheel-dir", dist, source],
                        cwd=work, env=_clean_env()), "pip wheel")
    (wheel,) = dist.glob("*.whl")

    venv = work / "venv"
    _check(_run([sys.executable, "-m", "venv", venv], cwd=work), "python -m venv")
    pip_install = _run([venv / "bin" / "python", "-m", "pip", "install", "-c", ROOT / "constraints.txt", wheel],
                       cwd=work, env=_clean_env())
    _check(pip_install, "pip install of the wheel")
    return {"wheel": wheel, "venv": venv, "work": work, "build_log": build}


def test_the_wheel_ships_the_packages_and_their_data_and_nothing_else(built):
    with zipfile.ZipFile(built["wheel"]) as zf:
        names = set(zf.namelist())
    top_level = {name.split("/", 1)[0] for name in names if not name.split("/", 1)[0].endswith(".dist-info")}
    assert top_level == set(PACKAGES), f"top-level entries other than {PACKAGES}: {top_level - set(PACKAGES)}"
    for folder in NOT_SHIPPED:
        assert not any(name.startswith(f"{folder}/") for name in names), f"{folder}/ is in the wheel"
    assert not any(name.endswith(".pyc") for name in names)

    for package in PACKAGES:
        missing = {f"{package}/{f}" for f in _files_under(ROOT / package)} - names
        assert not missing, f"files of {package}/ missing from the wheel: {sorted(missing)[:20]}"
    missing_templates = {f"emergency/templates/{f}" for f in _files_under(ROOT / "templates")} - names
    assert not missing_templates, f"templates missing from the wheel: {sorted(missing_templates)[:20]}"
    for data in ("emergency/translations/fr/LC_MESSAGES/messages.mo", "emergency/translations/fr/LC_MESSAGES/messages.po",
                 "emergency/core/migrations/script.py.mako", "emergency/web/api/openapi.yaml",
                 "geo/data/countries.geojson.gz", "cap/schema/CAP-v1.2.xsd", "emergency/static/css/public.css"):
        assert data in names


def test_the_installed_wheel_migrates_and_serves_pages_in_english_and_french(built):
    venv, work = built["venv"], built["work"]
    elsewhere = work / "elsewhere"  # not the checkout: nothing can be imported from the source tree
    elsewhere.mkdir()
    env = _clean_env(DATABASE_URL=f"sqlite:///{work / 'wheel.db'}", SECRET_KEY="wheel-test-secret-of-at-least-32-bytes")

    _check(_run([venv / "bin" / "emergency", "db", "upgrade"], cwd=elsewhere, env=env), "emergency db upgrade")
    assert (work / "wheel.db").exists()

    probe = _check(_run([venv / "bin" / "python", "-c", PROBE], cwd=elsewhere, env=env), "the app in the venv")
    seen = json.loads(probe.stdout.strip().splitlines()[-1])
    assert Path(seen["emergency_file"]).resolve().is_relative_to(Path(seen["prefix"]).resolve()), seen["emergency_file"]

    pages = seen["pages"]
    assert {path: page["status"] for path, page in pages.items()} == dict.fromkeys(pages, 200)
    assert "Register your trip" in pages["/register"]["text"]
    assert "Inscrivez votre voyage" in pages["/register?lang=fr"]["text"]
    assert "Sign in" in pages["/login"]["text"]
    assert "Ouvrir une session" in pages["/login?lang=fr"]["text"]
    assert json.loads(pages["/api/v1/openapi.json"]["text"])["paths"]

    installed_package = Path(seen["emergency_file"]).resolve().parent
    assert Path(seen["template_folder"]).resolve().is_relative_to(installed_package), seen["template_folder"]
    assert not seen["devtools_importable"]


def test_building_the_wheel_prints_no_license_deprecation_warning(built):
    log = built["build_log"]
    deprecations = [line for line in (log.stdout + log.stderr).splitlines() if "deprecat" in line.lower()]
    assert not [line for line in deprecations if "license" in line.lower()], deprecations
