"""The published OpenAPI document: generated from the routes' declarations, committed, and in
step with both the code and template.yaml."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from local import template as tpl
from tests.support.tools import load_tool

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "openapi.json"


TOOL = load_tool("openapi")
BUILT: dict[str, Any] = TOOL.build()
COMMITTED: dict[str, Any] = json.loads(DOCUMENT.read_text())
OPERATIONS = [(method.upper(), path) for path, item in BUILT["paths"].items() for method in item]
# The catch-all that answers 405 on every resource: a method of none of them, so not an operation.
TEMPLATE_ROUTES = [(r.method, r.path) for r in tpl.routes() if r.method != "ANY"]


def test_the_committed_document_is_the_one_the_code_generates():
    # Given the document built from the functions' route declarations now
    # Then docs/openapi.json is byte for byte what `make openapi` writes
    assert DOCUMENT.read_text() == TOOL.text(BUILT), "docs/openapi.json is out of date: run `make openapi`"


def test_every_template_route_is_documented_and_every_documented_route_is_routed():
    assert sorted(OPERATIONS) == sorted(TEMPLATE_ROUTES)


def test_the_document_is_valid_openapi_3_1():
    validate(COMMITTED)
    assert COMMITTED["openapi"].startswith("3.1")


def test_operation_ids_are_unique():
    ids = [op["operationId"] for item in BUILT["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


def operation(method: str, path: str) -> dict[str, Any]:
    return dict(BUILT["paths"][path][method.lower()])


def test_a_create_route_documents_its_body_answer_errors_headers_and_scope():
    # Given the document's POST /partner/v1/clients
    op = operation("POST", "/partner/v1/clients")

    # Then its body is the model Call parses with, its answer the envelope around Client
    body = op["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/ClientCreate"}
    schema = BUILT["components"]["schemas"]["ClientCreate"]
    assert schema["additionalProperties"] is False and "email" in schema["required"]
    created = op["responses"]["201"]
    assert created["content"]["application/json"]["schema"]["properties"]["data"] == {
        "$ref": "#/components/schemas/Client"
    }
    assert set(created["headers"]) == {"x-request-id", "ETag", "Idempotent-Replayed"}
    # and every status it can answer, with the shared error answers
    statuses = {"201", "400", "401", "403", "404", "409", "413", "422", "429", "500", "503"}
    assert set(op["responses"]) == statuses
    assert op["responses"]["409"] == {"$ref": "#/components/responses/Error409"}
    assert op["security"] == [{"oauth2": ["clients:write"]}, {"dpop": ["clients:write"]}]
    assert "Idempotency-Key" in [p["name"] for p in op["parameters"]]
    # and a link to read what it created
    assert op["responses"]["201"]["links"]["get_client"]["parameters"] == {
        "clientId": "$response.body#/data/clientId"
    }


def test_a_list_route_documents_its_query_from_the_query_model():
    params = {
        p["name"]: p for p in operation("GET", "/partner/v1/clients")["parameters"] if p["name"] != "DPoP"
    }
    assert params["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}
    assert params["status"]["schema"]["enum"] == ["active", "inactive", "suspended", "deleted"]
    assert params["partnerId"]["schema"]["pattern"].startswith("^[0-9a-f]{8}")
    assert all(p["in"] == "query" and not p["required"] for p in params.values())


def test_read_routes_accept_the_read_or_the_write_scope_and_operator_routes_need_admin():
    assert operation("GET", "/partner/v1/clients")["security"] == [
        {"oauth2": ["clients:read"]},
        {"oauth2": ["clients:write"]},
        {"dpop": ["clients:read"]},
        {"dpop": ["clients:write"]},
    ]
    assert operation("GET", "/admin/v1/partners")["security"] == [{"oauth2": ["admin"]}, {"dpop": ["admin"]}]
    assert operation("GET", "/health")["security"] == []


def test_the_token_endpoint_documents_its_form_basic_auth_and_oauth_errors():
    op = operation("POST", "/oauth/token")
    form = op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert form == {"$ref": "#/components/schemas/TokenRequest"}
    assert op["security"] == [{"clientSecretBasic": []}, {}]
    assert op["responses"]["400"] == {"$ref": "#/components/responses/OAuthError400"}
    assert op["responses"]["401"] == {"$ref": "#/components/responses/OAuthError401"}
    assert op["responses"]["413"] == {"$ref": "#/components/responses/Error413"}  # the edge's envelope


def dpop_parameters(op: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in op.get("parameters", []) if p["name"] == "DPoP"]


@pytest.mark.parametrize("method_path", OPERATIONS, ids=lambda o: " ".join(o))
def test_token_protected_operations_accept_a_dpop_bound_token_as_an_alternative(method_path: tuple[str, str]):
    # Given an operation, and the bearer (oauth2) alternatives of its security
    op = operation(*method_path)
    bearer = [entry["oauth2"] for entry in op["security"] if "oauth2" in entry]

    # Then a DPoP-bound token with the same scopes is an alternative to each, and the operation
    # documents the optional DPoP proof header (the token endpoint too: a proof binds its token)
    assert [entry["dpop"] for entry in op["security"] if "dpop" in entry] == bearer
    takes_proof = bool(bearer) or method_path == ("POST", "/oauth/token")
    wanted = [{"name": "DPoP", "in": "header", "required": False}] if takes_proof else []
    assert [{k: p[k] for k in ("name", "in", "required")} for p in dpop_parameters(op)] == wanted


def test_the_dpop_scheme_and_its_errors_are_documented():
    components = BUILT["components"]
    assert components["securitySchemes"]["dpop"]["type"] == "http"
    assert components["securitySchemes"]["dpop"]["scheme"] == "DPoP"
    assert "INVALID_DPOP_PROOF" in components["responses"]["Error401"]["description"]
    assert set(components["responses"]["Error401"]["headers"]) >= {"WWW-Authenticate", "DPoP-Nonce"}
    assert "DPoP-Nonce" in components["responses"]["OAuthError400"]["headers"]
    errors = components["schemas"]["OAuthError"]["properties"]["error"]["enum"]
    assert {"invalid_dpop_proof", "use_dpop_nonce"} <= set(errors)
    assert "dpop_signing_alg_values_supported" in components["schemas"]["ServerMetadata"]["properties"]
    assert "cnf" in components["schemas"]["TokenValidity"]["properties"]


def test_if_match_routes_document_the_header_and_412():
    op = operation("PATCH", "/partner/v1/clients/{clientId}")
    assert "If-Match" in [p["name"] for p in op["parameters"]]
    assert "412" in op["responses"]


def test_a_busy_dependency_answer_promises_retry_after():
    assert "RetryAfter" in json.dumps(BUILT["components"]["responses"]["Error503"])


@pytest.mark.parametrize("path", sorted(COMMITTED["paths"]))
def test_path_parameters_are_documented_with_their_pattern(path: str):
    for op in COMMITTED["paths"][path].values():
        declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
        assert declared == set(re.findall(r"\{(\w+)\}", path))
