"""The command-line contract of DESIGN.md: db upgrade, seed, import-travellers, affected; and
its errors: one line, in the user's language, exit code 1, never a traceback."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from emergency.cli.errors import user_language
from emergency.cli.main import main
from registry.models import Stop, Traveller

pytestmark = pytest.mark.usefixtures("english_locale")  # French only where a test asks for it

TODAY = date.today()
HEADER = "external_id,given_name,family_name,email,phone,language,country,place,lat,lon,arrival,departure\n"


def window(before=1, after=5):
    return (TODAY - timedelta(days=before)).isoformat(), (TODAY + timedelta(days=after)).isoformat()


def write_csv(tmp_path, rows):
    path = tmp_path / "travellers.csv"
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


def count(app, model):
    with app.app_context():
        from emergency.core.database import db_session

        return db_session().scalar(select(func.count()).select_from(model))


def test_db_upgrade_is_safe_on_an_up_to_date_database(runner):
    first = runner.invoke(args=["db", "upgrade"])
    second = runner.invoke(args=["db", "upgrade"])
    assert first.exit_code == 0 and second.exit_code == 0, second.output
    assert "revision 0021" in second.output


def test_seed_creates_the_requested_number_of_travellers(runner, app):
    result = runner.invoke(args=["seed", "--travellers", "300"])
    assert result.exit_code == 0, result.output
    assert "Created 300 travellers" in result.output
    assert count(app, Traveller) == 300
    with app.app_context():
        from emergency.core.database import db_session

        precisions = set(db_session().scalars(select(Stop.precision).distinct()))
    assert precisions == {"point", "city", "country"}


def test_seed_refuses_a_non_positive_count(runner, app):
    result = runner.invoke(args=["seed", "--travellers", "0"])
    assert result.exit_code != 0
    assert count(app, Traveller) == 0


def test_import_then_affected_lists_who_is_in_the_circle(runner, app, tmp_path):
    arrival, departure = window()
    path = write_csv(tmp_path, [
        f"P1,Ann,Lee,ann@example.org,+351912345678,en,PT,,38.72,-9.14,{arrival},{departure}\n",
        f"P2,Zoé,Roy,zoe@example.org,+33612345678,fr,PT,Lisbon,,,{arrival},{departure}\n",
        f"P3,Max,Roy,max@example.org,+16135550142,en,PT,,,,{arrival},{departure}\n",
        f"P4,Tom,Wu,tom@example.org,+14165550199,en,CA,Toronto,,,{arrival},{departure}\n",
    ])
    imported = runner.invoke(args=["import-travellers", str(path)])
    assert imported.exit_code == 0, imported.output
    assert count(app, Traveller) == 4

    result = runner.invoke(args=["affected", "circle:38.72,-9.14,50", "--at", f"{TODAY.isoformat()}T12:00:00Z",
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {r["external_id"]: r["precision"] for r in rows} == {"P1": "point", "P2": "point", "P3": "country"}
    assert all({"external_id", "traveller_id", "precision"} <= set(r) for r in rows)

    as_csv = runner.invoke(args=["affected", "circle:38.72,-9.14,50", "--at", TODAY.isoformat(), "--format", "csv"])
    assert sorted(r["external_id"] for r in csv.DictReader(io.StringIO(as_csv.stdout))) == ["P1", "P2", "P3"]

    as_geojson = json.loads(runner.invoke(args=["affected", "circle:38.72,-9.14,50", "--at", TODAY.isoformat(),
                                                "--format", "geojson"]).stdout)
    assert as_geojson["type"] == "FeatureCollection" and len(as_geojson["features"]) == 3


def test_affected_with_a_geojson_file_and_a_window_that_misses_the_trip(runner, app, tmp_path):
    arrival, departure = window(before=30, after=-20)  # a trip that ended 20 days ago
    runner.invoke(args=["import-travellers", str(write_csv(tmp_path, [
        f"P1,Ann,Lee,ann@example.org,+351912345678,en,PT,,38.72,-9.14,{arrival},{departure}\n"]))])
    zone = tmp_path / "zone.geojson"
    zone.write_text(json.dumps({"type": "Polygon", "coordinates": [[[-10, 38], [-8, 38], [-8, 40], [-10, 40], [-10, 38]]]}))
    now = runner.invoke(args=["affected", str(zone), "--at", TODAY.isoformat()])
    assert now.exit_code == 0 and json.loads(now.stdout) == []
    then = runner.invoke(args=["affected", str(zone), "--at", (TODAY - timedelta(days=25)).isoformat()])
    assert [r["external_id"] for r in json.loads(then.stdout)] == ["P1"]


def test_import_reports_bad_rows_by_line_and_imports_the_good_ones(runner, app, tmp_path):
    arrival, departure = window()
    path = write_csv(tmp_path, [
        f"G1,Ann,Lee,ann@example.org,+351912345678,en,PT,,,,{arrival},{departure}\n",
        f"B1,Bob,Lee,not-an-email,+351912345679,en,PT,,,,{arrival},{departure}\n",
        f"B2,Cy,Lee,cy@example.org,+351912345670,en,XX,,,,{arrival},{departure}\n",
        f"B3,Di,Lee,di@example.org,+351912345671,en,PT,,,,{departure},{arrival}\n",
    ])
    result = runner.invoke(args=["import-travellers", str(path)])
    assert result.exit_code == 1
    assert "line 3" in result.output and "line 4" in result.output and "line 5" in result.output
    assert count(app, Traveller) == 1


def test_affected_rejects_a_bad_zone_with_a_clear_message(runner, app, tmp_path):
    bad = runner.invoke(args=["affected", "circle:95,0,10", "--at", TODAY.isoformat()])
    assert bad.exit_code != 0 and "atitude" in bad.output
    missing = runner.invoke(args=["affected", str(tmp_path / "nope.geojson"), "--at", TODAY.isoformat()])
    assert missing.exit_code != 0
    bad_time = runner.invoke(args=["affected", "circle:0,0,10", "--at", "yesterday"])
    assert bad_time.exit_code != 0 and "valid date" in bad_time.output


# Errors: one line, in the user's language (LC_ALL, LC_MESSAGES, LANG), exit code 1, no traceback.

ROOT = Path(__file__).resolve().parents[3]
PROJECT_COMMANDS = ("db", "worker", "cron", "seed", "import-travellers", "affected", "create-partner", "purge",
                    "create-user", "set-on-call", "demo")
FRENCH = {"LC_ALL": None, "LC_MESSAGES": None, "LANG": "fr_FR.UTF-8"}


def error_line(result) -> str:
    """The one error line of a failed command, after checking it failed as a user should see."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # not a crash
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith(("Error", "Erreur"))]
    assert len(errors) == 1 and errors[0] == lines[-1], result.stderr
    assert "Traceback" not in result.output
    return errors[0]


