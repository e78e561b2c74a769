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
# The functions behind every route path's ANY method (API Gateway's 404 for a wrong method -> 405):
# the SCIM paths' answers in SCIM's error body, every other path's in the envelope.
METHOD_NOT_ALLOWED = "MethodNotAllowedFunction"
SCIM_METHOD_NOT_ALLOWED = "ScimMethodNotAllowedFunction"
METHODS_NOT_ALLOWED = {METHOD_NOT_ALLOWED, SCIM_METHOD_NOT_ALLOWED}
ROUTES = [r for r in tpl.routes() if r.method != "ANY"]
ROUTE_IDS = [r.logical_id for r in ROUTES]
ANY_ROUTES = [r for r in tpl.routes() if r.method == "ANY"]
FUNCTIONS = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function"}
TABLES = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::DynamoDB::Table"}
GATEWAY_RESPONSES: dict[str, Any] = RESOURCES["PartnerApi"]["Properties"]["GatewayResponses"]
# Routes that need no token; every other one authenticates (KMS public key, credential status).
PUBLIC_ROUTES = {
    ("POST", "/oauth/token"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/.well-known/oauth-authorization-server"),
    ("GET", "/health"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/{asset}"),
}
# Routes a directory token authenticates (SCIM): no access token to verify, no DPoP proof.
DIRECTORY_ROUTES = {(r.method, r.path) for r in ROUTES if r.path.startswith("/scim/")}
LIST_ROUTES = {
    ("GET", "/partner/v1/directories"),
    ("GET", "/scim/v2/Users"),
    ("GET", "/partner/v1/clients"),
    ("GET", "/partner/v1/all-users"),
    ("GET", "/admin/v1/partners"),
    ("GET", "/partner/v1/webhooks"),
    ("GET", "/partner/v1/webhooks/{webhookId}/deliveries"),
    ("GET", "/partner/v1/events"),
    ("GET", "/partner/v1/partners"),
    ("GET", "/partner/v1/accounts"),
    ("GET", "/partner/v1/accounts/{accountId}/clients"),
}
# Policies and actions that change something (or send something somewhere), and those that read secrets.
WRITE_POLICIES = {
    "DynamoDBCrudPolicy",
    "DynamoDBWritePolicy",
    "SQSSendMessagePolicy",
    "EventBridgePutEventsPolicy",
    "KMSEncryptPolicy",
}
WRITE_ACTION = re.compile(
    r"^(\*|dynamodb:\*|dynamodb:(Put|Update|Delete|BatchWrite|TransactWrite|PartiQLInsert|PartiQLUpdate|"
    r"PartiQLDelete).*|kms:(\*|Sign|Encrypt|ReEncrypt.*|GenerateDataKey.*)|sqs:(\*|SendMessage.*|"
    r"ChangeMessageVisibility.*|DeleteMessage.*)|events:(\*|PutEvents))$"
)
DECRYPT = re.compile(r"^kms:(\*|Decrypt)$")
# The one write a read-only function makes: recording a DPoP proof as used, so no function or
# container accepts it again (DESIGN.md "DPoP and SCIM").
PROOF_RECORD = {
    "Effect": "Allow",
    "Action": "dynamodb:PutItem",
    "Resource": {"Fn::GetAtt": ["ProofsTable", "Arn"]},
}
# The route that checks a DPoP proof without authenticating a token: it binds the token it issues.
BINDS_TOKENS = ("POST", "/oauth/token")
# The functions that a stream or queue triggers instead of an API route: their trigger type, and
# the function of partner_api.triggers they export as their handler.
PIPELINE = {
    "PublishEventsFunction": ("DynamoDB", "outbox_relay"),
    "FanOutWebhooksFunction": ("SQS", "webhook_fan_out"),
    "DeliverWebhookFunction": ("SQS", "webhook_delivery"),
    "SendWelcomeEmailFunction": ("SQS", "welcome_emails"),
}
PIPELINE_FUNCTIONS = {logical_id: tpl.functions()[logical_id] for logical_id in PIPELINE}


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


def statement_actions(logical_id: str, *, but_proof_records: bool = False) -> list[str]:
    actions: list[str] = []
    for policy in policies(logical_id):
        if isinstance(policy, dict) and "Statement" in policy:
            for statement in policy["Statement"]:
                if but_proof_records and is_proof_record(statement):
                    continue
                found = statement.get("Action", [])
                actions.extend([found] if isinstance(found, str) else found)
    return actions


def is_proof_record(statement: dict[str, Any]) -> bool:
    found = statement.get("Resource")
    return (
        statement.get("Effect") == "Allow"
        and statement.get("Action") in ("dynamodb:PutItem", ["dynamodb:PutItem"])
        and isinstance(found, dict)
        and target(found) == ("ProofsTable", "Arn")
    )


def policy_tables(logical_id: str, kind: str) -> set[str]:
    return {p[kind]["TableName"]["Ref"] for p in policies(logical_id) if isinstance(p, dict) and kind in p}


def target(value: Any) -> tuple[str, str]:
    """(logical id, attribute) of a ``!GetAtt`` (attribute ``""`` for a ``!Ref``)."""
    if set(value) == {"Ref"}:
        return value["Ref"], ""
    found = value["Fn::GetAtt"]
    logical_id, attribute = found.split(".", 1) if isinstance(found, str) else found
    return logical_id, attribute


# What each SAM policy template grants, on the resource named by its one parameter.
SAM_POLICY_ACTIONS = {
    "DynamoDBCrudPolicy": ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"),
    "DynamoDBReadPolicy": ("dynamodb:GetItem", "dynamodb:Query"),
    "DynamoDBWritePolicy": ("dynamodb:PutItem", "dynamodb:UpdateItem"),
    "SQSSendMessagePolicy": ("sqs:SendMessage",),
    "EventBridgePutEventsPolicy": ("events:PutEvents",),
    "KMSDecryptPolicy": ("kms:Decrypt",),
    "AWSSecretsManagerGetSecretValuePolicy": ("secretsmanager:GetSecretValue",),
}


def grants(logical_id: str) -> set[tuple[str, str]]:
    """(action, resource logical id) for every permission a function's policies give."""
    found: set[tuple[str, str]] = set()
    for policy in policies(logical_id):
        if not isinstance(policy, dict):
            continue
        for name, arg in policy.items():
            if name == "Statement":
                for statement in arg:
                    actions = statement.get("Action", [])
                    resources = statement.get("Resource", [])
                    for action in [actions] if isinstance(actions, str) else actions:
                        for resource in [resources] if isinstance(resources, dict) else resources:
                            found.add((action, target(resource)[0]))
            elif name in SAM_POLICY_ACTIONS:
                ((_, resource),) = arg.items()
                found |= {(action, target(resource)[0]) for action in SAM_POLICY_ACTIONS[name]}
    return found


def only_event(logical_id: str) -> dict[str, Any]:
    events = FUNCTIONS[logical_id]["Properties"].get("Events") or {}
    assert len(events) == 1, f"{logical_id} has {len(events)} events"
    return dict(next(iter(events.values())))


# --- routes: template <-> handlers -----------------------------------------------------------------


def test_every_function_is_an_api_route_or_a_pipeline_trigger():
    assert sorted(ROUTE_IDS) == sorted(set(FUNCTIONS) - set(PIPELINE) - METHODS_NOT_ALLOWED)
    assert set(PIPELINE) <= set(FUNCTIONS)
    assert len(set(ROUTE_IDS)) == len(ROUTE_IDS)


@pytest.mark.parametrize("logical_id", sorted(set(FUNCTIONS) - set(PIPELINE) - METHODS_NOT_ALLOWED))
def test_api_functions_have_exactly_one_event_an_api_route(logical_id: str):
    assert only_event(logical_id)["Type"] == "Api"


def test_every_route_path_has_an_any_method_answering_405():
    # Given the paths the template's routes use, and the ANY events of the 405 functions
    route_paths = sorted({r.path for r in ROUTES})
    any_paths = [r.path for r in ANY_ROUTES]
    events = [e for f in METHODS_NOT_ALLOWED for e in FUNCTIONS[f]["Properties"]["Events"].values()]

    # Then each route path has exactly one ANY method, on the one API, and only there: a method a
    # path does not declare is answered 405, never API Gateway's 404; SCIM paths by the SCIM one,
    # which also answers every other path under /scim/v2 (its one greedy path) in SCIM's body
    assert sorted(p for p in any_paths if p != "/scim/v2/{proxy+}") == route_paths
    assert any_paths.count("/scim/v2/{proxy+}") == 1
    for route in ANY_ROUTES:
        scim = route.path.startswith("/scim/")
        assert route.logical_id == (SCIM_METHOD_NOT_ALLOWED if scim else METHOD_NOT_ALLOWED), route.path
    assert all(e["Type"] == "Api" and e["Properties"]["RestApiId"] == {"Ref": "PartnerApi"} for e in events)
    assert len(events) == len(any_paths)


@pytest.mark.parametrize("function", sorted(METHODS_NOT_ALLOWED))
def test_the_405_functions_invoke_permissions_fit_lambdas_resource_policy_limit(function: str):
    # Given the statement SAM adds to the function's resource policy for each ANY event, at its
    # longest (a 100-character statement id, a 64-character function name)
    def statement(path: str) -> dict[str, Any]:
        source = "arn:aws:execute-api:ap-southeast-2:123456789012:abcdefghij/*/*" + re.sub(
            r"\{\w+\}", "*", path
        )
        return {
            "Sid": "s" * 100,
            "Effect": "Allow",
            "Principal": {"Service": "apigateway.amazonaws.com"},
            "Action": "lambda:InvokeFunction",
            "Resource": "arn:aws:lambda:ap-southeast-2:123456789012:function:" + "f" * 64,
            "Condition": {"ArnLike": {"AWS:SourceArn": source}},
        }

    paths = [r.path for r in ANY_ROUTES if r.logical_id == function]
    policy = {"Version": "2012-10-17", "Id": "default", "Statement": [statement(path) for path in paths]}

    # Then the policy stays under Lambda's 20 KB quota, or the deployment fails (one statement per
    # route path: past about 43 paths, split the ANY events over another function)
    assert len(json.dumps(policy, separators=(",", ":"))) < 20 * 1024


@pytest.mark.parametrize("function", sorted(METHODS_NOT_ALLOWED))
def test_the_405_function_declares_no_route_reads_nothing_and_ships_the_openapi_document(function: str):
    # Given the 405 function, loaded from its CodeUri as Lambda loads it
    module = load_function(next(r for r in ANY_ROUTES if r.logical_id == function))
    props = FUNCTIONS[function]["Properties"]

    # Then it registers no route of its own (its methods are the ones nobody declares), needs no
    # AWS access, and the document it takes Allow from is in its package
    assert module.api.routes == []
    assert module.handler == module.api.handler
    assert props["Policies"] == []
    assert (tpl.ROOT / props["CodeUri"] / "openapi.json").is_file()


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


# --- the events pipeline: stream and queue triggers -------------------------------------------------


@pytest.mark.parametrize("logical_id", sorted(PIPELINE))
def test_pipeline_functions_have_exactly_one_trigger_and_no_route(logical_id: str):
    event = only_event(logical_id)
    assert event["Type"] == PIPELINE[logical_id][0]
    assert "RestApiId" not in event["Properties"] and "Path" not in event["Properties"]
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Properties"].get("Enabled", True) is True


@pytest.mark.parametrize("logical_id", sorted(PIPELINE))
def test_pipeline_functions_export_their_trigger_handler(logical_id: str):
    # Given the function's handler file, loaded from its CodeUri as Lambda loads it
    function = PIPELINE_FUNCTIONS[logical_id]
    name = f"contract_functions.{logical_id}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, function.handler_file)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    module = sys.modules[name]

    # Then the name the template gives is the batch handler of partner_api.triggers for its trigger
    from partner_api import triggers

    assert function.handler_name == "handler"
    assert module.handler is getattr(triggers, PIPELINE[logical_id][1])
    assert not hasattr(module, "api")


def test_the_publisher_reads_inserts_of_the_events_table_stream():
    props = only_event("PublishEventsFunction")["Properties"]
    assert target(props["Stream"]) == ("EventsTable", "StreamArn")
    assert [json.loads(f["Pattern"]) for f in props["FilterCriteria"]["Filters"]] == [
        {"eventName": ["INSERT"]}
    ]
    # Nothing written before the function existed is skipped, and a failing record is retried, not
    # dropped; if it ever gives up, the record lands in a queue.
    assert props["StartingPosition"] == "TRIM_HORIZON"
    assert props["MaximumRetryAttempts"] == -1
    destination = props["DestinationConfig"]["OnFailure"]
    assert (destination["Type"], target(destination["Destination"])) == (
        "SQS",
        ("PublisherFailureQueue", "Arn"),
    )


def test_the_events_table_stream_carries_the_new_image():
    stream = TABLES["EventsTable"]["Properties"]["StreamSpecification"]
    assert stream["StreamViewType"] in {"NEW_IMAGE", "NEW_AND_OLD_IMAGES"}


@pytest.mark.parametrize(
    ("logical_id", "queue"),
    [("FanOutWebhooksFunction", "WebhookEventsQueue"), ("DeliverWebhookFunction", "WebhookDeliveryQueue")],
)
def test_queue_functions_read_their_queue(logical_id: str, queue: str):
    props = only_event(logical_id)["Properties"]
    assert target(props["Queue"]) == (queue, "Arn")
    # Lambda refuses an SQS trigger whose queue hides a message for less than the function may run.
    visibility = int(RESOURCES[queue]["Properties"]["VisibilityTimeout"])
    assert visibility >= PIPELINE_FUNCTIONS[logical_id].timeout


def test_deliveries_are_one_per_invocation():
    # One endpoint per invocation: a slow receiver never delays another one's delivery.
    assert only_event("DeliverWebhookFunction")["Properties"]["BatchSize"] == 1


def test_the_bus_rule_sends_the_apis_events_to_the_fan_out_queue():
    rule = RESOURCES["WebhookEventsRule"]["Properties"]
    assert target(rule["EventBusName"]) == ("EventBus", "")
    assert rule["EventPattern"] == {"source": ["partner-api"]}
    assert [target(t["Arn"]) for t in rule["Targets"]] == [("WebhookEventsQueue", "Arn")]
    statement = RESOURCES["WebhookEventsQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Action"] == "sqs:SendMessage" and s["Principal"] == {"Service": "events.amazonaws.com"}
        for s in statement
    )


def test_a_delivery_is_dead_lettered_after_its_last_scheduled_retry():
    # Given the retry schedule's default: the seconds before each retry
    schedule = TEMPLATE["Parameters"]["WebhookRetrySchedule"]["Default"].split(",")
    assert all(int(seconds) > 0 for seconds in schedule)

    # Then the first attempt plus one per retry are received before SQS dead-letters the message
    redrive = RESOURCES["WebhookDeliveryQueue"]["Properties"]["RedrivePolicy"]
    assert int(redrive["maxReceiveCount"]) == 1 + len(schedule)
    assert target(redrive["deadLetterTargetArn"]) == ("WebhookDeliveryDeadLetterQueue", "Arn")
    # And the bus events' queue has its own dead-letter queue
    redrive = RESOURCES["WebhookEventsQueue"]["Properties"]["RedrivePolicy"]
    assert target(redrive["deadLetterTargetArn"]) == ("WebhookEventsDeadLetterQueue", "Arn")


def alarms() -> list[dict[str, Any]]:
    return [r["Properties"] for r in RESOURCES.values() if r["Type"] == "AWS::CloudWatch::Alarm"]


def alarmed(namespace: str, metric: str, dimension: str, logical_id: str) -> bool:
    """Whether an alarm fires as soon as ``metric`` of ``logical_id`` is above zero."""
    return any(
        a["Namespace"] == namespace
        and a["MetricName"] == metric
        and [(d["Name"], target(d["Value"])[0]) for d in a["Dimensions"]] == [(dimension, logical_id)]
        and a["ComparisonOperator"] == "GreaterThanThreshold"
        and float(a["Threshold"]) == 0
        for a in alarms()
    )


@pytest.mark.parametrize("queue", ["WebhookDeliveryDeadLetterQueue", "WebhookEventsDeadLetterQueue"])
def test_dead_letter_queues_are_alarmed(queue: str):
    assert alarmed("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue)


def test_publisher_errors_are_alarmed():
    assert alarmed("AWS/Lambda", "Errors", "FunctionName", "PublishEventsFunction")


@pytest.mark.parametrize(
    ("logical_id", "needed"),
    [
        (
            "PublishEventsFunction",
            {("events:PutEvents", "EventBus"), ("sqs:SendMessage", "PublisherFailureQueue")},
        ),
        (
            "FanOutWebhooksFunction",
            {
                ("dynamodb:Query", "TenantsTable"),
                ("dynamodb:PutItem", "TenantsTable"),
                ("sqs:SendMessage", "WebhookDeliveryQueue"),
            },
        ),
        (
            "DeliverWebhookFunction",
            {
                ("dynamodb:UpdateItem", "TenantsTable"),
                ("dynamodb:GetItem", "EventsTable"),
                ("kms:Decrypt", "WebhookSecretsKey"),
                ("sqs:ChangeMessageVisibility", "WebhookDeliveryQueue"),
            },
        ),
        (
            "CreateWebhookFunction",
            {("kms:Encrypt", "WebhookSecretsKey"), ("dynamodb:PutItem", "EventsTable")},
        ),
        ("RotateWebhookSecretFunction", {("kms:Encrypt", "WebhookSecretsKey")}),
        ("DeleteWebhookFunction", {("dynamodb:PutItem", "EventsTable")}),
        (
            "RedeliverEventFunction",
            {
                ("dynamodb:GetItem", "EventsTable"),
                ("dynamodb:UpdateItem", "TenantsTable"),
                ("sqs:SendMessage", "WebhookDeliveryQueue"),
            },
        ),
    ],
)
def test_webhook_functions_may_do_what_their_code_does(logical_id: str, needed: set[tuple[str, str]]):
    # Locally nothing enforces IAM: a missing permission would first show in AWS.
    assert needed <= grants(logical_id)


def test_loopback_webhooks_are_refused_unless_a_local_run_allows_them():
    parameter = TEMPLATE["Parameters"]["AllowLoopbackWebhooks"]
    assert parameter["Default"] == "false"
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["ALLOW_LOOPBACK_WEBHOOKS"] == {"Ref": "AllowLoopbackWebhooks"}
    assert variables["WEBHOOK_RETRY_SCHEDULE"] == {"Ref": "WebhookRetrySchedule"}


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
    assert not [
        a for a in statement_actions(route.logical_id, but_proof_records=True) if WRITE_ACTION.match(a)
    ]
    # No read route shows a webhook secret, so none may decrypt one.
    assert "KMSDecryptPolicy" not in named
    assert not [a for a in statement_actions(route.logical_id) if DECRYPT.match(a)]


@pytest.mark.parametrize(
    "route",
    [r for r in ROUTES if (r.method, r.path) not in PUBLIC_ROUTES | DIRECTORY_ROUTES],
    ids=lambda r: r.logical_id,
)
def test_authenticated_routes_can_verify_tokens_and_read_credential_status(route: tpl.FunctionRoute):
    assert "kms:GetPublicKey" in statement_actions(route.logical_id)
    readable = policy_tables(route.logical_id, "DynamoDBReadPolicy") | policy_tables(
        route.logical_id, "DynamoDBCrudPolicy"
    )
    assert "TenantsTable" in readable


def checks_dpop_proofs(route: tpl.FunctionRoute) -> bool:
    """Whether the function's code checks DPoP proofs: its declared route authenticates a token
    (``auth`` other than ``none``), or it is the token endpoint."""
    (declared,) = load_function(route).api.declared
    return declared.auth in ("token", "operator") or (route.method, route.path) == BINDS_TOKENS


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_functions_that_check_dpop_proofs_may_record_them_and_nothing_more(route: tpl.FunctionRoute):
    # Given what the function may do on the proofs table
    on_proofs = {action for action, resource in grants(route.logical_id) if resource == "ProofsTable"}
    records = [
        s
        for p in policies(route.logical_id)
        if isinstance(p, dict)
        for s in p.get("Statement", [])
        if is_proof_record(s)
    ]

    # Then a function checking proofs has exactly the one statement allowing PutItem there (a
    # replayed proof is refused by every function); any other function has no access to it
    if checks_dpop_proofs(route):
        assert records == [PROOF_RECORD]
        assert on_proofs == {"dynamodb:PutItem"}
    else:
        assert records == [] and on_proofs == set()


@pytest.mark.parametrize("route", [r for r in ROUTES if checks_dpop_proofs(r)], ids=lambda r: r.logical_id)
def test_functions_that_check_dpop_proofs_may_read_the_nonce_key_when_nonces_are_on(
    route: tpl.FunctionRoute,
):
    # The nonce's HMAC key derives from the cursor secret: readable always (lists), or when on.
    secret = {"AWSSecretsManagerGetSecretValuePolicy": {"SecretArn": {"Ref": "CursorSecret"}}}
    when_on = {"Fn::If": ["DpopNonceOn", secret, {"Ref": "AWS::NoValue"}]}
    found = [p for p in policies(route.logical_id) if p in (secret, when_on)]
    assert len(found) == 1, found


def test_the_proofs_table_expires_its_items_and_nonces_are_off_unless_switched_on():
    props = TABLES["ProofsTable"]["Properties"]
    assert props["KeySchema"] == [{"AttributeName": "PK", "KeyType": "HASH"}]
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["PROOFS_TABLE"] == {"Ref": "ProofsTable"}
    assert variables["DPOP_NONCE"] == {"Ref": "DpopNonce"}
    parameter = TEMPLATE["Parameters"]["DpopNonce"]
    assert parameter["Default"] == "off" and sorted(parameter["AllowedValues"]) == ["off", "on"]
    assert TEMPLATE["Conditions"]["DpopNonceOn"] == {"Fn::Equals": [{"Ref": "DpopNonce"}, "on"]}


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


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if r.path.startswith("/scim/")], ids=lambda r: r.logical_id
)
def test_scim_routes_take_a_directory_token_read_its_item_and_need_no_signing_key(route: tpl.FunctionRoute):
    (declared,) = load_function(route).api.declared
    readable = policy_tables(route.logical_id, "DynamoDBReadPolicy") | policy_tables(
        route.logical_id, "DynamoDBCrudPolicy"
    )
    assert declared.auth == "directory"
    assert "TenantsTable" in readable  # the token's item and its partner's status
    assert "kms:GetPublicKey" not in statement_actions(route.logical_id)


def test_no_handler_module_shadows_the_standard_library():
    # Given Lambda puts the function's CodeUri (/var/task) ahead of the standard library
    shadowing = []
    for function in tpl.functions().values():
        folder = tpl.ROOT / function.code_uri
        # When any module of that folder is named like a standard library module
        for module in folder.glob("*.py"):
            if module.stem in sys.stdlib_module_names:
                shadowing.append(f"{function.code_uri}{module.name}")
    # Then none is: `token.py` would break `import inspect` inside the runtime itself
    assert sorted(set(shadowing)) == []
