"""405 METHOD_NOT_ALLOWED: the functions behind every route path's ANY method (MethodNotAllowedFunction,
and ScimMethodNotAllowedFunction for the SCIM paths).

API Gateway sends it the methods a path's own routes do not declare; it answers in the envelope,
with the path's methods (from the published OpenAPI document shipped beside it) in ``Allow``.
"""

from __future__ import annotations

import re
import uuid

import pytest

from local import template as tpl
from tests.support.apigw import Api, event, run

MODULE = "docs.method_not_allowed"  # CodeUri docs/, Handler method_not_allowed.handler
ROUTES = [r for r in tpl.routes() if r.method != "ANY"]
METHODS_BY_PATH = {
    path: sorted(r.method for r in ROUTES if r.path == path) for path in {r.path for r in ROUTES}
}
TRIED = ("PUT", "POST", "PATCH", "DELETE", "GET")


def test_put_on_the_clients_collection_is_405_with_allow_and_request_id():
    # Given the event API Gateway sends the clients path's ANY method for a PUT
    evt = event(
        "PUT",
        "/partner/v1/clients",
        resource="/partner/v1/clients",
        headers={"x-request-id": "put-clients-405", "Content-Type": "application/json"},
        body='{"name": "John Doe"}',
    )

    # When the 405 function handles it
    reply = run(MODULE, evt)

    # Then it is 405 METHOD_NOT_ALLOWED in the envelope, naming the methods the path has
    assert reply.status == 405, reply.text
    assert reply.header("Content-Type") == "application/json"
    assert reply.header("Allow") == "GET, POST"
    assert reply.header("x-request-id") == "put-clients-405"
    assert reply.body == {
        "success": False,
        "code": "METHOD_NOT_ALLOWED",
        "message": "Method PUT is not allowed on this resource.",
        "requestId": "put-clients-405",
    }


def test_without_a_request_id_the_gateways_one_is_echoed():
    evt = event("DELETE", "/partner/v1/clients", resource="/partner/v1/clients")

    reply = run(MODULE, evt)

    assert reply.status == 405, reply.text
    assert reply.header("x-request-id") == evt["requestContext"]["requestId"]
    assert reply.body["requestId"] == evt["requestContext"]["requestId"]


@pytest.mark.parametrize("path", sorted(METHODS_BY_PATH))
def test_every_route_path_answers_an_undeclared_method_with_its_own_methods(path: str):
    # Given a route path of the template, called (concrete ids for its parameters) with a method
    # none of its routes declares, routed as API Gateway routes it
    method = next(m for m in TRIED if m not in METHODS_BY_PATH[path])
    concrete = re.sub(r"\{\w+\}", lambda _: str(uuid.uuid4()), path)
    reply = Api().call(method, concrete, headers={"x-request-id": f"any-{method.lower()}"})

    # Then the 405 function answers, and Allow lists exactly the methods template.yaml routes
    # there: the published document and the template agree on every path (SCIM's answers in
    # SCIM's error body)
    assert reply.status == 405, reply.text
    if path.startswith("/scim/"):
        assert reply.body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert reply.body["status"] == "405"
        assert reply.header("Content-Type") == "application/scim+json"
    else:
        assert reply.body["code"] == "METHOD_NOT_ALLOWED"
    assert reply.header("Allow") == ", ".join(METHODS_BY_PATH[path])
    assert reply.header("x-request-id") == f"any-{method.lower()}"


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS"])
def test_head_and_options_are_405_too(method: str):
    # API Gateway's ANY takes every method, HEAD and OPTIONS (no CORS is configured) included
    reply = run(MODULE, event(method, "/health", resource="/health"))
    assert reply.status == 405, reply.text
    assert reply.header("Allow") == "GET"


def test_a_declared_method_still_reaches_its_own_function():
    # Given a path with an explicit route and the ANY method: API Gateway prefers the explicit one
    reply = Api().call("GET", "/health")

    # Then GET is the health route's, not a 405
    assert reply.status == 200, reply.text
    assert reply.body == {"status": "ok"}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/scim/v2/Groups", 404),
        ("GET", "/scim/v2/6f2a8c4e-1b3d-4a5f-8e7c-9d0b2a4c6e81", 404),
        ("DELETE", "/scim/v2/Users/x/y", 404),
        ("POST", "/scim/v2/.search", 501),
        ("POST", "/scim/v2/Users/.search", 501),
        ("POST", "/scim/v2/Bulk", 404),
    ],
)
def test_any_other_path_under_scim_is_answered_in_scims_error_body(method: str, path: str, status: int):
    # Given a path under /scim/v2 that no route declares (API Gateway's greedy /scim/v2/{proxy+}),
    # or SCIM's POST .search, which this service does not offer
    reply = Api().call(method, path, headers={"x-request-id": "scim-unknown"})

    # Then the answer is SCIM's error body (404, or 501 for .search), never the envelope
    assert reply.status == status, reply.text
    assert reply.header("Content-Type") == "application/scim+json"
    assert reply.body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert reply.body["status"] == str(status)
    assert reply.header("x-request-id") == "scim-unknown"