def run_console_script(*args: str, **env: str | None):
    """The `emergency` group itself (not the app's CLI), on an environment without
    configuration except `env`: it builds the app from the environment as the console
    script does."""
    environment = {name: None for name in ("SECRET_KEY", "EMERGENCY_ENV", "DATABASE_URL", "REDIS_URL",
                                            "JOBS_MODE", "FLASK_RUN_FROM_CLI")}
    environment.update(env)
    return CliRunner().invoke(main, list(args), env=environment)


def test_help_lists_every_command_without_a_secret_key():
    environment = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "EMERGENCY_ENV")}
    environment["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    done = subprocess.run([sys.executable, "-m", "emergency.cli", "--help"], env=environment, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "SECRET_KEY" not in done.stderr
    commands = done.stdout.split("\nCommands:\n", 1)[1]
    for name in PROJECT_COMMANDS:
        assert re.search(rf"^  {re.escape(name)}\s+\w", commands, re.MULTILINE), f"{name} missing:\n{done.stdout}"


def test_a_command_run_without_a_secret_key_says_what_is_missing_in_one_line():
    line = error_line(run_console_script("seed", "--travellers", "1"))
    assert line.startswith("Error: SECRET_KEY is not set")
    french = error_line(run_console_script("seed", "--travellers", "1", **FRENCH))
    assert french.startswith("Erreur\u00a0: SECRET_KEY n'est pas défini")


def test_a_bad_setting_stops_a_command_with_one_line_naming_it():
    line = error_line(run_console_script("db", "upgrade", SECRET_KEY="s" * 32, SMS_BATCH_SIZE="abc"))
    assert "SMS_BATCH_SIZE" in line and "'abc'" in line
    line = error_line(run_console_script("db", "upgrade", SECRET_KEY="s" * 32, JOBS_MODE="nonsense"))
    assert "JOBS_MODE" in line and "rq, thread, sync" in line


def test_an_unreachable_database_is_one_line_that_hides_its_password():
    line = error_line(run_console_script("db", "upgrade", SECRET_KEY="s" * 32,
                                         DATABASE_URL="postgresql://admin:hunter2@127.0.0.1:1/emergency"))
    assert "Cannot use the database postgresql+psycopg://admin:***@127.0.0.1:1/emergency" in line
    assert "hunter2" not in line


def test_a_database_url_with_a_bad_scheme_is_one_line():
    line = error_line(run_console_script("db", "upgrade", SECRET_KEY="s" * 32, DATABASE_URL="mongodb://db/emergency"))
    assert "DATABASE_URL" in line
    line = error_line(run_console_script("db", "upgrade", SECRET_KEY="s" * 32, DATABASE_URL="postgresql+nodriver://db/x"))
    assert "Cannot use the database" in line


def test_the_language_comes_from_lc_all_then_lc_messages_then_lang():
    assert user_language({"LC_ALL": "fr_CA.UTF-8", "LANG": "en_CA.UTF-8"}) == "fr"
    assert user_language({"LC_ALL": "", "LC_MESSAGES": "en_GB", "LANG": "fr_FR"}) == "en"
    assert user_language({"LANG": "fr"}) == "fr"
    assert user_language({"LANG": "de_DE.UTF-8"}) == "en"
    assert user_language({}) == "en"


def test_an_unknown_partner_is_an_error_in_the_users_language(runner, app, tmp_path):
    path = write_csv(tmp_path, [])
    line = error_line(runner.invoke(args=["import-travellers", str(path), "--partner", "Nobody"]))
    assert "No partner named Nobody" in line
    french = error_line(runner.invoke(args=["import-travellers", str(path), "--partner", "Nobody"], env=FRENCH))
    assert "Aucun partenaire ne s'appelle Nobody" in french


def test_a_duplicate_partner_is_an_error_in_the_users_language(runner, app):
    assert runner.invoke(args=["create-partner", "Tours SA"]).exit_code == 0
    french = error_line(runner.invoke(args=["create-partner", "tours sa"], env=FRENCH))
    assert "Un partenaire nommé tours sa existe déjà" in french


def test_a_bad_zone_or_window_is_an_error_in_the_users_language(runner, app):
    zone = error_line(runner.invoke(args=["affected", "circle:95,0,10", "--at", TODAY.isoformat()], env=FRENCH))
    assert "La latitude du cercle" in zone
    when = error_line(runner.invoke(args=["affected", "circle:0,0,10", "--at", "yesterday"], env=FRENCH))
    assert "L'heure de début n'est pas une date et une heure valides" in when
    english = error_line(runner.invoke(args=["affected", "circle:0,0,10", "--at", "yesterday"]))
    assert "The start time is not a valid date and time" in english


def test_an_unreadable_import_file_is_an_error_in_the_users_language(runner, app, tmp_path):
    path = tmp_path / "wrong.csv"
    path.write_text("external_id,given_name\nX1,Ann\n", encoding="utf-8")
    french = error_line(runner.invoke(args=["import-travellers", str(path)], env=FRENCH))
    assert "Colonne(s) manquante(s)" in french
    assert count(app, Traveller) == 0


@pytest.mark.parametrize("command", ["worker", "cron"])
def test_worker_and_cron_without_redis_say_so_in_one_line(runner, app, command):
    assert "REDIS_URL" in error_line(runner.invoke(args=[command]))
    assert "REDIS_URL n'est pas défini" in error_line(runner.invoke(args=[command], env=FRENCH))


def test_the_demo_outside_development_mode_is_one_line(runner, app):
    assert "EMERGENCY_ENV=development" in error_line(runner.invoke(args=["demo"]))


def test_a_usage_mistake_keeps_clicks_exit_code_2_and_a_refused_value_exits_1(runner, app):
    missing_option = runner.invoke(args=["create-user", "p@example.org", "--name", "P", "--password", "x"])
    assert missing_option.exit_code == 2
    refused = runner.invoke(args=["create-user", "p@example.org", "--name", "P", "--role", "partner",
                                  "--password", "x"])
    assert "--partner NAME is required" in error_line(refused)


def test_a_short_secret_key_stops_the_command_with_one_line():
    line = error_line(run_console_script("db", "upgrade", SECRET_KEY="too-short"))
    assert line.startswith("Error: SECRET_KEY is too short: it must be at least 32 bytes")


def test_the_demo_serves_on_the_port_it_is_given_and_links_follow_it(make_app, monkeypatch):
    import werkzeug.serving

    served = {}
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.setattr(werkzeug.serving, "run_simple", lambda host, port, app, **kw: served.update(port=port, app=app))
    app = make_app(ENV_NAME="development")
    result = app.test_cli_runner().invoke(args=["demo", "--port", "5050", "--travellers", "3"])
    assert result.exit_code == 0, result.output
    assert served["port"] == 5050
    assert served["app"].config["PUBLIC_BASE_URL"] == "http://127.0.0.1:5050"
    assert served["app"].config["RATELIMIT_DEMO_FACTOR"] > 1
    assert "http://127.0.0.1:5050/" in result.output and "relaxed" in result.output
