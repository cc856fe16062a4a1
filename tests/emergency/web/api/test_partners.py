"""Partners (tour operators, schools, agencies) import and manage only their own travellers.

A partner token sees its own records and nothing else: another partner's or the public
registry's records answer 404 as if they did not exist; coordinator endpoints answer 403.
external_id is unique per partner, and re-importing the same file changes nothing."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from emergency.core.models import AuditEntry, User
from registry.importer import COLUMNS, import_csv
from registry.models import Partner, Stop, Traveller
from tests.conftest import api_headers, login

pytestmark = pytest.mark.usefixtures("english_locale")  # the CLI's errors are read in English

HEADER = ",".join(COLUMNS)
FILE = f"""{HEADER}
T-1,Anne,Smith,anne@example.org,+1 613 555 0101,en,FR,Paris,,,2030-06-01,2030-06-05
T-1,Anne,Smith,anne@example.org,+1 613 555 0101,en,IT,,41.9,12.5,2030-06-05,2030-06-09
T-2,Luc,Côté,luc@example.org,+1 514 555 0102,fr,PE,,,,2030-07-01,2030-07-10
"""
BAD = f"""{HEADER}
T-1,Anne,Smith,anne@example.org,+1 613 555 0101,en,FR,Paris,,,2030-06-01,2030-06-05
T-3,Zoé,Roy,not-an-email,,fr,FR,,,,2030-06-01,2030-06-05
T-4,Max,Roy,max@example.org,,en,ZZ,,,,2030-06-01,2030-05-01
"""


def _partner_token(app, name: str, email: str) -> tuple[int, dict]:
    from emergency.core.auth import create_user, issue_api_token
    from emergency.core.database import db_session
    from registry.partners import create_partner

    with app.app_context():
        partner = create_partner(db_session(), name)
        user = create_user(email, name + " API", "partner")
        user.partner_id = partner.id
        token = issue_api_token(user)
        db_session().commit()
        return partner.id, {"Authorization": f"Bearer {token}"}


@pytest.fixture
def partners(app):
    """Two partners with an API token each: {"acme": (id, headers), "school": (id, headers)}."""
    return {"acme": _partner_token(app, "Acme Tours", "api@acme.example"),
            "school": _partner_token(app, "Lycée Voyages", "api@school.example")}


def upload(client, headers, text: str, **extra):
    return client.post("/api/v1/partners/me/travellers/import", data=text.encode("utf-8"),
                       headers={**headers, "Content-Type": "text/csv", **extra})


def count(db, model, *where) -> int:
    return db.scalar(select(func.count()).select_from(model).where(*where))


def test_partner_import_creates_travellers_owned_by_that_partner(client, app, partners, db):
    acme_id, acme = partners["acme"]
    body = upload(client, acme, FILE).get_json()
    assert (body["ok"], body["travellers_created"], body["stops"], body["errors"]) == (True, 2, 3, [])
    owners = set(db.scalars(select(Traveller.partner_id)))
    assert owners == {acme_id}


def test_a_multipart_file_upload_is_accepted_too(client, partners, db):
    _, acme = partners["acme"]
    response = client.post("/api/v1/partners/me/travellers/import", headers=acme,
                           data={"file": (io.BytesIO(FILE.encode("utf-8")), "travellers.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 200
    assert response.get_json()["travellers_created"] == 2


def test_reimporting_the_same_file_changes_nothing_for_each_partner(client, partners, db):
    for name in ("acme", "school"):
        assert upload(client, partners[name][1], FILE).get_json()["travellers_created"] == 2
    before = (count(db, Traveller), count(db, Stop), list(db.scalars(select(Stop.id).order_by(Stop.id))))
    for name in ("acme", "school"):
        again = upload(client, partners[name][1], FILE).get_json()
        assert (again["travellers_created"], again["travellers_updated"], again["travellers_unchanged"]) == (0, 0, 2)
    db.expire_all()
    assert (count(db, Traveller), count(db, Stop), list(db.scalars(select(Stop.id).order_by(Stop.id)))) == before


def test_the_same_external_id_in_two_partners_and_the_public_registry_is_three_travellers(client, partners, db):
    upload(client, partners["acme"][1], FILE)
    upload(client, partners["school"][1], FILE.replace("Anne", "Annie"))
    import_csv(db, io.StringIO(FILE.replace("Anne", "Ann")))  # the public registry (CLI, no partner)
    db.commit()
    names = sorted(db.scalars(select(Traveller.given_name).where(Traveller.external_id == "T-1")))
    assert names == ["Ann", "Anne", "Annie"]


def test_a_partner_update_touches_only_its_own_record(client, partners, db):
    upload(client, partners["acme"][1], FILE)
    upload(client, partners["school"][1], FILE)
    report = upload(client, partners["school"][1], FILE.replace("anne@example.org", "anne@school.example")).get_json()
    assert report["travellers_updated"] == 1
    emails = dict(db.execute(select(Traveller.partner_id, Traveller.email).where(Traveller.external_id == "T-1")).all())
    assert emails == {partners["acme"][0]: "anne@example.org", partners["school"][0]: "anne@school.example"}


def test_bad_rows_are_reported_by_line_number_and_reason_and_good_rows_imported(client, partners, db):
    body = upload(client, partners["acme"][1], BAD).get_json()
    assert body["ok"] is False and body["travellers_created"] == 1
    by_line = {}
    for e in body["errors"]:
        by_line.setdefault(e["line"], set()).add(e["field"])
    assert by_line == {3: {"email"}, 4: {"country", "departure"}}
    assert count(db, Traveller) == 1


def test_import_errors_come_in_the_language_of_the_request(client, partners):
    body = upload(client, partners["acme"][1], BAD, **{"Accept-Language": "fr"}).get_json()
    [country] = [e for e in body["errors"] if e["field"] == "country"]
    assert "pays" in country["message"].lower()


def test_a_file_with_a_wrong_header_is_refused_and_nothing_is_imported(client, partners, db):
    response = upload(client, partners["acme"][1], "id,name\nT-1,Anne\n")
    assert response.status_code == 422
    assert response.get_json()["error"] == "invalid_file"
    assert "external_id" in response.get_json()["message"]
    assert count(db, Traveller) == 0


def test_an_empty_upload_is_refused_with_a_clear_message(client, partners):
    response = upload(client, partners["acme"][1], "")
    assert response.status_code == 400
    assert response.get_json()["error"] == "no_file"
    response = client.post("/api/v1/partners/me/travellers/import", headers=partners["acme"][1],
                           data={"other": "x"}, content_type="multipart/form-data")
    assert response.status_code == 400


def test_a_file_that_is_not_utf8_text_is_refused(client, partners, db):
    response = client.post("/api/v1/partners/me/travellers/import", data=b"\xff\xfe\x00\x01garbage",
                           headers={**partners["acme"][1], "Content-Type": "text/csv"})
    assert response.status_code == 422
    assert count(db, Traveller) == 0


def test_the_list_shows_only_the_partners_own_travellers_page_by_page(client, partners, db):
    upload(client, partners["acme"][1], FILE)
    upload(client, partners["school"][1], FILE.replace("T-1", "S-1").replace("T-2", "S-2"))
    first = client.get("/api/v1/partners/me/travellers?per_page=1", headers=partners["acme"][1]).get_json()
    second = client.get("/api/v1/partners/me/travellers?per_page=1&page=2", headers=partners["acme"][1]).get_json()
    assert first["total"] == 2
    assert [t["external_id"] for t in first["travellers"] + second["travellers"]] == ["T-1", "T-2"]
    assert len(first["travellers"][0]["trips"][0]["stops"]) == 2


@pytest.mark.parametrize("query", ["page=0", "per_page=0", "per_page=501", "page=x"])
def test_the_list_refuses_a_bad_page(client, partners, query):
    response = client.get(f"/api/v1/partners/me/travellers?{query}", headers=partners["acme"][1])
    assert response.status_code == 400


def test_a_partner_reads_its_own_record_by_external_id_and_the_view_is_audited(client, partners, db):
    upload(client, partners["acme"][1], FILE)
    response = client.get("/api/v1/partners/me/travellers/T-2", headers=partners["acme"][1])
    assert response.status_code == 200 and response.get_json()["family_name"] == "Côté"
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "traveller.viewed"))
    assert entry.actor == "api:api@acme.example"


def test_another_partners_record_is_not_found_for_reading_or_deleting(client, partners, db):
    upload(client, partners["school"][1], FILE)
    for method in (client.get, client.delete):
        response = method("/api/v1/partners/me/travellers/T-1", headers=partners["acme"][1])
        assert response.status_code == 404
    assert count(db, Traveller) == 2


def test_the_public_registrys_records_are_not_found_through_a_partner_token(client, partners, db):
    import_csv(db, io.StringIO(FILE))
    db.commit()
    assert client.get("/api/v1/partners/me/travellers/T-1", headers=partners["acme"][1]).status_code == 404
    assert client.delete("/api/v1/partners/me/travellers/T-1", headers=partners["acme"][1]).status_code == 404
    listed = client.get("/api/v1/partners/me/travellers", headers=partners["acme"][1]).get_json()
    assert listed["total"] == 0
    assert count(db, Traveller) == 2


def test_a_partner_deletes_its_own_record_for_real_and_the_audit_holds_no_personal_data(client, partners, db):
    upload(client, partners["acme"][1], FILE)
    upload(client, partners["school"][1], FILE)
    assert client.delete("/api/v1/partners/me/travellers/T-1", headers=partners["acme"][1]).status_code == 204
    db.expire_all()
    assert count(db, Traveller, Traveller.external_id == "T-1") == 1  # the school's T-1 stays
    assert count(db, Stop) == 3 + 1
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "traveller.deleted"))
    assert "Anne" not in str(entry.details) and "anne@" not in str(entry.details)
    assert client.get("/api/v1/partners/me/travellers/T-1", headers=partners["acme"][1]).status_code == 404


@pytest.mark.parametrize("method,path", [
    ("get", "/api/v1/travellers/1"), ("post", "/api/v1/travellers"), ("get", "/api/v1/travellers?q=anne"),
    ("get", "/api/v1/incidents"), ("post", "/api/v1/incidents"), ("get", "/api/v1/advisories"),
    ("put", "/api/v1/advisories/FR"),
])
def test_a_partner_token_cannot_call_staff_endpoints(client, partners, method, path):
    response = getattr(client, method)(path, headers=partners["acme"][1], json={})
    assert response.status_code == 403


def test_a_coordinator_token_is_refused_by_the_partners_api(client, app):
    response = client.get("/api/v1/partners/me/travellers", headers=api_headers(app))
    assert response.status_code == 403


def test_the_partners_api_needs_a_token(client):
    assert client.get("/api/v1/partners/me/travellers").status_code == 401


def test_coordinators_still_see_partner_records(client, app, partners, db):
    upload(client, partners["acme"][1], FILE)
    traveller_id = db.scalar(select(Traveller.id).where(Traveller.external_id == "T-1"))
    assert client.get(f"/api/v1/travellers/{traveller_id}", headers=api_headers(app)).status_code == 200


def test_a_partner_user_cannot_sign_in_to_the_console(client, app, partners, db):
    from tests.conftest import _password_hash

    user = db.scalar(select(User).where(User.email == "api@acme.example"))
    user.password_hash = _password_hash()
    db.commit()
    login(client, "api@acme.example")
    assert client.get("/").status_code == 302


# --- CLI ---------------------------------------------------------------------------------

def test_create_partner_and_its_user_from_the_command_line(runner, db):
    result = runner.invoke(args=["create-partner", "  Acme   Tours "])
    assert result.exit_code == 0, result.output
    assert db.scalar(select(Partner.name)) == "Acme Tours"
    again = runner.invoke(args=["create-partner", "acme tours"])
    assert again.exit_code != 0 and "already exists" in again.output
    result = runner.invoke(args=["create-user", "ops@acme.example", "--name", "Acme", "--role", "partner",
                                 "--partner", "ACME TOURS", "--password", "pw", "--api-token"])
    assert result.exit_code == 0, result.output
    db.expire_all()
    user = db.scalar(select(User).where(User.email == "ops@acme.example"))
    assert (user.role, user.partner_id) == ("partner", db.scalar(select(Partner.id)))


def test_create_partner_refuses_a_blank_name(runner):
    result = runner.invoke(args=["create-partner", "   "])
    assert result.exit_code != 0 and "needs a name" in result.output


@pytest.mark.parametrize("args,message", [
    (["--role", "partner"], "--partner"),
    (["--role", "viewer", "--partner", "Acme Tours"], "--partner"),
    (["--role", "partner", "--partner", "Nobody Inc"], "No partner named"),
])
def test_create_user_refuses_a_partner_mismatch(runner, args, message):
    runner.invoke(args=["create-partner", "Acme Tours"])
    result = runner.invoke(args=["create-user", "x@example.org", "--name", "X", "--password", "pw", *args])
    assert result.exit_code != 0 and message in result.output


def test_cli_import_for_a_partner_is_idempotent_and_scoped(runner, db, tmp_path):
    runner.invoke(args=["create-partner", "Acme Tours"])
    path = tmp_path / "t.csv"
    path.write_text(FILE, encoding="utf-8")
    first = runner.invoke(args=["import-travellers", str(path), "--partner", "Acme Tours"])
    assert first.exit_code == 0 and "created: 2" in first.output
    second = runner.invoke(args=["import-travellers", str(path), "--partner", "Acme Tours"])
    assert second.exit_code == 0 and "created: 0, updated: 0" in second.output
    public = runner.invoke(args=["import-travellers", str(path)])
    assert "created: 2" in public.output
    assert count(db, Traveller, Traveller.partner_id.is_(None)) == 2
    assert count(db, Traveller, Traveller.partner_id.is_not(None)) == 2
    unknown = runner.invoke(args=["import-travellers", str(path), "--partner", "Nobody"])
    assert unknown.exit_code != 0 and "No partner named" in unknown.output


# --- the importer itself, on both backends --------------------------------------------

def test_import_is_scoped_per_partner_on_both_backends(backend_session):
    s = backend_session
    a, b = Partner(name="A"), Partner(name="B")
    s.add_all([a, b])
    s.commit()
    for partner in (a.id, b.id, None):
        assert import_csv(s, io.StringIO(FILE), partner_id=partner).travellers_created == 2
        s.commit()
    for partner in (a.id, b.id, None):
        again = import_csv(s, io.StringIO(FILE), partner_id=partner)
        s.commit()
        assert (again.travellers_created, again.travellers_updated, again.travellers_unchanged) == (0, 0, 2)
    assert s.scalar(select(func.count()).select_from(Traveller)) == 6


def test_the_database_refuses_a_duplicate_external_id_within_one_partner(backend_session):
    from sqlalchemy.exc import IntegrityError

    s = backend_session
    p = Partner(name="A")
    s.add(p)
    s.commit()
    for partner_id in (p.id, None):
        s.add(Traveller(external_id="X", given_name="a", family_name="b", partner_id=partner_id))
        s.commit()
        s.add(Traveller(external_id="X", given_name="c", family_name="d", partner_id=partner_id))
        with pytest.raises(IntegrityError):
            s.commit()
        s.rollback()


def test_import_progress_reports_every_byte_of_a_large_file(backend_session):
    rows = [f"E{i},Given,Family,p{i}@example.org,,en,FR,,,,2030-01-01,2030-01-02" for i in range(3000)]
    text = HEADER + "\n" + "\n".join(rows) + "\n"
    seen: list[int] = []
    report = import_csv(backend_session, io.StringIO(text), progress=seen.append)
    assert report.travellers_created == 3000
    assert len(seen) > 1 and sum(seen) == len(text.encode("utf-8"))
