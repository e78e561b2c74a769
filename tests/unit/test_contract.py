"""The contract between template.yaml and the handlers, and the API rules the template must keep."""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from local import template as tpl

TEMPLATE = tpl.load()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
ROUTES = tpl.routes()
ROUTE_IDS = [r.logical_id for r in ROUTES]
FUNCTIONS = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function"}
TABLES = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::DynamoDB::Table"}
GATEWAY_RESPONSES: dict[str, Any] = RESOURCES["PartnerApi"]["Properties"]["GatewayResponses"]
# Routes that need no token; every other one authenticates (KMS public key, credential status).
PUBLIC_ROUTES = {
    ("POST", "/oauth/token"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/.well-known/oauth-authorization-server"),
    ("GET", "/health"),
}
LIST_ROUTES = {
    ("GET", "/partner/v1/clients"),
    ("GET", "/partner/v1/all-users"),
    ("GET", "/admin/v1/partners"),
}
WRITE_POLICIES = {"DynamoDBCrudPolicy", "DynamoDBWritePolicy"}
WRITE_ACTION = re.compile(
    r"^(\*|dynamodb:\*|dynamodb:(Put|Update|Delete|BatchWrite|TransactWrite|PartiQLInsert|PartiQLUpdate|"
    r"PartiQLDelete).*|kms:(\*|Sign))$"
)


def handler_file(route: tpl.FunctionRoute) -> Path:
    return tpl.ROOT / route.code_uri / f"{route.handler.rsplit('.', 1)[0]}.py"


def load_function(route: tpl.FunctionRoute) -> ModuleType:
    """The handler file loaded from the function's CodeUri, as Lambda loads it."""
    name = f"contract_functions.{route.logical_id}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, handler_file(route))
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def policies(logical_id: str) -> list[Any]:
    return list(FUNCTIONS[logical_id]["Properties"].get("Policies") or [])


def statement_actions(logical_id: str) -> list[str]:
    actions: list[str] = []
    for policy in policies(logical_id):
        if isinstance(policy, dict) and "Statement" in policy:
            for statement in policy["Statement"]:
                found = statement.get("Action", [])
                actions.extend([found] if isinstance(found, str) else found)
    return actions


def policy_tables(logical_id: str, kind: str) -> set[str]:
    return {p[kind]["TableName"]["Ref"] for p in policies(logical_id) if isinstance(p, dict) and kind in p}


# --- routes: template <-> handlers -----------------------------------------------------------------


def test_every_function_has_exactly_one_api_route():
    assert sorted(ROUTE_IDS) == sorted(FUNCTIONS)


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_function_module_registers_exactly_its_template_route(route: tpl.FunctionRoute):
    # Given the function's handler file, loaded from its CodeUri
    module = load_function(route)

    # Then it registers exactly the route the template gives it, and exports the resolver's handler
    assert module.api.routes == [(route.method, route.path)]
    assert route.handler.rsplit(".", 1)[1] == "handler"
    assert module.handler == module.api.handler


def test_template_routes_equal_the_union_of_handler_routes():
    # Given every (method, path) the handlers register, and every one the template declares
    handler_routes = [r for route in ROUTES for r in load_function(route).api.routes]
    template_routes = [(r.method, r.path) for r in ROUTES]

    # Then they are the same set, each declared once
    assert sorted(handler_routes) == sorted(template_routes)
    assert len(set(template_routes)) == len(template_routes)


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_template_module_name_imports_the_functions_handler_file(route: tpl.FunctionRoute):
    # Given the dotted module name local/template.py derives for a function (functions/ on the path)
    # When it is imported as the local runner and tests import it
    module = importlib.import_module(route.module)

    # Then it is the function's own handler file (not some other module of the same name)
    assert Path(module.__file__ or "").resolve() == handler_file(route).resolve()


# --- API rules kept by the template ------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_routes_are_explicit_never_proxy_or_any(route: tpl.FunctionRoute):
    event = next(iter(FUNCTIONS[route.logical_id]["Properties"]["Events"].values()))
    assert "+" not in route.path and "{proxy" not in route.path
    assert route.method in {"GET", "POST", "PUT", "PATCH", "DELETE"}
    assert route.path.startswith("/")
    # Every route is on the one API whose Gateway Responses carry the envelope.
    assert event["Properties"]["RestApiId"] == {"Ref": "PartnerApi"}


def test_functions_run_python313_on_arm64_from_globals():
    globals_ = TEMPLATE["Globals"]["Function"]
    assert globals_["Runtime"] == "python3.13"
    assert globals_["Architectures"] == ["arm64"]
    assert {"Ref": "SharedLayer"} in globals_["Layers"]
    for logical_id, function in FUNCTIONS.items():
        props = function["Properties"]
        assert props.get("Runtime", "python3.13") == "python3.13", logical_id
        assert props.get("Architectures", ["arm64"]) == ["arm64"], logical_id


def test_shared_layer_builds_for_python313_arm64_with_the_package_at_its_root():
    layer = RESOURCES["SharedLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    content = tpl.ROOT / layer["Properties"]["ContentUri"]
    # SAM puts the folder inside python/: a python/ folder here would end up at python/python/.
    assert (content / "partner_api" / "__init__.py").is_file()
    assert (content / "requirements.txt").is_file()
    assert not (content / "python").exists()


@pytest.mark.parametrize("logical_id", sorted(TABLES))
def test_tables_are_retained_on_demand_with_point_in_time_recovery(logical_id: str):
    table = TABLES[logical_id]
    assert table["DeletionPolicy"] == "Retain"
    assert table.get("UpdateReplacePolicy") == "Retain"
    assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


@pytest.mark.parametrize(
    ("response_type", "status", "code"),
    [
        ("MISSING_AUTHENTICATION_TOKEN", "404", "NOT_FOUND"),
        ("THROTTLED", "429", "TOO_MANY_REQUESTS"),
        ("DEFAULT_5XX", "500", "INTERNAL_SERVER_ERROR"),
    ],
)
def test_gateway_responses_answer_with_the_documented_status_and_code(
    response_type: str, status: str, code: str
):
    response = GATEWAY_RESPONSES[response_type]
    body = render(response["ResponseTemplates"]["application/json"])
    assert str(response["StatusCode"]) == status
    assert body["code"] == code


def test_throttled_gateway_response_says_when_to_retry():
    assert GATEWAY_RESPONSES["THROTTLED"]["ResponseParameters"]["Headers"]["Retry-After"] == "'1'"


SAMPLE_CONTEXT = {
    # What API Gateway substitutes (https://docs.aws.amazon.com/apigateway/latest/developerguide/
    # api-gateway-mapping-template-reference.html): messageString is the *quoted* message.
    "$context.requestId": "c5a3e0f2-7d41-4b9e-9a12-3f8e6b0d2c01",
    "$context.error.messageString": '"Missing Authentication Token"',
    "$context.error.message": "Missing Authentication Token",
    "$context.error.responseType": "MISSING_AUTHENTICATION_TOKEN",
}


def render(template: str) -> dict[str, Any]:
    for variable in sorted(SAMPLE_CONTEXT, key=len, reverse=True):
        template = template.replace(variable, SAMPLE_CONTEXT[variable])
    return dict(json.loads(template))


@pytest.mark.parametrize("response_type", sorted(GATEWAY_RESPONSES))
def test_every_gateway_response_renders_to_the_error_envelope(response_type: str):
    # Given a Gateway Response, as API Gateway renders it for a request
    response = GATEWAY_RESPONSES[response_type]
    templates = response["ResponseTemplates"]

    # When its JSON template is filled in
    body = render(templates["application/json"])

    # Then it is the API's error envelope, and the request id is also a header
    assert set(templates) == {"application/json"}
    assert set(body) == {"success", "code", "message", "requestId"}
    assert body["success"] is False
    assert re.match(r"^[A-Z_]+$", body["code"])
    assert body["message"] and "$context" not in body["message"]
    assert body["requestId"] == SAMPLE_CONTEXT["$context.requestId"]
    assert response["ResponseParameters"]["Headers"]["x-request-id"] == "context.requestId"


# --- least privilege -------------------------------------------------------------------------------


@pytest.mark.parametrize("route", [r for r in ROUTES if r.method == "GET"], ids=lambda r: r.logical_id)
def test_read_only_routes_get_no_write_access(route: tpl.FunctionRoute):
    named = {next(iter(p)) for p in policies(route.logical_id) if isinstance(p, dict)}
    assert not named & WRITE_POLICIES
    assert not [a for a in statement_actions(route.logical_id) if WRITE_ACTION.match(a)]


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if (r.method, r.path) not in PUBLIC_ROUTES], ids=lambda r: r.logical_id
)
def test_authenticated_routes_can_verify_tokens_and_read_credential_status(route: tpl.FunctionRoute):
    assert "kms:GetPublicKey" in statement_actions(route.logical_id)
    readable = policy_tables(route.logical_id, "DynamoDBReadPolicy") | policy_tables(
        route.logical_id, "DynamoDBCrudPolicy"
    )
    assert "TenantsTable" in readable


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if (r.method, r.path) in LIST_ROUTES], ids=lambda r: r.logical_id
)
def test_list_routes_may_read_the_cursor_secret(route: tpl.FunctionRoute):
    secrets = [
        p
        for p in policies(route.logical_id)
        if isinstance(p, dict) and "AWSSecretsManagerGetSecretValuePolicy" in p
    ]
    assert secrets == [{"AWSSecretsManagerGetSecretValuePolicy": {"SecretArn": {"Ref": "CursorSecret"}}}]


def test_no_handler_module_shadows_the_standard_library():
    # Given Lambda puts the function's CodeUri (/var/task) ahead of the standard library
    shadowing = []
    for route in tpl.routes():
        folder = tpl.ROOT / route.code_uri
        # When any module of that folder is named like a standard library module
        for module in folder.glob("*.py"):
            if module.stem in sys.stdlib_module_names:
                shadowing.append(f"{route.code_uri}{module.name}")
    # Then none is: `token.py` would break `import inspect` inside the runtime itself
    assert sorted(set(shadowing)) == []
