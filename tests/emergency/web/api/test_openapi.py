"""The OpenAPI document is the API's contract with other systems: it must describe every
/api/v1 route the application serves, and nothing the application does not serve."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from emergency.web.api.errors import API_PREFIX, HTTP_ERRORS
from emergency.web.api.openapi import openapi_document

API_DIR = Path(__file__).resolve().parents[4] / "emergency" / "web" / "api"
METHODS = ("get", "put", "post", "delete", "patch")


def _template(path: str) -> str:
    """A path with its parameters unnamed: Flask's `<int:incident_id>` and OpenAPI's `{id}`
    both become `{}`, since a parameter's name is not part of the URL a client calls."""
    return re.sub(r"\{[^}]+\}", "{}", re.sub(r"<(?:[^:>]+:)?[^>]+>", "{}", path))


def served_operations(app) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule == API_PREFIX or rule.rule.startswith(API_PREFIX + "/"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                found.add((method.lower(), _template(rule.rule[len(API_PREFIX):])))
    return found


def documented_operations(document: dict) -> set[tuple[str, str]]:
    return {(method, _template(path)) for path, item in document["paths"].items() for method in item if method in METHODS}


def test_the_document_is_served_under_its_server_url(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document == openapi_document()
    assert [server["url"] for server in document["servers"]] == [API_PREFIX]


def test_every_api_route_is_documented(app):
    assert sorted(served_operations(app) - documented_operations(openapi_document())) == []


def test_every_documented_operation_is_served(app):
    assert sorted(documented_operations(openapi_document()) - served_operations(app)) == []


def test_the_route_comparison_sees_a_difference():
    document = {"paths": {"/incidents/{id}": {"get": {}, "parameters": []}}}
    assert documented_operations(document) == {("get", "/incidents/{}")}
    assert _template("/incidents/<int:incident_id>/alerts") == _template("/incidents/{id}/alerts")
    assert _template("/incidents/<int:incident_id>") != _template("/incidents/{id}/alerts")


@pytest.mark.parametrize("path", sorted(openapi_document()["paths"]))
def test_every_path_parameter_is_declared(path):
    item = openapi_document()["paths"][path]
    wanted = set(re.findall(r"\{([^}]+)\}", path))
    for method in (m for m in item if m in METHODS):
        parameters = item.get("parameters", []) + item[method].get("parameters", [])
        declared = {p["name"] for p in parameters if p.get("in") == "path"}
        assert declared == wanted, f"{method.upper()} {path}"


def _error_codes_in_source() -> set[str]:
    """Every literal `code` passed to `error_response(status, code, ...)` in the API package
    (both branches of a conditional code too)."""
    codes = set()
    for source in API_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "error_response" and len(node.args) > 1:
                code = node.args[1]
                branches = [code.body, code.orelse] if isinstance(code, ast.IfExp) else [code]
                codes.update(b.value for b in branches if isinstance(b, ast.Constant) and isinstance(b.value, str))
    return codes


def test_every_error_code_the_api_answers_is_listed_in_the_document():
    listed = set(openapi_document()["components"]["schemas"]["Error"]["properties"]["error"]["enum"])
    answered = _error_codes_in_source() | {code for code, _message in HTTP_ERRORS.values()}
    assert {"invalid_json", "refused", "no_file"} <= answered  # the scan finds literal and conditional codes
    assert sorted(answered - listed) == []
