"""The command-line contract of DESIGN.md: db upgrade, seed, import-travellers, affected."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

from sqlalchemy import func, select

from registry.models import Stop, Traveller

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
    assert "revision 0010" in second.output


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
