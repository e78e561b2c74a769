"""The sample events in events/ (one per function, for `sam local invoke -e`) run through their handlers.

Each file is used as written, except for its placeholders: ``REPLACE_WITH_ACCESS_TOKEN`` becomes a
token issued by running events/oauth-issue_token.json itself (so the token's issuer is the sample's API
Gateway domain), ``REPLACE_WITH_CLIENT_ID``/``REPLACE_WITH_CLIENT_SECRET`` a real credential, and the
sample client, partner, webhook, event and credential ids the ids of ones that exist.

The API functions' samples are REST proxy events; the pipeline functions' samples are what their
triggers deliver: a DynamoDB Streams record of an events-table row, an SQS message holding an
EventBridge event, and an SQS message holding a delivery.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jwt
import pytest

from local import template as tpl
from local.run import GatewayResponses, InProcessRunner
from local.stack import Stack
from partner_api.auth.principal import OPERATOR_SCOPES, PARTNER_SCOPES
from tests.conftest import Credential, Tenant, shared_session
from tests.integration.test_webhooks_api import PUBLIC_IP, FakeDns, Pump, Receiver, pipeline, verify
from tests.support.apigw import Api, Reply, run
from tests.support.clients import Stored

EVENTS = tpl.ROOT / "events"
EVENT_NAMES = sorted(p.stem for p in EVENTS.glob("*.json"))
TOKEN_PLACEHOLDER = "REPLACE_WITH_ACCESS_TOKEN"
DIRECTORY_TOKEN_PLACEHOLDER = "REPLACE_WITH_DIRECTORY_TOKEN"  # what the SCIM samples send instead
# The ids the sample events use for "an existing client", "an existing root partner", and so on.
SAMPLE_CLIENT_ID = "0b9e2c1a-5d3f-4e8a-9c7b-2f6d1e0a4b38"
SAMPLE_PARTNER_ID = "6f2a8c4e-1b3d-4a5f-8e7c-9d0b2a4c6e81"
SAMPLE_WEBHOOK_ID = "3c7e9a1f-8b2d-4f6e-a0c5-7d1e9b3f5a26"
SAMPLE_EVENT_ID = "evt_01k6dj9vx44t7m2q9v3x5z8b1c"
SAMPLE_CREDENTIAL_ID = "9d4e6f8a-2b1c-4d3e-8f5a-7c6b0e1d2a94"  # the actor of the pipeline samples' event
PUBLIC = {
    "oauth-issue_token",
    "oauth-validate_token",
    "oauth-jwks",
    "oauth-server_metadata",
    "system-health",
    "docs-openapi_document",
    "docs-docs_page",
    "docs-docs_asset",
}
FORM_BODIES = {
    "oauth-issue_token": (
        "grant_type=client_credentials&client_id=REPLACE_WITH_CLIENT_ID&client_secret=REPLACE_WITH_CLIENT_SECRET"
    ),
    "oauth-validate_token": (
        "client_id=REPLACE_WITH_CLIENT_ID&token=REPLACE_WITH_ACCESS_TOKEN&type=access_token"
    ),
}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
SECRET = re.compile(r"^whsec_[A-Za-z0-9+/]{32}$")
PUBLIC_EVENT_KEYS = (
    "eventId",
    "type",
    "occurredAt",
    "partnerId",
    "actor",
    "resource",
    "changes",
    "requestId",
)


def name_of(code_uri: str, handler: str) -> str:
    """``<CodeUri folder>-<handler module>``, e.g. ``clients-register``."""
    return f"{Path(code_uri.rstrip('/')).name}-{handler.rsplit('.', 1)[0]}"


def event_name(route: tpl.FunctionRoute) -> str:
    return name_of(route.code_uri, route.handler)


def sample_path(name: str) -> str | None:
    """The path (``resource``) a sample event was sent to, if the sample exists."""
    sample = EVENTS / f"{name}.json"
    return json.loads(sample.read_text()).get("resource") if sample.is_file() else None


# Each API function's route, by sample name; for MethodNotAllowedFunction (an ANY route on every
# route path), the route of the path its sample calls.
ROUTES = {event_name(r): r for r in tpl.routes() if r.method != "ANY" or r.path == sample_path(event_name(r))}
# The SCIM functions (the 405 one for SCIM paths too), by sample name: a directory's token, SCIM bodies.
SCIM = {name for name, route in ROUTES.items() if route.path.startswith("/scim/")}
# The functions a stream or queue triggers, by sample name: no API route.
PIPELINE = {
    name_of(f.code_uri, f.handler): f.logical_id
    for f in tpl.functions().values()
    if f.logical_id not in {r.logical_id for r in tpl.routes()}
}


def handler_module(route: tpl.FunctionRoute) -> str:
    """Load the function's handler file as Lambda (and `sam local invoke`) does, from its CodeUri,
    and return the name it is registered under."""
    name = f"sample_events.{route.logical_id}"
    if name not in sys.modules:
        path = tpl.ROOT / route.code_uri / f"{route.handler.rsplit('.', 1)[0]}.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader, path
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return name


def raw_event(name: str) -> dict[str, Any]:
    return dict(json.loads((EVENTS / f"{name}.json").read_text()))


def sample_event(name: str, substitutions: dict[str, str]) -> dict[str, Any]:
    """The file with its placeholders replaced, and nothing else changed."""
    text = (EVENTS / f"{name}.json").read_text()
    for placeholder, value in substitutions.items():
        text = text.replace(placeholder, value)
    assert "REPLACE_WITH" not in text, f"{name}: a placeholder was left unsubstituted"
    return dict(json.loads(text))


def issuer() -> str:
    """The token issuer the samples imply: the API Gateway URL they were called on."""
    context = raw_event("oauth-issue_token")["requestContext"]
    return f"https://{context['domainName']}/{context['stage']}"


def sample_token(credential: Credential) -> str:
    """A token issued by running events/oauth-issue_token.json with ``credential``."""
    evt = sample_event(
        "oauth-issue_token",
        {"REPLACE_WITH_CLIENT_ID": credential.client_id, "REPLACE_WITH_CLIENT_SECRET": credential.secret},
    )
    reply = run(handler_module(ROUTES["oauth-issue_token"]), evt)
    assert reply.status == 200, reply.text
    return str(reply.body["access_token"])


# --- Given: the files themselves ------------------------------------------------------------------


def test_every_function_has_exactly_one_sample_event_and_every_event_a_function():
    # Given the template's functions and the files in events/
    functions = tpl.functions()
    names = [name_of(f.code_uri, f.handler) for f in functions.values()]

    # Then each function's name is unique, and the files are exactly those names
    assert len(set(names)) == len(names) == len(functions)
    assert sorted(names) == EVENT_NAMES
    # And each is either an API function with one route or one of the pipeline functions
    assert sorted(r.logical_id for r in ROUTES.values()) == sorted(set(functions) - set(PIPELINE.values()))
    assert PIPELINE == {
        "pipeline-publish_events": "PublishEventsFunction",
        "pipeline-fan_out": "FanOutWebhooksFunction",
        "pipeline-deliver_webhook": "DeliverWebhookFunction",
        "pipeline-send_welcome_email": "SendWelcomeEmailFunction",
    }


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_sample_event_is_a_rest_proxy_event_for_its_route(name: str):
    # Given a sample event and the template route it is named after
    evt, route = raw_event(name), ROUTES[name]
    headers, context = evt["headers"], evt["requestContext"]

    # Then it is what API Gateway would send for that route
    assert evt["httpMethod"] == context["httpMethod"]
    if route.method == "ANY":  # API Gateway sends it the methods its path's routes do not declare
        assert (evt["httpMethod"], route.path) not in {(r.method, r.path) for r in tpl.routes()}
    else:
        assert evt["httpMethod"] == route.method
    assert evt["resource"] == context["resourcePath"] == route.path
    assert (route.matches(evt["httpMethod"], evt["path"]) or None) == evt["pathParameters"]
    assert context["path"] == f"/{context['stage']}{evt['path']}"
    assert context["stage"] == "dev"
    assert UUID.match(context["requestId"])
    assert (
        context["domainName"]
        == headers["Host"]
        == raw_event("oauth-issue_token")["requestContext"]["domainName"]
    )
    assert context["identity"]["sourceIp"]
    assert evt["isBase64Encoded"] is False
    assert evt["multiValueHeaders"] == {k: [v] for k, v in headers.items()}
    query = evt["queryStringParameters"]
    assert evt["multiValueQueryStringParameters"] == ({k: [v] for k, v in query.items()} if query else None)
    if name in PUBLIC:
        assert "Authorization" not in headers
    elif name in SCIM:
        assert headers["Authorization"] == f"Bearer {DIRECTORY_TOKEN_PLACEHOLDER}"
        assert headers["Accept"] == "application/scim+json"
    else:
        assert headers["Authorization"] == f"Bearer {TOKEN_PLACEHOLDER}"
    if evt["body"] is None:
        assert "Content-Type" not in headers
    elif name in FORM_BODIES:
        assert headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert evt["body"] == FORM_BODIES[name]
    elif name in SCIM:
        assert headers["Content-Type"] == "application/scim+json"
        assert isinstance(json.loads(evt["body"]), dict)
    else:
        assert headers["Content-Type"] == "application/json"
        assert isinstance(json.loads(evt["body"]), dict)


def records(name: str) -> list[dict[str, Any]]:
    found = raw_event(name)
    assert set(found) == {"Records"}
    return list(found["Records"])


def sample_row() -> dict[str, Any]:
    """The events-table row in the publisher's sample, as plain values."""
    from boto3.dynamodb.types import TypeDeserializer

    (record,) = records("pipeline-publish_events")
    image = record["dynamodb"]["NewImage"]
    return {k: TypeDeserializer().deserialize(v) for k, v in image.items()}


