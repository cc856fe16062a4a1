"""Schemathesis over /api/v1, in-process against the WSGI app: every operation of
openapi.yaml with generated (valid and invalid) input gets no 500 and an answer the
document describes (status code, content type, body schema, headers).

Examples are bounded so that the whole run stays well under two minutes; the seed is fixed
and hypothesis' example database off, so every run tries the same cases. The app is built
when the module is collected because schemathesis generates the tests from its document
(its fixture-based loader does not work with this pytest). Staff operations run with an administrator's token (who may do
everything), the partners' with a partner's: what the generated input does is tested, the
roles are the authorization matrix's business (tests/emergency/web/test_authorization_matrix.py).
"""
from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings

MAX_EXAMPLES = 12


def _make_schema_app():
    import tempfile
    from pathlib import Path

    from tests.conftest import _make_app

    path = Path(tempfile.mkdtemp(prefix="emergency-schemathesis-")) / "app.db"  # removed with the OS's temp files
    app = _make_app(f"sqlite:///{path}")
    with app.app_context():
        from emergency.core.auth import create_user, issue_api_token
        from emergency.core.database import db_session
        from registry.partners import create_partner

        admin = create_user("admin-fuzz@example.org", "Fuzz Admin", "admin")
        partner = create_partner(db_session(), "Fuzz Partner")
        partner_user = create_user("partner-fuzz@example.org", "Fuzz Partner API", "partner")
        partner_user.partner_id = partner.id
        app.config["FUZZ_TOKENS"] = {"admin": issue_api_token(admin), "partner": issue_api_token(partner_user)}
        db_session().commit()
    return app


APP = _make_schema_app()
TOKENS = APP.config["FUZZ_TOKENS"]
CONFIG = schemathesis.config.SchemathesisConfig.from_dict({
    "seed": 2026,  # the same cases on every run: a failure in CI is reproducible
    "generation": {
        "max-examples": MAX_EXAMPLES,
        "database": "none",
        # HTTP clients add parameters an API does not know; ignoring them is the norm.
        "allow-extra-parameters": False,
    },
    "checks": {
        # A schema cannot say which country codes, phone numbers, zone files or CAP documents
        # are real; the API's 422 with the reason is the right answer to those.
        "positive_data_acceptance": {"enabled": False},
    },
})
# /partners/me/travellers/{external_id} also matches ".../import": GET and DELETE there are the
# record whose external id is "import", which the Allow header of the import rightly lists.
SHARED_PATHS = {"/partners/me/travellers/import": [schemathesis.checks.unsupported_method,
                                                   schemathesis.checks.allow_header_conformance]}
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", APP, config=CONFIG)


@schema.auth()
class BearerToken:
    """An administrator's token (who may call every staff operation), a partner's on the
    partners' API; schemathesis leaves it out or spoils it to check the 401s."""

    def get(self, case, context):
        return TOKENS["partner" if case.path.startswith("/partners/") else "admin"]

    def set(self, case, token, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_answers_what_its_document_says(case):
    case.call_and_validate(excluded_checks=SHARED_PATHS.get(case.path, []))