def bus_detail(row: dict[str, Any]) -> dict[str, Any]:
    """What the publisher puts in an EventBridge event's ``detail`` for an events-table row."""
    shown = {k: row[k] for k in PUBLIC_EVENT_KEYS if row.get(k)}
    return {
        **shown,
        "changes": row["changes"],
        "tenantId": row["tenantId"],
        "partnerPath": row["partnerPath"],
    }


def check_sqs_record(record: dict[str, Any], queue: str) -> None:
    """An SQS message as Lambda's event source mapping delivers it, from ``queue``."""
    assert set(record) == {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert UUID.match(record["messageId"]) and record["receiptHandle"]
    assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
    assert (record["eventSource"], record["awsRegion"]) == ("aws:sqs", "us-east-1")
    assert re.match(rf"^arn:aws:sqs:us-east-1:\d{{12}}:[\w-]*{queue}[\w-]*$", record["eventSourceARN"])
    attributes = record["attributes"]
    assert attributes["ApproximateReceiveCount"] == "1"
    assert int(attributes["ApproximateFirstReceiveTimestamp"]) >= int(attributes["SentTimestamp"])


def test_publish_sample_is_a_stream_insert_of_an_events_table_row(stack: Stack):
    # Given the publisher's sample and the template's stream trigger
    (record,) = records("pipeline-publish_events")
    trigger = next(iter(tpl.functions()["PublishEventsFunction"].events.values()))["Properties"]
    events_table = tpl.load()["Resources"]["EventsTable"]["Properties"]
    change = record["dynamodb"]

    # Then it is one INSERT that the trigger's filter lets through, as DynamoDB Streams sends it
    assert (record["eventName"], record["eventSource"], record["eventVersion"]) == (
        "INSERT",
        "aws:dynamodb",
        "1.1",
    )
    for item in trigger["FilterCriteria"]["Filters"]:
        assert record["eventName"] in json.loads(item["Pattern"])["eventName"]
    assert re.match(
        r"^arn:aws:dynamodb:us-east-1:\d{12}:table/[\w.-]*EventsTable[\w.-]*/stream/\d{4}-\d\d-\d\dT[\d:.]+$",
        record["eventSourceARN"],
    )
    assert change["StreamViewType"] == events_table["StreamSpecification"]["StreamViewType"]
    assert change["Keys"] == {"PK": change["NewImage"]["PK"], "SK": change["NewImage"]["SK"]}
    assert isinstance(change["ApproximateCreationDateTime"], int) and change["SequenceNumber"].isdigit()

    # And its NewImage is, attribute for attribute and type for type, the row event_put writes
    from partner_api.store.events import Actor, event_put

    row = sample_row()
    written = event_put(
        tenant_id=row["tenantId"],
        event_type=row["type"],
        partner_id=row["partnerId"],
        partner_path=row["partnerPath"],
        actor=Actor(
            row["actor"]["type"], row["actor"]["clientId"], row["actor"]["partnerId"], row["requestId"]
        ),
        resource_type=row["resource"]["type"],
        resource_id=row["resource"]["id"],
        changes=row["changes"],
        occurred_at=row["occurredAt"],
    )["Put"]["Item"]
    image = change["NewImage"]
    assert {k: next(iter(v)) for k, v in image.items()} == {k: next(iter(v)) for k, v in written.items()}
    unique = {"SK", "eventId", "expiresAt"}  # a new id, and a retention counted from now
    assert {k: v for k, v in image.items() if k not in unique} == {
        k: v for k, v in written.items() if k not in unique
    }
    assert image["SK"] == {"S": f"EVENT#{SAMPLE_EVENT_ID}"} and image["eventId"] == {"S": SAMPLE_EVENT_ID}
    assert row["expiresAt"] - change["ApproximateCreationDateTime"] == 400 * 24 * 3600


def test_fan_out_sample_is_an_sqs_message_holding_the_bus_event():
    # Given the fan-out sample
    (record,) = records("pipeline-fan_out")
    check_sqs_record(record, "WebhookEventsQueue")
    bus_event = json.loads(record["body"])

    # Then its body is the EventBridge event the publisher's sample row becomes
    assert set(bus_event) == {
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    }
    assert (bus_event["source"], bus_event["detail-type"]) == ("partner-api", bus_event["detail"]["type"])
    assert bus_event["version"] == "0" and UUID.match(bus_event["id"])
    assert bus_event["detail"] == bus_detail(sample_row())
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", bus_event["time"])


def test_deliver_sample_is_an_sqs_message_holding_one_delivery():
    (record,) = records("pipeline-deliver_webhook")
    check_sqs_record(record, "WebhookDeliveryQueue")
    assert json.loads(record["body"]) == {
        "tenantId": SAMPLE_PARTNER_ID,
        "webhookId": SAMPLE_WEBHOOK_ID,
        "eventId": SAMPLE_EVENT_ID,
        "round": 0,
    }


# --- When: each runs through its handler ----------------------------------------------------------


@dataclass
class World:
    """What the samples' placeholders stand for, created through the API."""

    api: Api
    stack: Stack
    tenant: Tenant
    operator_token: str  # issued with the API's test domain, for arranging and checking
    client: dict[str, Any]  # an existing client of the tenant (its public shape)
    webhook: dict[str, Any]  # a webhook of the tenant at ``receiver``, as created (with its secret)
    registered: dict[str, Any]  # the client's client.registered event, delivered to the webhook
    receiver: Receiver
    pump: Pump
    directory: dict[str, Any] = field(default_factory=dict)  # the directory samples', with its token

    def get_client(self, client_id: str) -> dict[str, Any]:
        reply = self.api.call("GET", f"/partner/v1/clients/{client_id}", token=self.tenant.token)
        assert reply.status == 200, reply.text
        return dict(reply.body["data"])

    def get_partner(self, partner_id: str) -> dict[str, Any]:
        reply = self.api.call("GET", f"/admin/v1/partners/{partner_id}", token=self.operator_token)
        assert reply.status == 200, reply.text
        return dict(reply.body["data"])

    def get_webhook(self, webhook_id: str) -> Reply:
        return self.api.call("GET", f"/partner/v1/webhooks/{webhook_id}", token=self.tenant.token)

    @property
    def shown_webhook(self) -> dict[str, Any]:
        return {k: v for k, v in self.webhook.items() if k != "secret"}

    def events(self, **query: str) -> list[dict[str, Any]]:
        reply = self.api.call("GET", "/partner/v1/events", token=self.tenant.token, query=query)
        assert reply.status == 200, reply.text
        return list(reply.body["data"]["events"])

    def remove_client(self) -> dict[str, Any]:
        """Remove the client (without running the pipeline); its client.removed event."""
        reply = self.api.call(
            "DELETE", f"/partner/v1/clients/{self.client['clientId']}", token=self.tenant.token
        )
        assert reply.status == 200, reply.text
        (removed,) = self.events(resourceId=self.client["clientId"], type="client.removed")
        return removed


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


@pytest.fixture
def world(
    api: Api,
    stack: Stack,
    tenant: Tenant,
    operator_token: str,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> World:
    # The webhook sample's host, resolved without DNS.
    FakeDns.install(monkeypatch).answers = {"example.com": [PUBLIC_IP]}
    reply = api.call(
        "POST",
        "/partner/v1/webhooks",
        token=tenant.token,
        json_body={
            "url": receiver.url,
            "events": ["client.registered", "client.removed"],
            "description": "Local",
        },
    )
    assert reply.status == 201, reply.text
    webhook = reply.body["data"]
    reply = api.call(
        "POST",
        "/partner/v1/clients",
        token=tenant.token,
        json_body={"name": "Existing Client", "email": "existing.client@example.com", "title": "Controller"},
    )
    assert reply.status == 201, reply.text
    client = reply.body["data"]
    pump = pipeline(stack)
    pump()
    (registered,) = [r.json()["data"] for r in receiver.requests]
    receiver.requests.clear()
    return World(api, stack, tenant, operator_token, client, webhook, registered, receiver, pump)


def envelope(reply: Reply, evt: dict[str, Any], status: int, message: str) -> Any:
    assert reply.status == status, reply.text
    assert reply.header("Content-Type") == "application/json"
    assert reply.header("x-request-id") == evt["requestContext"]["requestId"]
    body = reply.body
    assert set(body) == {"success", "message", "data"}
    assert body["success"] is True
    assert body["message"] == message
    return body["data"]


def sent(evt: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(evt["body"]))


def check_clients_register(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 201, "Client registered successfully.")
    assert {k: data[k] for k in sent(evt)} == sent(evt)
    assert UUID.match(data["clientId"]) and ISO.match(data["registeredAt"])
    assert data["status"] == "active"
    assert data["partnerId"] == world.tenant.partner_id
    assert reply.header("ETag")
    assert world.get_client(data["clientId"]) == data


def check_clients_list(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "Clients retrieved successfully.")
    assert data == {
        "clients": [world.client],
        "pagination": {"limit": 20, "offset": 0, "total": 1, "hasMore": False},
    }


def check_clients_get(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "Client retrieved successfully.")
    assert data == world.client
    assert re.match(r'^"[^"]+"$', reply.header("ETag") or "")


def check_clients_update(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "Client updated successfully.")
    changed = sent(evt)
    assert {k: data[k] for k in changed} == changed
    assert {k: data[k] for k in ("clientId", "name", "email", "status")} == {
        k: world.client[k] for k in ("clientId", "name", "email", "status")
    }
    assert world.get_client(world.client["clientId"]) == data


def check_clients_remove(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "Client removed successfully.")
    assert set(data) == {"clientId", "removedAt"}
    assert data["clientId"] == world.client["clientId"] and ISO.match(data["removedAt"])
    stored = world.get_client(world.client["clientId"])
    assert (stored["status"], stored["removedAt"]) == ("deleted", data["removedAt"])


def as_user(client: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in client.items() if k != "clientId"}
    return {"userId": client["clientId"], **shown}


def check_users_register_user(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 201, "User registered successfully.")
    assert {k: data[k] for k in sent(evt)} == sent(evt)
    assert data["name"] == "Mary Major"  # derived from firstName + lastName
    assert "clientId" not in data and UUID.match(data["userId"])
    assert (data["status"], data["partnerId"]) == ("active", world.tenant.partner_id)
    assert as_user(world.get_client(data["userId"])) == data


def check_users_all_users(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "Users retrieved successfully.")
    assert data == {
        "users": [as_user(world.client)],
        "pagination": {"limit": 10, "offset": 0, "total": 1, "hasMore": False},
    }


def check_users_get_user(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "User retrieved successfully.")
    assert data == as_user(world.client)
    assert reply.header("ETag")


def check_users_update_user(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "User updated successfully.")
    assert data["userId"] == world.client["clientId"]
    assert (data["status"], data["company"]) == ("suspended", "Example Holdings")
    assert as_user(world.get_client(world.client["clientId"])) == data


def check_users_remove_user(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "User removed successfully.")
    assert set(data) == {"userId", "removedAt"}
    assert data["userId"] == world.client["clientId"] and ISO.match(data["removedAt"])
    stored = world.get_client(world.client["clientId"])
    assert (stored["status"], stored["removedAt"]) == ("deleted", data["removedAt"])


def check_oauth_token(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 200, reply.text
    body = reply.body
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600)
    assert body["scope"].split() == list(PARTNER_SCOPES)
    assert reply.header("Cache-Control") == "no-store"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["iss"] == issuer()
    assert claims["sub"] == world.tenant.credential.client_id
    assert claims["tenant_id"] == claims["partner_id"] == world.tenant.partner_id
    assert claims["token_use"] == "partner"


def check_oauth_jwks(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 200, reply.text
    (key,) = reply.body["keys"]
    assert set(key) == {"kid", "kty", "crv", "x", "y", "alg", "use"}
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")
    # The published key verifies a token the token endpoint issued.
    token = sample_token(world.tenant.credential)
    assert jwt.get_unverified_header(token)["kid"] == key["kid"]
    claims = jwt.decode(
        token, jwt.PyJWK(key).key, algorithms=["ES256"], audience="partner-api", issuer=issuer()
    )
    assert claims["sub"] == world.tenant.credential.client_id


def check_oauth_server_metadata(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 200, reply.text
    body = reply.body
    assert body["issuer"] == issuer()
    assert body["token_endpoint"] == f"{issuer()}/oauth/token"
    assert body["jwks_uri"] == f"{issuer()}/.well-known/jwks.json"
    assert "client_credentials" in body["grant_types_supported"]
    assert set(body["scopes_supported"]) == {*OPERATOR_SCOPES, *PARTNER_SCOPES}


def check_system_health(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 200, reply.text
    assert reply.body == {"status": "ok"}


def check_system_base_uris(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 200, reply.text
    assert reply.body == {"apiAccessPoint": f"{issuer()}/", "webAccessPoint": f"{issuer()}/"}


def check_admin_create_partner(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 201, "Partner created successfully.")
    wanted = sent(evt)
    partner, credential = data["partner"], data["credential"]
    for name in ("name", "reference", "billingId", "domains"):
        assert partner[name] == wanted[name]
    assert partner["contact"] == {"active": True, **wanted["contact"]}  # a contact is active unless told
    assert (partner["status"], partner["active"], partner["hasVerificationPhrase"]) == ("active", True, True)
    assert wanted["verificationPhrase"] not in reply.text
    assert UUID.match(credential["clientId"]) and credential["clientSecret"]
    assert credential["scopes"] == list(PARTNER_SCOPES)
    assert world.get_partner(partner["partnerId"]) == partner


def check_admin_list_partners(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "Partners retrieved successfully.")
    assert data == {
        "partners": [world.tenant.partner],
        "pagination": {"limit": 20, "offset": 0, "total": 1, "hasMore": False},
    }


def check_admin_get_partner(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "Partner retrieved successfully.")
    assert data == world.tenant.partner
    assert reply.header("ETag")


def check_admin_update_partner(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "Partner updated successfully.")
    changed = sent(evt)
    assert {k: data[k] for k in changed} == changed
    assert (data["partnerId"], data["reference"]) == (
        world.tenant.partner_id,
        world.tenant.partner["reference"],
    )
    assert world.get_partner(world.tenant.partner_id) == data


def check_webhooks_create(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 201, "Webhook created successfully.")
    assert {k: data[k] for k in sent(evt)} == sent(evt)
    assert UUID.match(data["webhookId"]) and SECRET.match(data["secret"])
    assert (data["status"], data["partnerId"]) == ("active", world.tenant.partner_id)
    assert ISO.match(data["createdAt"]) and reply.header("ETag")
    got = world.get_webhook(data["webhookId"])
    assert got.body["data"] == {k: v for k, v in data.items() if k != "secret"}
    assert got.header("ETag") == reply.header("ETag")
    (created,) = world.events(resourceId=data["webhookId"])
    assert (created["type"], created["requestId"]) == ("webhook.created", evt["requestContext"]["requestId"])
    assert data["secret"] not in json.dumps(
        Stored(world.stack).snapshot(world.tenant.partner_id), default=sorted
    )


def check_webhooks_list(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "Webhooks retrieved successfully.")
    assert data == {
        "webhooks": [world.shown_webhook],
        "pagination": {"limit": 20, "offset": 0, "total": 1, "hasMore": False},
    }


def check_webhooks_get(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "Webhook retrieved successfully.")
    assert data == world.shown_webhook
    assert re.match(r'^"[^"]+"$', reply.header("ETag") or "")


def check_webhooks_delete(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "Webhook deleted successfully.")
    assert set(data) == {"webhookId", "deletedAt"}
    assert data["webhookId"] == world.webhook["webhookId"] and ISO.match(data["deletedAt"])
    assert world.get_webhook(data["webhookId"]).status == 404
    (deleted, _) = world.events(resourceId=data["webhookId"])
    assert (deleted["type"], deleted["changes"]) == (
        "webhook.deleted",
        {"status": {"from": "active", "to": "deleted"}},
    )
    assert deleted["requestId"] == evt["requestContext"]["requestId"]


def check_webhooks_rotate_secret(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "Webhook secret rotated successfully.")
    assert SECRET.match(data["secret"]) and data["secret"] != world.webhook["secret"]
    assert ISO.match(data["previousSecretExpiresAt"])
    got = world.get_webhook(world.webhook["webhookId"])
    assert got.body["data"] == {
        k: v for k, v in data.items() if k not in ("secret", "previousSecretExpiresAt")
    }
    assert got.header("ETag") == reply.header("ETag")
    # The next delivery verifies with the new secret and, for a day, with the old one.
    world.remove_client()
    world.pump()
    (request,) = world.receiver.requests
    assert verify(data["secret"], request)["type"] == verify(world.webhook["secret"], request)["type"]


def check_webhooks_deliveries(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "Deliveries retrieved successfully.")
    (delivery,) = data["deliveries"]
    assert data["pagination"] == {"limit": 20, "offset": 0, "total": 1, "hasMore": False}
    assert {k: delivery[k] for k in ("eventId", "eventType", "status")} == {
        "eventId": world.registered["eventId"],
        "eventType": "client.registered",
        "status": "succeeded",
    }
    (attempt,) = delivery["attempts"]
    assert (attempt["statusCode"], attempt["error"]) == (204, None) and ISO.match(attempt["attemptedAt"])


def check_events_list(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "Events retrieved successfully.")
    assert data == {
        "events": [world.registered],
        "pagination": {"limit": 20, "offset": 0, "total": 1, "hasMore": False},
    }


def check_events_get(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "Event retrieved successfully.")
    assert data == world.registered
    assert (data["type"], data["resource"]) == (
        "client.registered",
        {"type": "client", "id": world.client["clientId"]},
    )


def check_events_redeliver(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 202, "Event queued for redelivery.")
    assert data == {"eventId": world.registered["eventId"], "webhookIds": [world.webhook["webhookId"]]}
    world.pump()
    (request,) = world.receiver.requests
    assert request.headers["webhook-id"] == world.registered["eventId"]
    assert verify(world.webhook["secret"], request)["data"] == world.registered


CHECKS: dict[str, Callable[[Reply, dict[str, Any], World], None]] = {
    "clients-register": check_clients_register,
    "clients-list": check_clients_list,
    "clients-get": check_clients_get,
    "clients-update": check_clients_update,
    "clients-remove": check_clients_remove,
    "users-register_user": check_users_register_user,
    "users-all_users": check_users_all_users,
    "users-get_user": check_users_get_user,
    "users-update_user": check_users_update_user,
    "users-remove_user": check_users_remove_user,
    "oauth-issue_token": check_oauth_token,
    "oauth-jwks": check_oauth_jwks,
    "oauth-server_metadata": check_oauth_server_metadata,
    "system-health": check_system_health,
    "system-base_uris": check_system_base_uris,
    "admin-create_partner": check_admin_create_partner,
    "admin-list_partners": check_admin_list_partners,
    "admin-get_partner": check_admin_get_partner,
    "admin-update_partner": check_admin_update_partner,
    "webhooks-create": check_webhooks_create,
    "webhooks-list": check_webhooks_list,
    "webhooks-get": check_webhooks_get,
    "webhooks-delete": check_webhooks_delete,
    "webhooks-rotate_secret": check_webhooks_rotate_secret,
    "webhooks-deliveries": check_webhooks_deliveries,
    "events-list": check_events_list,
    "events-get": check_events_get,
    "events-redeliver": check_events_redeliver,
}


def user_token(world: World) -> str:
    """A user token for the world's client, by token exchange with the tenant's credential."""
    credential = world.tenant.credential
    evt = sample_event(
        "oauth-issue_token",
        {"REPLACE_WITH_CLIENT_ID": credential.client_id, "REPLACE_WITH_CLIENT_SECRET": credential.secret},
    )
    subject = jwt.encode({"email": world.client["email"]}, "x" * 32, algorithm="HS256")  # never checked
    evt["body"] = urlencode(
        {
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "client_id": credential.client_id,
            "client_secret": credential.secret,
            "subject_token": subject,
            "subject_token_type": "jwt",
            "actor_token": sample_token(credential),
            "actor_token_type": "access_token",
            "scope": "clients:read",
        }
    )
    reply = run(handler_module(ROUTES["oauth-issue_token"]), evt)
    assert reply.status == 200, reply.text
    return str(reply.body["access_token"])


def check_oauth_validate_token(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 200, reply.text
    assert set(reply.body) == {"valid", "expires_at"} and reply.body["valid"] is True
    assert reply.body["expires_at"] > time.time()


def check_clients_me(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 200, reply.text
    assert reply.body["message"] == "Client retrieved successfully."
    assert reply.body["data"] == world.client


SAMPLE_CREDENTIAL_ID = "0c4f8e2a-6b1d-4a7e-9c35-2d8f0b6e1a93"  # events/credentials-revoke.json


def check_credentials_create(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 201, reply.text
    data = reply.body["data"]
    assert reply.body["message"] == "Credential created successfully."
    assert data["scopes"] == ["clients:read", "events:read"] and data["name"] == "reporting job"
    assert data["partnerId"] == world.tenant.partner_id and data["clientSecret"]
    granted = world.api.call(
        "POST",
        "/oauth/token",
        form={
            "grant_type": "client_credentials",
            "client_id": data["clientId"],
            "client_secret": data["clientSecret"],
        },
    )
    assert granted.status == 200 and granted.body["scope"] == "clients:read events:read"


def check_credentials_list(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 200, reply.text
    listed = reply.body["data"]["credentials"]
    assert world.tenant.credential.client_id in [c["clientId"] for c in listed]
    assert all("clientSecret" not in c and "secretHash" not in c for c in listed)


def check_credentials_revoke(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 200, reply.text
    assert reply.body["message"] == "Credential revoked successfully."
    assert reply.body["data"]["status"] == "revoked" and reply.body["data"]["revokedAt"]


def check_admin_verify_phrase(reply: Reply, evt: dict[str, Any], world: World) -> None:
    # The world's tenant has no phrase, so no phrase matches it
    assert reply.status == 200, reply.text
    assert reply.body == {
        "success": True,
        "message": "Verification phrase checked.",
        "data": {"match": False},
    }


CHECKS["admin-verify_phrase"] = check_admin_verify_phrase
CHECKS["credentials-create"] = check_credentials_create
CHECKS["credentials-list"] = check_credentials_list
CHECKS["credentials-revoke"] = check_credentials_revoke
CHECKS["oauth-validate_token"] = check_oauth_validate_token
CHECKS["clients-me"] = check_clients_me


SAMPLE_SUBPARTNER_ID = "5e1d7c3b-9a2f-4c8e-b6d4-0f3a5c7e9b12"  # events/partners-*.json
SAMPLE_ACCOUNT_ID = "8a3f5d7b-1c9e-4b2a-9d6f-3e5c7a9b1d40"  # events/accounts-*.json
SAMPLE_ACCOUNT_NAME = "SignEmbedTestAccount"


def arrange_partner_and_account_samples(name: str, world: World) -> dict[str, str]:
    """A sub-partner and an account (holding the world's client) for the samples that name them."""
    text = (EVENTS / f"{name}.json").read_text()
    substitutions: dict[str, str] = {}
    token = world.tenant.token
    if SAMPLE_SUBPARTNER_ID in text or name == "partners-list":
        reply = world.api.call("POST", "/partner/v1/partners", token=token, json_body={"name": "Acme West"})
        assert reply.status == 201, reply.text
        substitutions[SAMPLE_SUBPARTNER_ID] = reply.body["data"]["partnerId"]
    if SAMPLE_ACCOUNT_ID in text or name == "accounts-list":
        body = {"name": SAMPLE_ACCOUNT_NAME, "countryCode": "US", "identifier": "85932577000194"}
        reply = world.api.call("POST", "/partner/v1/accounts", token=token, json_body=body)
        assert reply.status == 201, reply.text
        account_id = reply.body["data"]["accountId"]
        substitutions[SAMPLE_ACCOUNT_ID] = account_id
        moved = world.api.call(
            "PATCH",
            f"/partner/v1/clients/{world.client['clientId']}",
            token=token,
            json_body={"accountId": account_id},
        )
        assert moved.status == 200, moved.text
    return substitutions


def get_data(world: World, path: str) -> dict[str, Any]:
    reply = world.api.call("GET", path, token=world.tenant.token)
    assert reply.status == 200, reply.text
    return dict(reply.body["data"])


def check_partners_create(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 201, reply.text
    assert reply.body["message"] == "Partner created successfully."
    data = reply.body["data"]
    assert (data["name"], data["reference"], data["billingId"]) == ("Acme West", "acme-west", "BILL-0042")
    assert data["parent"] == {"partnerId": world.tenant.partner_id, "name": world.tenant.partner["name"]}
    assert data["contact"] == {
        "firstName": "Jane",
        "lastName": "Doe",
        "email": "jane.doe@west.acme.example",
        "role": "ADMIN",
        "active": True,
    }
    assert get_data(world, f"/partner/v1/partners/{data['partnerId']}") == data


def check_partners_list(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 200, reply.text
    assert reply.body["message"] == "Partners retrieved successfully."
    (child,) = reply.body["data"]["partners"]
    assert child["name"] == "Acme West" and child["parent"]["partnerId"] == world.tenant.partner_id
    assert reply.body["data"]["pagination"] == {"limit": 10, "offset": 0, "total": 1, "hasMore": False}


def check_partners_get(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 200, reply.text
    assert reply.body["message"] == "Partner retrieved successfully."
    data = reply.body["data"]
    assert data["partnerId"] == evt["pathParameters"]["partnerId"] and data["status"] == "active"
    assert data["parent"]["partnerId"] == world.tenant.partner_id


def check_partners_update(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 200, reply.text
    assert reply.body["message"] == "Partner updated successfully."
    data = reply.body["data"]
    assert (data["billingId"], data["status"], data["active"]) == ("BILL-0099", "suspended", False)
    assert get_data(world, f"/partner/v1/partners/{data['partnerId']}") == data


def check_partners_remove(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 200, reply.text
    assert reply.body["message"] == "Partner removed successfully."
    partner_id = evt["pathParameters"]["partnerId"]
    assert reply.body["data"]["partnerId"] == partner_id and ISO.match(reply.body["data"]["removedAt"])
    assert get_data(world, f"/partner/v1/partners/{partner_id}")["status"] == "deleted"


def check_reports_clients_by_partner(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 200, reply.text
    assert reply.body["message"] == "Client report retrieved successfully."
    assert reply.body["data"]["partners"] == [
        {
            "partnerId": world.tenant.partner_id,
            "name": world.tenant.partner["name"],
            "counts": {"active": 1, "inactive": 0, "suspended": 0, "deleted": 0},
        }
    ]


def check_accounts_create(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 201, reply.text
    assert reply.body["message"] == "Account created successfully."
    data = reply.body["data"]
    assert (data["name"], data["countryCode"], data["partnerId"]) == (
        SAMPLE_ACCOUNT_NAME,
        "US",
        world.tenant.partner_id,
    )
    assert data["consumables"] == [
        {"type": "SEATS", "attributes": {"cap": 10}},
        {"type": "KBA", "attributes": {"cap": 100}},
    ]
    assert (data["usage"], data["status"]) == ({"SEATS": 0}, "active")
    assert get_data(world, f"/partner/v1/accounts/{data['accountId']}") == data


def check_accounts_list(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 200, reply.text
    assert reply.body["message"] == "Accounts retrieved successfully."
    (account,) = reply.body["data"]["accounts"]
    assert account["name"] == SAMPLE_ACCOUNT_NAME and account["usage"] == {"SEATS": 1}


def check_accounts_get(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 200, reply.text
    assert reply.body["message"] == "Account retrieved successfully."
    data = reply.body["data"]
    assert data["accountId"] == evt["pathParameters"]["accountId"] and data["usage"] == {"SEATS": 1}
    assert reply.header("ETag")


def check_accounts_replace(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 200, reply.text
    assert reply.body["message"] == "Account updated successfully."
    data = reply.body["data"]
    assert data["company"] == "Sign Embed Test LLC" and "identifier" not in data  # omitted: reset
    assert data["consumables"] == [{"type": "SEATS", "attributes": {"cap": 25}}]
    assert get_data(world, f"/partner/v1/accounts/{data['accountId']}") == data


def check_accounts_update(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 200, reply.text
    data = reply.body["data"]
    assert data["company"] == "Sign Embed Holdings" and data["identifier"] == "85932577000194"


def check_accounts_list_clients(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 200, reply.text
    assert reply.body["message"] == "Clients retrieved successfully."
    (client,) = reply.body["data"]["clients"]
    assert client["clientId"] == world.client["clientId"]
    assert client["accountId"] == evt["pathParameters"]["accountId"]


def check_accounts_add_client(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 201, reply.text
    assert reply.body["message"] == "Client registered successfully."
    data = reply.body["data"]
    assert (data["email"], data["name"]) == ("maria.garcia@example.com", "Maria Garcia")
    assert data["accountId"] == evt["pathParameters"]["accountId"]
    assert get_data(world, f"/partner/v1/accounts/{data['accountId']}")["usage"] == {"SEATS": 2}


def check_accounts_remove_client(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 200, reply.text
    assert reply.body["message"] == "Client removed from the account successfully."
    data = reply.body["data"]
    assert data["clientId"] == world.client["clientId"] and "accountId" not in data
    assert data["status"] == "active"
    account = get_data(world, f"/partner/v1/accounts/{evt['pathParameters']['accountId']}")
    assert account["usage"] == {"SEATS": 0}


CHECKS["partners-create"] = check_partners_create
CHECKS["partners-list"] = check_partners_list
CHECKS["partners-get"] = check_partners_get
CHECKS["partners-update"] = check_partners_update
CHECKS["partners-remove"] = check_partners_remove
CHECKS["reports-clients_by_partner"] = check_reports_clients_by_partner
CHECKS["accounts-create"] = check_accounts_create
CHECKS["accounts-list"] = check_accounts_list
CHECKS["accounts-get"] = check_accounts_get
CHECKS["accounts-replace"] = check_accounts_replace
CHECKS["accounts-update"] = check_accounts_update
CHECKS["accounts-list_clients"] = check_accounts_list_clients
CHECKS["accounts-add_client"] = check_accounts_add_client
CHECKS["accounts-remove_client"] = check_accounts_remove_client


def check_docs_method_not_allowed(reply: Reply, evt: dict[str, Any], world: World) -> None:
    # A method the path does not declare: 405 in the envelope, the path's own methods in Allow
    request_id = evt["requestContext"]["requestId"]
    assert reply.status == 405, reply.text
    assert reply.header("Content-Type") == "application/json"
    assert reply.header("Allow") == "GET, POST"
    assert reply.header("x-request-id") == request_id
    assert reply.body == {
        "success": False,
        "code": "METHOD_NOT_ALLOWED",
        "message": "Method PUT is not allowed on this resource.",
        "requestId": request_id,
    }


CHECKS["docs-method_not_allowed"] = check_docs_method_not_allowed


def check_docs_openapi_document(reply: Reply, evt: dict[str, Any], world: World) -> None:
    # The document, its server the stage URL the sample was sent to
    assert reply.status == 200, reply.text
    assert reply.header("Content-Type") == "application/json"
    assert reply.body["openapi"].startswith("3.1")
    context = evt["requestContext"]
    assert reply.body["servers"] == [{"url": f"https://{context['domainName']}/{context['stage']}"}]


def check_docs_docs_page(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 200, reply.text
    assert reply.header("Content-Type") == "text/html; charset=utf-8"
    assert 'src="docs/swagger-ui-bundle.js' in reply.text


def check_docs_docs_asset(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 200, reply.text
    assert reply.header("Content-Type") == "text/css; charset=utf-8"
    assert reply.text == (tpl.ROOT / "docs/node_modules/swagger-ui-dist/swagger-ui.css").read_text()


CHECKS["docs-openapi_document"] = check_docs_openapi_document
CHECKS["docs-docs_page"] = check_docs_docs_page
CHECKS["docs-docs_asset"] = check_docs_docs_asset


SAMPLE_DIRECTORY_ID = "4b8d2f6a-3e1c-4a9b-8d7f-5c2e0a6b9d13"  # events/directories-*.json
SCIM_TOKEN = re.compile(r"^scim_[A-Za-z0-9_-]{43}$")


def arrange_directory_samples(name: str, world: World) -> dict[str, str]:
    """A directory of the tenant (kept, with its token, in ``world.directory``) for the samples
    that name one, and for the list to show."""
    if SAMPLE_DIRECTORY_ID not in (EVENTS / f"{name}.json").read_text() and name != "directories-list":
        return {}
    reply = world.api.call(
        "POST", "/partner/v1/directories", token=world.tenant.token, json_body={"name": "Okta (staging)"}
    )
    assert reply.status == 201, reply.text
    world.directory = reply.body["data"]
    return {SAMPLE_DIRECTORY_ID: world.directory["directoryId"]}


def directory_token_works(token: str) -> bool:
    """Whether SCIM would take ``token`` (its directory-token authentication, in a cold container)."""
    from partner_api.auth import directories
    from partner_api.errors import Unauthenticated

    directories.forget_cached()
    try:
        directories.authenticate(f"Bearer {token}")
    except Unauthenticated:
        return False
    return True


def as_listed(directory: dict[str, Any]) -> dict[str, Any]:
    """A directory as GET and the list show it, but for ``scimBaseUrl`` (it names the URL called)."""
    return {k: v for k, v in directory.items() if k not in ("token", "scimBaseUrl")}


def check_directories_create(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 201, "Directory created successfully.")
    assert (data["name"], data["partnerId"]) == (sent(evt)["name"], world.tenant.partner_id)
    assert UUID.match(data["directoryId"]) and ISO.match(data["createdAt"])
    assert data["scimBaseUrl"] == f"{issuer()}/scim/v2"
    assert SCIM_TOKEN.match(data["token"]) and directory_token_works(data["token"])
    assert re.match(r'^"[^"]+"$', reply.header("ETag") or "")
    assert as_listed(get_data(world, f"/partner/v1/directories/{data['directoryId']}")) == as_listed(data)
    (created,) = world.events(resourceId=data["directoryId"], type="directory.created")
    assert created["requestId"] == evt["requestContext"]["requestId"]
    assert data["token"] not in json.dumps(
        Stored(world.stack).snapshot(world.tenant.partner_id), default=sorted
    )


def check_directories_list(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "Directories retrieved successfully.")
    (listed,) = data["directories"]
    assert as_listed(listed) == as_listed(world.directory)
    assert listed["scimBaseUrl"] == f"{issuer()}/scim/v2"
    assert data["pagination"] == {"limit": 20, "offset": 0, "total": 1, "hasMore": False}
    assert world.directory["token"] not in reply.text and "tokenHash" not in reply.text


def check_directories_get(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "Directory retrieved successfully.")
    assert as_listed(data) == as_listed(world.directory) and "token" not in data
    assert data["scimBaseUrl"] == f"{issuer()}/scim/v2"
    assert re.match(r'^"[^"]+"$', reply.header("ETag") or "")


def check_directories_rotate_token(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "Directory token rotated successfully.")
    assert data["directoryId"] == world.directory["directoryId"]
    assert SCIM_TOKEN.match(data["token"]) and data["token"] != world.directory["token"]
    assert ISO.match(data["tokenRotatedAt"]) and data["updatedAt"] == data["tokenRotatedAt"]
    assert as_listed(get_data(world, f"/partner/v1/directories/{data['directoryId']}")) == as_listed(data)
    # The new token works and the old one does not
    assert directory_token_works(data["token"]) and not directory_token_works(world.directory["token"])
    (rotated,) = world.events(resourceId=data["directoryId"], type="directory.token_rotated")
    assert rotated["requestId"] == evt["requestContext"]["requestId"]


def check_directories_delete(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "Directory deleted successfully.")
    assert data["directoryId"] == world.directory["directoryId"] and "token" not in data
    path = f"/partner/v1/directories/{data['directoryId']}"
    assert world.api.call("GET", path, token=world.tenant.token).status == 404
    assert not directory_token_works(world.directory["token"])
    (deleted,) = world.events(resourceId=data["directoryId"], type="directory.deleted")
    assert deleted["requestId"] == evt["requestContext"]["requestId"]


CHECKS["directories-create"] = check_directories_create
CHECKS["directories-list"] = check_directories_list
CHECKS["directories-get"] = check_directories_get
CHECKS["directories-rotate_token"] = check_directories_rotate_token
CHECKS["directories-delete"] = check_directories_delete


SCIM_USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
SCIM_LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def arrange_scim_samples(name: str, world: World) -> dict[str, str]:
    """A directory of the tenant's root partner (kept, with its token, in ``world.directory``) whose
    token the SCIM samples send; their sample user is the world's client, which it manages."""
    if name not in SCIM:
        return {}
    reply = world.api.call(
        "POST", "/partner/v1/directories", token=world.tenant.token, json_body={"name": "Okta (production)"}
    )
    assert reply.status == 201, reply.text
    world.directory = reply.body["data"]
    return {DIRECTORY_TOKEN_PLACEHOLDER: world.directory["token"]}


def scim_base() -> str:
    return f"{issuer()}/scim/v2"


def scim_answer(reply: Reply, evt: dict[str, Any], status: int) -> Any:
    assert reply.status == status, reply.text
    assert reply.header("Content-Type") == "application/scim+json"
    assert reply.header("x-request-id") == evt["requestContext"]["requestId"]
    return reply.body


def expected_user(world: World, client_id: str) -> dict[str, Any]:
    """The SCIM User a client is (API.md section 10's mapping), from the client as the API shows it."""
    reply = world.api.call("GET", f"/partner/v1/clients/{client_id}", token=world.tenant.token)
    assert reply.status == 200, reply.text
    client = reply.body["data"]
    user: dict[str, Any] = {"schemas": [SCIM_USER_SCHEMA], "id": client_id, "userName": client["email"]}
    if client.get("identifier"):
        user["externalId"] = client["identifier"]
    name = {
        scim: client[ours]
        for scim, ours in (("givenName", "firstName"), ("familyName", "lastName"))
        if client.get(ours)
    }
    if name:
        user["name"] = name
    user["displayName"] = client["name"]
    if client.get("title"):
        user["title"] = client["title"]
    user["emails"] = [{"value": client["email"], "type": "work", "primary": True}]
    if client.get("phone"):
        user["phoneNumbers"] = [{"value": client["phone"], "type": "work", "primary": True}]
    user["active"] = client["status"] == "active"
    user["meta"] = {
        "resourceType": "User",
        "created": client["registeredAt"],
        "lastModified": client["updatedAt"],
        "location": f"{scim_base()}/Users/{client_id}",
        "version": reply.header("ETag"),
    }
    return user


def by_directory(world: World, event: dict[str, Any], evt: dict[str, Any]) -> None:
    """The event was the sample's request, made by the world's directory."""
    assert event["actor"] == {
        "type": "directory",
        "directoryId": world.directory["directoryId"],
        "partnerId": world.tenant.partner_id,
    }
    assert event["requestId"] == evt["requestContext"]["requestId"]


def check_scim_service_provider_config(reply: Reply, evt: dict[str, Any], world: World) -> None:
    body = scim_answer(reply, evt, 200)
    assert body["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
    assert (body["patch"], body["filter"], body["etag"]) == (
        {"supported": True},
        {"supported": True, "maxResults": 200},
        {"supported": True},
    )
    assert body["bulk"]["supported"] is body["changePassword"]["supported"] is False
    assert [scheme["type"] for scheme in body["authenticationSchemes"]] == ["oauthbearertoken"]
    assert body["meta"]["location"] == f"{scim_base()}/ServiceProviderConfig"


def check_scim_resource_types(reply: Reply, evt: dict[str, Any], world: World) -> None:
    body = scim_answer(reply, evt, 200)
    assert body["schemas"] == [SCIM_LIST_RESPONSE]
    assert (body["totalResults"], body["startIndex"], body["itemsPerPage"]) == (1, 1, 1)
    (resource_type,) = body["Resources"]
    assert (resource_type["id"], resource_type["endpoint"], resource_type["schema"]) == (
        "User",
        "/Users",
        SCIM_USER_SCHEMA,
    )
    assert resource_type["meta"]["location"] == f"{scim_base()}/ResourceTypes/User"


def check_scim_resource_type(reply: Reply, evt: dict[str, Any], world: World) -> None:
    body = scim_answer(reply, evt, 200)
    assert body["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"]
    assert (body["id"], body["name"], body["endpoint"], body["schema"]) == (
        "User",
        "User",
        "/Users",
        SCIM_USER_SCHEMA,
    )
    assert body["meta"] == {"resourceType": "ResourceType", "location": f"{scim_base()}/ResourceTypes/User"}


def check_scim_schemas(reply: Reply, evt: dict[str, Any], world: World) -> None:
    body = scim_answer(reply, evt, 200)
    assert body["schemas"] == [SCIM_LIST_RESPONSE]
    assert [schema["id"] for schema in body["Resources"]] == [SCIM_USER_SCHEMA]
    assert body["totalResults"] == body["itemsPerPage"] == 1


def check_scim_schema(reply: Reply, evt: dict[str, Any], world: World) -> None:
    body = scim_answer(reply, evt, 200)
    assert (body["id"], body["name"]) == (SCIM_USER_SCHEMA, "User")
    attributes = {a["name"]: a for a in body["attributes"]}
    # the attributes the mapping keeps, and userName unique and case-insensitive as emails are
    assert {
        "userName",
        "name",
        "displayName",
        "title",
        "emails",
        "phoneNumbers",
        "active",
        "externalId",
    } <= set(attributes)
    assert (attributes["userName"]["uniqueness"], attributes["userName"]["caseExact"]) == ("server", False)
    assert body["meta"]["location"] == f"{scim_base()}/Schemas/{SCIM_USER_SCHEMA}"


def check_scim_list_users(reply: Reply, evt: dict[str, Any], world: World) -> None:
    # The sample's userName filter finds the world's client (Okta's first request for a user)
    body = scim_answer(reply, evt, 200)
    assert body == {
        "schemas": [SCIM_LIST_RESPONSE],
        "totalResults": 1,
        "startIndex": 1,
        "itemsPerPage": 1,
        "Resources": [expected_user(world, world.client["clientId"])],
    }


def check_scim_get_user(reply: Reply, evt: dict[str, Any], world: World) -> None:
    body = scim_answer(reply, evt, 200)
    assert body == expected_user(world, world.client["clientId"])
    assert (body["userName"], body["displayName"], body["title"], body["active"]) == (
        "existing.client@example.com",
        "Existing Client",
        "Controller",
        True,
    )
    assert reply.header("ETag") == body["meta"]["version"]


def check_scim_create_user(reply: Reply, evt: dict[str, Any], world: World) -> None:
    body = scim_answer(reply, evt, 201)
    assert UUID.match(body["id"]) and body == expected_user(world, body["id"])
    assert reply.header("Location") == body["meta"]["location"] == f"{scim_base()}/Users/{body['id']}"
    assert reply.header("ETag") == body["meta"]["version"]
    client = world.get_client(body["id"])
    assert {
        k: client.get(k) for k in ("email", "name", "firstName", "lastName", "phone", "title", "identifier")
    } == {
        "email": "ada.lovelace@example.com",
        "name": "Ada Lovelace",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "phone": "+1 555 0199",
        "title": "Head of Finance",
        "identifier": "00u8f2k1q9ZxYw7vT5d7",
    }
    assert (client["status"], client["partnerId"]) == ("active", world.tenant.partner_id)
    assert "locale" not in reply.text and "en-US" not in reply.text  # accepted, not kept
    (registered,) = world.events(resourceId=body["id"], type="client.registered")
    by_directory(world, registered, evt)


def check_scim_replace_user(reply: Reply, evt: dict[str, Any], world: World) -> None:
    body = scim_answer(reply, evt, 200)
    assert body == expected_user(world, world.client["clientId"])
    assert reply.header("ETag") == body["meta"]["version"]
    client = world.get_client(world.client["clientId"])
    assert {k: client.get(k) for k in ("email", "name", "firstName", "lastName", "title", "identifier")} == {
        "email": "existing.client@example.com",
        "name": "Existing Client",
        "firstName": "Existing",
        "lastName": "Client",
        "title": "Chief Financial Officer",
        "identifier": "00u8f2k1q9ZxYw7vT5e8",
    }
    (updated,) = world.events(resourceId=world.client["clientId"], type="client.updated")
    assert updated["changes"]["title"] == {"from": "Controller", "to": "Chief Financial Officer"}
    by_directory(world, updated, evt)


def check_scim_patch_user(reply: Reply, evt: dict[str, Any], world: World) -> None:
    # Entra's forms: "Replace", and active as the string "False"
    body = scim_answer(reply, evt, 200)
    assert body == expected_user(world, world.client["clientId"])
    assert (body["title"], body["active"]) == ("Finance Director", False)
    assert reply.header("ETag") == body["meta"]["version"]
    client = world.get_client(world.client["clientId"])
    assert (client["title"], client["status"]) == ("Finance Director", "inactive")
    (updated,) = world.events(resourceId=world.client["clientId"], type="client.updated")
    assert updated["changes"] == {
        "title": {"from": "Controller", "to": "Finance Director"},
        "status": {"from": "active", "to": "inactive"},
    }
    by_directory(world, updated, evt)


def check_scim_delete_user(reply: Reply, evt: dict[str, Any], world: World) -> None:
    scim_answer(reply, evt, 204)
    assert reply.text == ""
    client = world.get_client(world.client["clientId"])
    assert client["status"] == "deleted" and ISO.match(client["removedAt"])
    (removed,) = world.events(resourceId=world.client["clientId"], type="client.removed")
    by_directory(world, removed, evt)
    # and the webhook hears it, as it hears a removal through the partner API
    world.pump()
    (request,) = world.receiver.requests
    assert verify(world.webhook["secret"], request) == {
        "type": "client.removed",
        "timestamp": removed["occurredAt"],
        "data": removed,
    }


def check_docs_scim_method_not_allowed(reply: Reply, evt: dict[str, Any], world: World) -> None:
    # A method a SCIM path does not declare: 405 in SCIM's error body, the path's methods in Allow
    body = scim_answer(reply, evt, 405)
    assert reply.header("Allow") == "GET, POST"
    assert body == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "405",
        "detail": "Method DELETE is not allowed on this resource.",
    }


CHECKS["scim-service_provider_config"] = check_scim_service_provider_config
CHECKS["scim-resource_types"] = check_scim_resource_types
CHECKS["scim-resource_type"] = check_scim_resource_type
CHECKS["scim-schemas"] = check_scim_schemas
CHECKS["scim-schema"] = check_scim_schema
CHECKS["scim-list_users"] = check_scim_list_users
CHECKS["scim-get_user"] = check_scim_get_user
CHECKS["scim-create_user"] = check_scim_create_user
CHECKS["scim-replace_user"] = check_scim_replace_user
CHECKS["scim-patch_user"] = check_scim_patch_user
CHECKS["scim-delete_user"] = check_scim_delete_user
CHECKS["docs-scim_method_not_allowed"] = check_docs_scim_method_not_allowed


def test_every_sample_event_has_a_check():
    assert sorted(CHECKS) == sorted(ROUTES)
    assert sorted([*CHECKS, *PIPELINE]) == EVENT_NAMES


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_sample_event_runs_through_its_handler(name: str, world: World, operator: Credential):
    # Given the sample with its placeholders standing for a real token, client, partner, webhook, event
    substitutions = {
        SAMPLE_CLIENT_ID: world.client["clientId"],
        SAMPLE_PARTNER_ID: world.tenant.partner_id,
        SAMPLE_WEBHOOK_ID: world.webhook["webhookId"],
        SAMPLE_EVENT_ID: world.registered["eventId"],
        "REPLACE_WITH_CLIENT_ID": world.tenant.credential.client_id,
        "REPLACE_WITH_CLIENT_SECRET": world.tenant.credential.secret,
    }
    if name == "credentials-revoke":  # a second credential of the tenant, to be revoked
        spare = world.api.call("POST", "/partner/v1/credentials", token=world.tenant.token, json_body={})
        assert spare.status == 201, spare.text
        substitutions[SAMPLE_CREDENTIAL_ID] = spare.body["data"]["clientId"]
    substitutions |= arrange_partner_and_account_samples(name, world)
    substitutions |= arrange_directory_samples(name, world)
    substitutions |= arrange_scim_samples(name, world)
    if name == "clients-me":  # a user token, for the client the world registered
        substitutions[TOKEN_PLACEHOLDER] = user_token(world)
    elif name not in PUBLIC or name == "oauth-validate_token":
        caller = operator if name.startswith("admin-") else world.tenant.credential
        substitutions[TOKEN_PLACEHOLDER] = sample_token(caller)
    evt = sample_event(name, substitutions)

    # When it runs through the handler its template function names
    reply = run(handler_module(ROUTES[name]), evt)

    # Then it succeeds as documented, with the right body and stored state
    CHECKS[name](reply, evt, world)


# --- the pipeline samples run through their handlers ---------------------------------------------


def pipeline_ids(world: World, event: dict[str, Any]) -> dict[str, str]:
    """The pipeline samples' ids standing for the world's tenant, client, webhook and ``event``."""
    return {
        SAMPLE_PARTNER_ID: world.tenant.partner_id,
        SAMPLE_CLIENT_ID: world.client["clientId"],
        SAMPLE_WEBHOOK_ID: world.webhook["webhookId"],
        SAMPLE_EVENT_ID: event["eventId"],
        SAMPLE_CREDENTIAL_ID: world.tenant.credential.client_id,
    }


def invoke(name: str, evt: dict[str, Any]) -> Any:
    """Run the sample's function as Lambda would, by its template logical id."""
    return InProcessRunner(GatewayResponses({})).call(PIPELINE[name], evt)


def drain(stack: Stack, queue: str) -> list[dict[str, Any]]:
    """Every message waiting in one of the stack's queues, taken off it; their bodies."""
    sqs = shared_session().client("sqs", region_name="us-east-1")
    bodies: list[dict[str, Any]] = []
    while True:
        found = sqs.receive_message(QueueUrl=stack.physical_ids[queue], MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if not found:
            return bodies
        for message in found:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=stack.physical_ids[queue], ReceiptHandle=message["ReceiptHandle"])


def test_publish_sample_puts_its_event_on_the_bus(world: World):
    # Given the publisher's sample standing for a real client.removed event of the world's tenant
    removed = world.remove_client()
    evt = sample_event("pipeline-publish_events", pipeline_ids(world, removed))
    assert drain(world.stack, "WebhookEventsQueue") == []

    # When it runs through PublishEventsFunction
    result = invoke("pipeline-publish_events", evt)

    # Then no record failed, and the bus's rule delivered its event to the fan-out queue
    assert result == {"batchItemFailures": []}
    (bus_event,) = drain(world.stack, "WebhookEventsQueue")
    from boto3.dynamodb.types import TypeDeserializer

    image = evt["Records"][0]["dynamodb"]["NewImage"]
    row = {k: TypeDeserializer().deserialize(v) for k, v in image.items()}
    assert (bus_event["source"], bus_event["detail-type"]) == ("partner-api", "client.removed")
    assert bus_event["detail"] == bus_detail(row)
    assert bus_event["detail"]["eventId"] == removed["eventId"]
    assert bus_event["detail"]["tenantId"] == world.tenant.partner_id
    # And what the bus sends has the shape the fan-out sample shows (moto's targets leave out the
    # "account" that EventBridge always sends)
    (fan_out_record,) = records("pipeline-fan_out")
    assert set(bus_event) | {"account"} == set(json.loads(fan_out_record["body"]))
    assert set(bus_event["detail"]) == set(json.loads(fan_out_record["body"])["detail"])


def test_fan_out_sample_queues_one_delivery_for_the_webhook(world: World):
    # Given the fan-out sample standing for the tenant's real client.removed event, heard by its webhook
    removed = world.remove_client()
    evt = sample_event("pipeline-fan_out", pipeline_ids(world, removed))

    # When it runs through FanOutWebhooksFunction
    result = invoke("pipeline-fan_out", evt)

    # Then no message failed, and one delivery, of the deliver sample's shape, waits for the webhook
    assert result == {"batchItemFailures": []}
    message = {
        "tenantId": world.tenant.partner_id,
        "webhookId": world.webhook["webhookId"],
        "eventId": removed["eventId"],
        "round": 0,
    }
    assert drain(world.stack, "WebhookDeliveryQueue") == [message]
    (deliver_record,) = records("pipeline-deliver_webhook")
    assert set(json.loads(deliver_record["body"])) == set(message)
    # And its delivery is recorded as pending
    reply = world.api.call(
        "GET", f"/partner/v1/webhooks/{world.webhook['webhookId']}/deliveries", token=world.tenant.token
    )
    newest = reply.body["data"]["deliveries"][0]
    assert (newest["eventId"], newest["status"], newest["attempts"]) == (removed["eventId"], "pending", [])


def test_deliver_sample_posts_the_signed_event_to_the_webhook(world: World):
    # Given a real client.removed event whose delivery the fan-out opened (its message waiting)
    removed = world.remove_client()
    pipeline(world.stack, ["PublishEventsFunction", "FanOutWebhooksFunction"])()
    evt = sample_event("pipeline-deliver_webhook", pipeline_ids(world, removed))

    # When the deliver sample, standing for that delivery, runs through DeliverWebhookFunction
    result = invoke("pipeline-deliver_webhook", evt)

    # Then no message failed, and the receiver got the event, signed with the webhook's secret
    assert result == {"batchItemFailures": []}
    (request,) = world.receiver.requests
    assert request.headers["webhook-id"] == removed["eventId"]
    assert verify(world.webhook["secret"], request) == {
        "type": "client.removed",
        "timestamp": removed["occurredAt"],
        "data": removed,
    }
    # And the delivery is recorded as succeeded, so the waiting message sends nothing again
    world.pump()
    assert len(world.receiver.requests) == 1
    reply = world.api.call(
        "GET", f"/partner/v1/webhooks/{world.webhook['webhookId']}/deliveries", token=world.tenant.token
    )
    newest = reply.body["data"]["deliveries"][0]
    assert (newest["eventId"], newest["status"], len(newest["attempts"])) == (
        removed["eventId"],
        "succeeded",
        1,
    )


def test_welcome_email_sample_sends_one_email_through_ses(world: World):
    # Given the sample: a partner.created bus event whose contact asked for a welcome email
    evt = sample_event("pipeline-send_welcome_email", {})
    from moto.ses.models import ses_backends

    outbox = ses_backends[world.stack.account_id][world.stack.region].sent_messages
    before = len(outbox)

    # When it runs through SendWelcomeEmailFunction, twice (SQS may deliver a message again)
    assert invoke("pipeline-send_welcome_email", evt) == {"batchItemFailures": []}
    assert invoke("pipeline-send_welcome_email", evt) == {"batchItemFailures": []}

    # Then exactly one email went to the contact, from the template's sender, naming the partner
    (sent,) = outbox[before:]
    assert sent.source == "welcome@example.com"
    assert sent.destinations["ToAddresses"] == ["jane.doe@west.acme.example"]
    assert "Acme West" in sent.subject and "Hello Jane" in sent.body
