"""Webhooks (API.md section 8): register, list, read, delete, rotate the secret, deliveries.

Deliveries run through the real pipeline: the events table's stream, the bus, the fan-out and the
delivery functions, driven synchronously by local/triggers.py, to a receiver on 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest

from local.run import GatewayResponses, InProcessRunner
from local.stack import Stack
from local.triggers import Triggers
from partner_api.event_types import EVENT_TYPES
from tests.conftest import Tenant, shared_session, token_for
from tests.support.apigw import Api
from tests.support.clients import Stored, assert_error, assert_success, register, remove

WEBHOOKS = "/partner/v1/webhooks"
SECRET_RE = re.compile(r"^whsec_[A-Za-z0-9+/]{32}$")  # 24 random bytes, base64
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
ETAG_RE = re.compile(r'^"[^"]+"$')
WEBHOOK_KEYS = {"webhookId", "url", "events", "partnerId", "status", "createdAt", "updatedAt"}
PUBLIC_IP = "93.184.215.14"  # a global unicast address (example.com's)
RETRIES = 7  # entries in the stack fixture's WebhookRetrySchedule


# --- a webhook receiver and the pipeline -------------------------------------------------------------


@dataclass
class Received:
    """One request a receiver got."""

    path: str
    headers: dict[str, str]  # lowercase names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """An HTTP endpoint on 127.0.0.1 that records every POST and answers with ``status``.

    The delivery function waits for the answer, so a request is recorded before ``pump`` returns.
    """

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.status = 204
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.requests.append(Received(self.path, headers, body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.url = f"{self.base}/hooks/partner-api"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


Pump = Callable[[], int]


def pipeline(stack: Stack, functions: list[str] | None = None) -> Pump:
    """Runs the stream and queue triggers of template.yaml (or of ``functions``) with the real
    handlers until nothing is left to process; returns how many records were handled."""
    runner = InProcessRunner(GatewayResponses({}))
    return Triggers(stack, runner.call, session=shared_session(), functions=functions).pump


@pytest.fixture
def pump(stack: Stack) -> Pump:
    return pipeline(stack)


def verify(secret: str, request: Received) -> Any:
    """The Standard Webhooks check a receiver makes; raises when the signature does not verify."""
    from standardwebhooks.webhooks import Webhook

    return Webhook(secret).verify(request.body, request.headers)


def signature_fails(secret: str, request: Received) -> bool:
    from standardwebhooks.webhooks import WebhookVerificationError

    try:
        verify(secret, request)
    except WebhookVerificationError:
        return True
    return False


class FakeDns:
    """Stands in for the resolver ``partner_api.logic.webhook_urls`` uses (no DNS here): names in
    ``answers`` resolve to their addresses, IP literals to themselves, anything else fails."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers

    def getaddrinfo(self, host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        if host in self.answers:
            return [
                (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
                for a in self.answers[host]
            ]
        return socket.getaddrinfo(host, port, *args, **kwargs)  # literals; names fail without DNS

    @classmethod
    def install(cls, monkeypatch: pytest.MonkeyPatch) -> FakeDns:
        """Make ``partner_api.logic.webhook_urls`` resolve through a new, empty ``FakeDns``."""
        from partner_api.logic import webhook_urls

        fake = cls({})
        namespace = SimpleNamespace(
            getaddrinfo=fake.getaddrinfo, gaierror=socket.gaierror, SOCK_STREAM=socket.SOCK_STREAM
        )
        monkeypatch.setattr(webhook_urls, "socket", namespace)
        return fake


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    return FakeDns.install(monkeypatch)


# --- helpers -----------------------------------------------------------------------------------------


def create_webhook(api: Api, tenant: Tenant, url: str, events: list[str] | None = None, **fields: Any) -> Any:
    body: dict[str, Any] = {"url": url, **fields}
    if events is not None:
        body["events"] = events
    reply = api.call("POST", WEBHOOKS, token=tenant.token, json_body=body)
    assert reply.status == 201, reply.text
    return reply.body["data"]


def shown(webhook: dict[str, Any]) -> dict[str, Any]:
    """A webhook as GET and list show it: everything create showed except the secret."""
    return {k: v for k, v in webhook.items() if k not in ("secret", "previousSecretExpiresAt")}


def list_webhooks(api: Api, tenant: Tenant, **query: str) -> Any:
    return assert_success(
        api.call("GET", WEBHOOKS, token=tenant.token, query=query or None),
        200,
        "Webhooks retrieved successfully.",
    )


def stored_webhook(stack: Stack, tenant_id: str, webhook_id: str) -> dict[str, Any] | None:
    return next(
        (i for i in Stored(stack).snapshot(tenant_id)[1] if i["SK"] == f"WEBHOOK#{webhook_id}"),
        None,
    )


def stored_deliveries(stack: Stack, tenant_id: str, webhook_id: str) -> list[dict[str, Any]]:
    return [i for i in Stored(stack).snapshot(tenant_id)[1] if i["SK"].startswith(f"DELIVERY#{webhook_id}#")]


def unseal(sealed: str) -> str:
    """Decrypt a sealed secret with KMS directly (not with the code under test)."""
    kms = shared_session().client("kms", region_name="us-east-1")
    return bytes(kms.decrypt(CiphertextBlob=base64.b64decode(sealed))["Plaintext"]).decode()


def queue_depth(stack: Stack, queue: str) -> int:
    attributes = (
        shared_session()
        .client("sqs", region_name="us-east-1")
        .get_queue_attributes(
            QueueUrl=stack.physical_ids[queue],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
    )
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def get_event(api: Api, tenant: Tenant, event_id: str) -> Any:
    reply = api.call("GET", f"/partner/v1/events/{event_id}", token=tenant.token)
    return assert_success(reply, 200, "Event retrieved successfully.")


def only_event(stack: Stack, tenant: Tenant, event_type: str, resource_id: str) -> dict[str, Any]:
    found = Stored(stack).events(tenant.partner_id, event_type, resource_id)
    assert len(found) == 1, found
    return found[0]


# --- create ------------------------------------------------------------------------------------------


def test_create_returns_the_webhook_with_a_secret_shown_only_then(api: Api, stack: Stack, tenant: Tenant):
    # Given a URL at the local receiver allowance
    url = "http://127.0.0.1:8999/hooks"

    # When the partner registers a webhook
    reply = api.call(
        "POST",
        WEBHOOKS,
        token=tenant.token,
        json_body={
            "url": url,
            "events": ["client.registered", "client.removed"],
            "description": " CRM sync ",
        },
    )

    # Then it is created with a whsec_ secret, an id, its fields and an ETag
    data = assert_success(reply, 201, "Webhook created successfully.")
    assert set(data) == WEBHOOK_KEYS | {"description", "secret"}
    assert UUID_RE.match(data["webhookId"])
    assert SECRET_RE.match(data["secret"]), data["secret"]
    assert (data["url"], data["events"], data["description"]) == (
        url,
        ["client.registered", "client.removed"],
        "CRM sync",
    )
    assert (data["status"], data["partnerId"]) == ("active", tenant.partner_id)
    assert ISO_RE.match(data["createdAt"]) and data["updatedAt"] == data["createdAt"]
    assert ETAG_RE.match(reply.header("ETag") or "")

    # And GET and list show the same webhook, never its secret
    got = api.call("GET", f"{WEBHOOKS}/{data['webhookId']}", token=tenant.token)
    assert assert_success(got, 200, "Webhook retrieved successfully.") == shown(data)
    assert got.header("ETag") == reply.header("ETag")
    assert list_webhooks(api, tenant)["webhooks"] == [shown(data)]
    assert data["secret"] not in got.text

    # And the store holds only a KMS-sealed secret: no item of the tenant, in any table, holds it
    item = stored_webhook(stack, tenant.partner_id, data["webhookId"])
    assert item is not None
    assert unseal(item["secretSealed"]) == data["secret"]
    assert data["secret"].encode() not in base64.b64decode(item["secretSealed"])
    everything = json.dumps(Stored(stack).snapshot(tenant.partner_id))
    assert data["secret"] not in everything
    assert data["secret"].removeprefix("whsec_") not in everything


def test_each_webhook_gets_its_own_secret(api: Api, tenant: Tenant):
    first = create_webhook(api, tenant, "http://127.0.0.1:8999/a")
    second = create_webhook(api, tenant, "http://127.0.0.1:8999/a")
    assert first["webhookId"] != second["webhookId"]
    assert first["secret"] != second["secret"]


def test_events_default_to_client_removed(api: Api, stack: Stack, tenant: Tenant):
    # When a webhook is registered without events
    data = create_webhook(api, tenant, "http://127.0.0.1:8999/hooks")

    # Then it hears client.removed only, and has no description
    assert data["events"] == ["client.removed"]
    assert "description" not in data
    item = stored_webhook(stack, tenant.partner_id, data["webhookId"])
    assert item is not None and item["events"] == ["client.removed"]


def test_repeated_event_types_are_kept_once(api: Api, tenant: Tenant):
    events = ["client.removed", "client.registered", "client.removed"]
    data = create_webhook(api, tenant, "http://127.0.0.1:8999/hooks", events=events)
    assert data["events"] == ["client.removed", "client.registered"]


def test_a_retried_create_with_the_same_idempotency_key_creates_one_webhook(
    api: Api, stack: Stack, tenant: Tenant
):
    # Given a create that the client retries with the same Idempotency-Key and body
    body = {"url": "http://127.0.0.1:8999/hooks"}
    headers = {"Idempotency-Key": "create-webhook-7f1c"}

    # When both reach the API
    first = api.call("POST", WEBHOOKS, token=tenant.token, json_body=body, headers=headers)
    second = api.call("POST", WEBHOOKS, token=tenant.token, json_body=body, headers=headers)

    # Then the retry replays the first response (same webhook, same secret), and one webhook exists
    assert_success(first, 201, "Webhook created successfully.")
    assert (second.status, second.body) == (first.status, first.body)
    assert second.header("Idempotent-Replayed") == "true"
    assert list_webhooks(api, tenant)["pagination"]["total"] == 1
    assert len(Stored(stack).events(tenant.partner_id, "webhook.created")) == 1


def test_every_documented_event_type_may_be_subscribed(api: Api, tenant: Tenant):
    data = create_webhook(api, tenant, "http://127.0.0.1:8999/hooks", events=list(EVENT_TYPES))
    assert data["events"] == list(EVENT_TYPES)


def refusals(
    api: Api, stack: Stack, tenant: Tenant, bodies: list[dict[str, Any]], status: int, code: str, field: str
) -> dict[str, str]:
    """POST each body; the ones not refused as expected (or that stored anything), with why."""
    before = Stored(stack).snapshot(tenant.partner_id)
    wrong: dict[str, str] = {}
    for body in bodies:
        reply = api.call("POST", WEBHOOKS, token=tenant.token, json_body=body)
        try:
            found = assert_error(reply, status, code)
            fields = [d["field"] for d in found.get("details", [])]
            assert fields and all(f == field or f.startswith(f"{field}.") for f in fields), fields
        except AssertionError as failed:
            wrong[json.dumps(body)] = f"{reply.status} {reply.text[:200]} ({failed})"
    if Stored(stack).snapshot(tenant.partner_id) != before:
        wrong["(store)"] = "something was stored"
    return wrong


def test_events_must_be_a_list_of_documented_types(api: Api, stack: Stack, tenant: Tenant):
    # Given invalid events lists
    lists: list[Any] = [["client.removed", "client.exploded"], ["CLIENT.REMOVED"], [], "client.removed", [1]]

    # When webhooks are registered with each
    bodies = [{"url": "http://127.0.0.1:8999/h", "events": events} for events in lists]

    # Then each is a 400 on field events (dotted to the offending entry), and nothing is stored
    assert refusals(api, stack, tenant, bodies, 400, "INVALID_PARAMETER", "events") == {}


def test_an_unknown_event_type_is_reported_at_its_entry(api: Api, tenant: Tenant):
    body = {"url": "http://127.0.0.1:8999/h", "events": ["client.removed", "client.exploded"]}
    reply = api.call("POST", WEBHOOKS, token=tenant.token, json_body=body)
    assert [d["field"] for d in assert_error(reply, 400, "INVALID_PARAMETER")["details"]] == ["events.1"]


def test_invalid_bodies_are_rejected(api: Api, stack: Stack, tenant: Tenant):
    url = "http://127.0.0.1:8999/h"
    assert refusals(api, stack, tenant, [{}, {"url": "   "}], 400, "MISSING_REQUIRED_PARAMS", "url") == {}
    for field, value in {"secret": "whsec_mine", "webhookId": "x", "status": "active"}.items():
        assert (
            refusals(api, stack, tenant, [{"url": url, field: value}], 400, "INVALID_PARAMETER", field) == {}
        )
    long = [{"url": url, "description": "x" * 501}]
    assert refusals(api, stack, tenant, long, 400, "INVALID_PARAMETER", "description") == {}
    assert refusals(api, stack, tenant, [{"url": 42}], 400, "INVALID_PARAMETER", "url") == {}


# --- where a webhook may point ------------------------------------------------------------------------

REFUSED_URLS = [
    f"http://{PUBLIC_IP}/hooks",  # http to a public host
    "https://10.0.0.1/hooks",
    "https://192.168.1.20/hooks",
    "https://172.16.5.4/hooks",
    "https://100.64.0.1/hooks",  # carrier-grade NAT
    "https://169.254.169.254/latest/meta-data/",  # the metadata endpoint
    "https://169.254.10.10/hooks",  # link-local
    "https://[::1]/hooks",
    "https://[fd00:ec2::254]/hooks",  # the IPv6 metadata endpoint
    "https://[::ffff:10.0.0.1]/hooks",  # IPv4-mapped private
    "https://[fe80::1]/hooks",
    "https://0.0.0.0/hooks",
    "https://2130706433/hooks",  # 127.0.0.1 in decimal
    "https://localhost/hooks",
    "http://localhost:8999/hooks",  # a loopback name is not the 127.0.0.1 allowance
    "http://127.0.0.2:8999/hooks",  # nor is another loopback address
    "http://[::1]:8999/hooks",
    f"ftp://{PUBLIC_IP}/hooks",
    f"https://user:pass@{PUBLIC_IP}/hooks",
    f"https://{PUBLIC_IP}/hooks#fragment",
    f"https://{PUBLIC_IP}:99999/hooks",
    "hooks.example.com/partner",  # not absolute
    "https://unresolvable.invalid/hooks",  # cannot be checked, so refused
]


def test_webhook_urls_must_be_https_to_public_addresses(api: Api, stack: Stack, tenant: Tenant):
    # Given URLs the API must never call
    bodies = [{"url": url} for url in REFUSED_URLS]

    # When webhooks are registered at each
    wrong = refusals(api, stack, tenant, bodies, 400, "INVALID_PARAMETER", "url")

    # Then every one is refused on field url, and neither a webhook nor an event is stored
    assert wrong == {}


def test_https_to_a_public_address_is_accepted(api: Api, tenant: Tenant):
    data = create_webhook(api, tenant, f"https://{PUBLIC_IP}:8443/hooks?source=partner-api")
    assert data["url"] == f"https://{PUBLIC_IP}:8443/hooks?source=partner-api"


def test_a_name_is_checked_by_every_address_it_resolves_to(api: Api, tenant: Tenant, dns: FakeDns):
    # Given names resolving to a private address, to public and private ones, and to public ones
    dns.answers = {
        "hooks.internal.example": ["10.1.2.3"],
        "mixed.example": [PUBLIC_IP, "192.168.0.9"],
        "rebind.example": ["::ffff:169.254.169.254"],
        "hooks.example.com": [PUBLIC_IP, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    }

    # When webhooks are registered at each
    refused = {
        host: api.call("POST", WEBHOOKS, token=tenant.token, json_body={"url": f"https://{host}/hooks"})
        for host in ("hooks.internal.example", "mixed.example", "rebind.example")
    }
    accepted = api.call(
        "POST", WEBHOOKS, token=tenant.token, json_body={"url": "https://hooks.example.com/hooks"}
    )

    # Then a name with any non-public address is refused, and an all-public one is accepted
    for reply in refused.values():
        assert_error(reply, 400, "INVALID_PARAMETER", field="url")
    assert (
        assert_success(accepted, 201, "Webhook created successfully.")["url"]
        == "https://hooks.example.com/hooks"
    )
    assert [w["url"] for w in list_webhooks(api, tenant)["webhooks"]] == ["https://hooks.example.com/hooks"]


def test_the_loopback_allowance_is_only_for_local_runs(
    api: Api, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
):
    # Given the deployed setting (AllowLoopbackWebhooks=false)
    from partner_api.config import settings

    monkeypatch.setenv("ALLOW_LOOPBACK_WEBHOOKS", "false")
    settings.cache_clear()

    # When a webhook is registered at http://127.0.0.1
    reply = api.call("POST", WEBHOOKS, token=tenant.token, json_body={"url": "http://127.0.0.1:8999/hooks"})

    # Then it is refused like any other loopback address
    assert_error(reply, 400, "INVALID_PARAMETER", field="url")
    settings.cache_clear()


def test_an_address_that_turns_private_after_registration_is_never_called(
    api: Api, stack: Stack, tenant: Tenant, dns: FakeDns, receiver: Receiver, pump: Pump
):
    # Given a webhook whose name resolved to a public address when it was registered
    dns.answers = {"hooks.example.com": [PUBLIC_IP]}
    webhook = create_webhook(api, tenant, "https://hooks.example.com/hooks")
    client = register(api, tenant, "rebound@example.com")
    pump()

    # When the name now resolves to loopback (where a receiver listens) and an event is delivered
    dns.answers = {"hooks.example.com": ["127.0.0.1"]}
    remove(api, tenant, client["clientId"])
    pump()

    # Then nothing is sent; every scheduled attempt is refused, and the delivery ends failed and
    # dead-lettered
    assert receiver.requests == []
    event = only_event(stack, tenant, "client.removed", client["clientId"])
    [delivery] = stored_deliveries(stack, tenant.partner_id, webhook["webhookId"])
    assert (delivery["eventId"], delivery["status"]) == (event["eventId"], "failed")
    assert len(delivery["attempts"]) == 1 + RETRIES
    for attempt in delivery["attempts"]:
        assert attempt["statusCode"] is None
        assert attempt["error"].startswith("destination refused"), attempt
    assert queue_depth(stack, "WebhookDeliveryDeadLetterQueue") == 1
    assert queue_depth(stack, "WebhookDeliveryQueue") == 0


# --- list, get, delete --------------------------------------------------------------------------------


def test_list_get_and_delete(api: Api, stack: Stack, tenant: Tenant):
    # Given two webhooks
    first = create_webhook(api, tenant, "http://127.0.0.1:8999/first", description="first")
    second = create_webhook(api, tenant, "http://127.0.0.1:8999/second", events=["client.registered"])
    listed = list_webhooks(api, tenant)
    assert sorted(listed["webhooks"], key=lambda w: w["webhookId"]) == sorted(
        [shown(first), shown(second)], key=lambda w: w["webhookId"]
    )
    assert listed["pagination"] == {"limit": 20, "offset": 0, "total": 2, "hasMore": False}

    # When the first is deleted
    reply = api.call("DELETE", f"{WEBHOOKS}/{first['webhookId']}", token=tenant.token)

    # Then the reply says when, and the webhook is gone from GET, list, DELETE and its sub-routes
    data = assert_success(reply, 200, "Webhook deleted successfully.")
    assert set(data) == {"webhookId", "deletedAt"}
    assert data["webhookId"] == first["webhookId"] and ISO_RE.match(data["deletedAt"])
    gone = f"{WEBHOOKS}/{first['webhookId']}"
    assert_error(api.call("GET", gone, token=tenant.token), 404, "WEBHOOK_NOT_FOUND")
    assert_error(api.call("DELETE", gone, token=tenant.token), 404, "WEBHOOK_NOT_FOUND")
    assert_error(api.call("POST", f"{gone}/rotate-secret", token=tenant.token), 404, "WEBHOOK_NOT_FOUND")
    assert_error(api.call("GET", f"{gone}/deliveries", token=tenant.token), 404, "WEBHOOK_NOT_FOUND")
    after = list_webhooks(api, tenant)
    assert after == {
        "webhooks": [shown(second)],
        "pagination": {"limit": 20, "offset": 0, "total": 1, "hasMore": False},
    }

    # And the stored item is marked deleted (kept for the audit trail), the other untouched
    item = stored_webhook(stack, tenant.partner_id, first["webhookId"])
    assert item is not None
    assert (item["status"], item["updatedAt"]) == ("deleted", data["deletedAt"])
    other = stored_webhook(stack, tenant.partner_id, second["webhookId"])
    assert other is not None and other["status"] == "active"


def test_list_is_oldest_first_by_creation_time(api: Api, tenant: Tenant, monkeypatch: pytest.MonkeyPatch):
    # Given webhooks created in turn whose ids sort the other way round
    from partner_api.logic import webhooks as logic

    ids = iter(f"{c * 8}-{c * 4}-4{c * 3}-8{c * 3}-{c * 12}" for c in "fedcb")
    monkeypatch.setattr(logic, "new_id", lambda: next(ids))
    created = [create_webhook(api, tenant, f"http://127.0.0.1:8999/{n}")["webhookId"] for n in range(5)]
    assert created == sorted(created, reverse=True)

    # When they are listed
    listed = [w["webhookId"] for w in list_webhooks(api, tenant)["webhooks"]]

    # Then the order is the documented one: oldest first by creation time
    assert listed == created


def test_list_pages_by_offset_and_cursor(api: Api, tenant: Tenant):
    # Given five webhooks
    for n in range(5):
        create_webhook(api, tenant, f"http://127.0.0.1:8999/{n}")
    everything = list_webhooks(api, tenant)["webhooks"]
    assert len(everything) == 5

    # When they are read two at a time, by cursor and by offset
    walked, cursor, pages = [], None, 0
    while True:
        page = list_webhooks(api, tenant, limit="2", **({"cursor": cursor} if cursor else {}))
        pages += 1
        walked += page["webhooks"]
        assert page["pagination"]["total"] == 5
        assert ("nextCursor" in page["pagination"]) is page["pagination"]["hasMore"]
        cursor = page["pagination"].get("nextCursor")
        if not cursor:
            break
    by_offset = list_webhooks(api, tenant, limit="2", offset="3")

    # Then the cursor visits each once in list order, and offset picks the same slice
    assert (pages, walked) == (3, everything)
    assert by_offset["webhooks"] == everything[3:5]
    assert by_offset["pagination"] == {"limit": 2, "offset": 3, "total": 5, "hasMore": False}


def test_list_rejects_bad_paging(api: Api, tenant: Tenant):
    for query in ({"limit": "0"}, {"limit": "101"}, {"limit": "ten"}, {"offset": "-1"}, {"cursor": "forged"}):
        reply = api.call("GET", WEBHOOKS, token=tenant.token, query=query)
        assert_error(reply, 400, "INVALID_PARAMETER", field=next(iter(query)))


def test_malformed_and_unknown_webhook_ids(api: Api, tenant: Tenant):
    unknown_id = "3c7e9a1f-8b2d-4f6e-a0c5-7d1e9b3f5a26"
    for method, suffix in (("GET", ""), ("DELETE", ""), ("POST", "/rotate-secret"), ("GET", "/deliveries")):
        malformed = api.call(method, f"{WEBHOOKS}/NOT-A-UUID{suffix}", token=tenant.token)
        assert_error(malformed, 400, "INVALID_PARAMETER", field="webhookId")
        unknown = api.call(method, f"{WEBHOOKS}/{unknown_id}{suffix}", token=tenant.token)
        assert_error(unknown, 404, "WEBHOOK_NOT_FOUND")


def test_delete_honours_if_match(api: Api, stack: Stack, tenant: Tenant):
    # Given a webhook and its ETag, then a rotation that changes it
    webhook = create_webhook(api, tenant, "http://127.0.0.1:8999/h")
    path = f"{WEBHOOKS}/{webhook['webhookId']}"
    stale = api.call("GET", path, token=tenant.token).header("ETag")
    rotated = api.call("POST", f"{path}/rotate-secret", token=tenant.token)
    assert rotated.status == 200, rotated.text

    # When it is deleted with the stale ETag, then with the current one
    refused = api.call("DELETE", path, token=tenant.token, headers={"If-Match": stale or ""})
    still = stored_webhook(stack, tenant.partner_id, webhook["webhookId"])
    accepted = api.call(
        "DELETE", path, token=tenant.token, headers={"If-Match": rotated.header("ETag") or ""}
    )

    # Then the stale one fails (and changes nothing), the current one deletes
    assert_error(refused, 412, "PRECONDITION_FAILED")
    assert still is not None and still["status"] == "active"
    assert_success(accepted, 200, "Webhook deleted successfully.")
    assert len(Stored(stack).events(tenant.partner_id, "webhook.deleted")) == 1


# --- rotate-secret ---------------------------------------------------------------------------------------


def test_rotate_secret_issues_a_new_secret_and_keeps_the_old_one_a_day(
    api: Api, stack: Stack, tenant: Tenant
):
    # Given a webhook and its ETag
    webhook = create_webhook(api, tenant, "http://127.0.0.1:8999/h")
    path = f"{WEBHOOKS}/{webhook['webhookId']}"
    etag = api.call("GET", path, token=tenant.token).header("ETag")

    # When its secret is rotated (with the current ETag)
    moment = datetime.now(UTC)
    reply = api.call("POST", f"{path}/rotate-secret", token=tenant.token, headers={"If-Match": etag or ""})

    # Then a new secret is shown once, with when the old one stops verifying (in 24 hours)
    data = assert_success(reply, 200, "Webhook secret rotated successfully.")
    assert SECRET_RE.match(data["secret"]) and data["secret"] != webhook["secret"]
    expires = datetime.strptime(data["previousSecretExpiresAt"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert timedelta(hours=23, minutes=59) < expires - moment < timedelta(hours=24, minutes=1)
    assert {k: data[k] for k in ("webhookId", "url", "events", "createdAt")} == {
        k: webhook[k] for k in ("webhookId", "url", "events", "createdAt")
    }
    # And the ETag moved: the old one no longer matches
    assert ETAG_RE.match(reply.header("ETag") or "") and reply.header("ETag") != etag
    got = api.call("GET", path, token=tenant.token)
    assert got.header("ETag") == reply.header("ETag")
    assert assert_success(got, 200, "Webhook retrieved successfully.") == shown(data)
    again = api.call("POST", f"{path}/rotate-secret", token=tenant.token, headers={"If-Match": etag or ""})
    assert_error(again, 412, "PRECONDITION_FAILED")

    # And the store holds both secrets sealed, neither in plain text; no secret is in any event
    item = stored_webhook(stack, tenant.partner_id, webhook["webhookId"])
    assert item is not None
    assert unseal(item["secretSealed"]) == data["secret"]
    assert unseal(item["previousSecretSealed"]) == webhook["secret"]
    everything = json.dumps(Stored(stack).snapshot(tenant.partner_id))
    assert data["secret"] not in everything and webhook["secret"] not in everything
    assert "whsec_" not in json.dumps(Stored(stack).events(tenant.partner_id))


def test_after_a_rotation_deliveries_verify_with_the_new_and_the_old_secret(
    api: Api, tenant: Tenant, receiver: Receiver, pump: Pump
):
    # Given a webhook whose secret was rotated
    webhook = create_webhook(api, tenant, receiver.url)
    rotated = api.call("POST", f"{WEBHOOKS}/{webhook['webhookId']}/rotate-secret", token=tenant.token)
    new_secret = assert_success(rotated, 200, "Webhook secret rotated successfully.")["secret"]

    # When an event is delivered
    client = register(api, tenant, "rotated@example.com")
    remove(api, tenant, client["clientId"])
    pump()

    # Then a receiver holding either secret accepts it, and one holding another secret does not
    [request] = receiver.requests
    assert verify(new_secret, request)["data"]["resource"]["id"] == client["clientId"]
    assert verify(webhook["secret"], request)["type"] == "client.removed"
    assert signature_fails("whsec_" + base64.b64encode(b"x" * 24).decode(), request)


# --- deliveries -----------------------------------------------------------------------------------------


def test_delivery_is_a_signed_standard_webhooks_post(
    api: Api, stack: Stack, tenant: Tenant, receiver: Receiver, pump: Pump
):
    # Given a webhook at the receiver that hears client.removed (the default)
    webhook = create_webhook(api, tenant, receiver.url)
    client = register(api, tenant, "signed@example.com")
    pump()
    assert receiver.requests == []  # it does not hear client.registered

    # When the client is removed and the pipeline runs
    remove(api, tenant, client["clientId"])
    pump()

    # Then the receiver gets one POST, signed with the webhook's secret, carrying the event
    [request] = receiver.requests
    event = get_event(api, tenant, only_event(stack, tenant, "client.removed", client["clientId"])["eventId"])
    assert request.path == "/hooks/partner-api"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == event["eventId"]
    assert re.match(r"^\d{10}$", request.headers["webhook-timestamp"])
    assert re.match(r"^v1,[A-Za-z0-9+/]+=*$", request.headers["webhook-signature"])
    assert verify(webhook["secret"], request) == {
        "type": "client.removed",
        "timestamp": event["occurredAt"],
        "data": event,
    }
    assert webhook["secret"] not in request.body.decode()


def test_deliveries_list_each_event_with_its_attempts(
    api: Api, stack: Stack, tenant: Tenant, receiver: Receiver, pump: Pump
):
    # Given a webhook that heard one event the receiver accepted, and one it kept refusing
    webhook = create_webhook(api, tenant, receiver.url, events=["client.registered", "client.removed"])
    client = register(api, tenant, "attempts@example.com")
    pump()
    receiver.status = 500
    remove(api, tenant, client["clientId"])
    pump()
    registered = only_event(stack, tenant, "client.registered", client["clientId"])
    removed = only_event(stack, tenant, "client.removed", client["clientId"])

    # When its deliveries are listed
    reply = api.call("GET", f"{WEBHOOKS}/{webhook['webhookId']}/deliveries", token=tenant.token)

    # Then each event shows once, newest first, with every attempt: time, status code, duration, error
    data = assert_success(reply, 200, "Deliveries retrieved successfully.")
    assert data["pagination"] == {"limit": 20, "offset": 0, "total": 2, "hasMore": False}
    failed, succeeded = data["deliveries"]
    for delivery in (failed, succeeded):
        assert set(delivery) == {"eventId", "eventType", "status", "attempts", "createdAt", "updatedAt"}
        assert ISO_RE.match(delivery["createdAt"]) and ISO_RE.match(delivery["updatedAt"])
        for attempt in delivery["attempts"]:
            assert set(attempt) == {"attemptedAt", "statusCode", "durationMs", "error"}
            assert ISO_RE.match(attempt["attemptedAt"])
            assert isinstance(attempt["durationMs"], int) and attempt["durationMs"] >= 0
    assert (succeeded["eventId"], succeeded["eventType"], succeeded["status"]) == (
        registered["eventId"],
        "client.registered",
        "succeeded",
    )
    assert [(a["statusCode"], a["error"]) for a in succeeded["attempts"]] == [(204, None)]
    assert (failed["eventId"], failed["eventType"], failed["status"]) == (
        removed["eventId"],
        "client.removed",
        "failed",
    )
    assert [(a["statusCode"], a["error"]) for a in failed["attempts"]] == [(500, "HTTP 500")] * (1 + RETRIES)

    # And the receiver saw exactly those attempts, all of the same message, and the last went to
    # the dead-letter queue
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert ids == [registered["eventId"]] + [removed["eventId"]] * (1 + RETRIES)
    assert queue_depth(stack, "WebhookDeliveryDeadLetterQueue") == 1
    stored = {d["eventId"]: d for d in stored_deliveries(stack, tenant.partner_id, webhook["webhookId"])}
    assert stored[removed["eventId"]]["attempts"] == failed["attempts"]


def test_a_webhook_hears_only_its_own_tenants_events(
    api: Api, tenant: Tenant, other_tenant: Tenant, receiver: Receiver, pump: Pump
):
    # Given a webhook of each tenant, at two paths of one receiver
    create_webhook(api, tenant, f"{receiver.base}/mine")
    create_webhook(api, other_tenant, f"{receiver.base}/theirs")

    # When a client of the first tenant is removed
    client = register(api, tenant, "mine@example.com")
    remove(api, tenant, client["clientId"])
    pump()

    # Then only the first tenant's webhook is called
    assert [r.path for r in receiver.requests] == ["/mine"]


def test_a_deleted_webhook_is_not_called(
    api: Api, stack: Stack, tenant: Tenant, receiver: Receiver, pump: Pump
):
    webhook = create_webhook(api, tenant, receiver.url)
    client = register(api, tenant, "late@example.com")
    remove(api, tenant, client["clientId"])
    assert api.call("DELETE", f"{WEBHOOKS}/{webhook['webhookId']}", token=tenant.token).status == 200
    pump()
    assert receiver.requests == []
    assert queue_depth(stack, "WebhookDeliveryQueue") == 0


def test_a_webhook_deleted_while_its_delivery_waits_is_not_called(
    api: Api, stack: Stack, tenant: Tenant, receiver: Receiver, pump: Pump
):
    # Given a delivery already queued for a webhook
    webhook = create_webhook(api, tenant, receiver.url)
    client = register(api, tenant, "queued@example.com")
    remove(api, tenant, client["clientId"])
    pipeline(stack, ["PublishEventsFunction", "FanOutWebhooksFunction"])()
    assert queue_depth(stack, "WebhookDeliveryQueue") == 1

    # When the webhook is deleted before the delivery runs
    assert api.call("DELETE", f"{WEBHOOKS}/{webhook['webhookId']}", token=tenant.token).status == 200
    pump()

    # Then nothing is sent, and the message is done with (not retried or dead-lettered)
    assert receiver.requests == []
    assert queue_depth(stack, "WebhookDeliveryQueue") == 0
    assert queue_depth(stack, "WebhookDeliveryDeadLetterQueue") == 0


# --- audit events ---------------------------------------------------------------------------------------


def test_webhook_created_and_deleted_are_audit_events_without_secrets(api: Api, stack: Stack, tenant: Tenant):
    # Given a webhook created and deleted with request ids
    created = api.call(
        "POST",
        WEBHOOKS,
        token=tenant.token,
        json_body={"url": "http://127.0.0.1:8999/h", "description": "audit me"},
        headers={"x-request-id": "req-webhook-create-1"},
    )
    webhook = assert_success(created, 201, "Webhook created successfully.")
    deleted = api.call(
        "DELETE",
        f"{WEBHOOKS}/{webhook['webhookId']}",
        token=tenant.token,
        headers={"x-request-id": "req-webhook-delete-1"},
    )
    assert_success(deleted, 200, "Webhook deleted successfully.")

    # When the tenant reads its events about the webhook
    reply = api.call(
        "GET", "/partner/v1/events", token=tenant.token, query={"resourceId": webhook["webhookId"]}
    )

    # Then there are webhook.deleted and webhook.created, with their changes, actor and request ids
    events = assert_success(reply, 200, "Events retrieved successfully.")["events"]
    assert [e["type"] for e in events] == ["webhook.deleted", "webhook.created"]
    actor = {"type": "partner", "clientId": tenant.credential.client_id, "partnerId": tenant.partner_id}
    for event, request_id in zip(events, ["req-webhook-delete-1", "req-webhook-create-1"], strict=True):
        assert event["resource"] == {"type": "webhook", "id": webhook["webhookId"]}
        assert (event["partnerId"], event["actor"], event["requestId"]) == (
            tenant.partner_id,
            actor,
            request_id,
        )
    assert events[1]["changes"] == {
        "url": {"from": None, "to": "http://127.0.0.1:8999/h"},
        "events": {"from": None, "to": ["client.removed"]},
        "description": {"from": None, "to": "audit me"},
        "status": {"from": None, "to": "active"},
    }
    assert events[0]["changes"] == {"status": {"from": "active", "to": "deleted"}}

    # And no secret, sealed or not, is in the events as shown or as stored
    stored = json.dumps(Stored(stack).events(tenant.partner_id, resource_id=webhook["webhookId"]))
    for text in (reply.text, stored):
        assert webhook["secret"] not in text and "whsec_" not in text and "ecretSealed" not in text
    assert len(json.loads(stored)) == 2


# --- isolation and scopes ---------------------------------------------------------------------------------


def test_another_tenant_cannot_see_or_touch_a_webhook(
    api: Api, stack: Stack, tenant: Tenant, other_tenant: Tenant
):
    # Given a webhook of the tenant, and its stored state
    webhook = create_webhook(api, tenant, "http://127.0.0.1:8999/h")
    path = f"{WEBHOOKS}/{webhook['webhookId']}"
    before = Stored(stack).snapshot(tenant.partner_id)

    # When another tenant tries every webhook route on it
    replies = [
        api.call("GET", path, token=other_tenant.token),
        api.call("DELETE", path, token=other_tenant.token),
        api.call("POST", f"{path}/rotate-secret", token=other_tenant.token),
        api.call("GET", f"{path}/deliveries", token=other_tenant.token),
    ]

    # Then it is as if the webhook did not exist, and nothing changed
    for reply in replies:
        assert_error(reply, 404, "WEBHOOK_NOT_FOUND")
        assert webhook["secret"] not in reply.text
    assert list_webhooks(api, other_tenant) == {
        "webhooks": [],
        "pagination": {"limit": 20, "offset": 0, "total": 0, "hasMore": False},
    }
    assert Stored(stack).snapshot(tenant.partner_id) == before


def test_webhooks_read_scope_reads_but_cannot_write(api: Api, stack: Stack, tenant: Tenant):
    # Given a webhook, and a token with webhooks:read only
    webhook = create_webhook(api, tenant, "http://127.0.0.1:8999/h")
    path = f"{WEBHOOKS}/{webhook['webhookId']}"
    reader = Tenant(
        tenant.partner_id, tenant.credential, token_for(api, tenant.credential, "webhooks:read"), {}
    )
    before = Stored(stack).snapshot(tenant.partner_id)

    # When it reads and tries to write
    listed = api.call("GET", WEBHOOKS, token=reader.token)
    got = api.call("GET", path, token=reader.token)
    deliveries = api.call("GET", f"{path}/deliveries", token=reader.token)
    writes = [
        api.call("POST", WEBHOOKS, token=reader.token, json_body={"url": "http://127.0.0.1:8999/x"}),
        api.call("DELETE", path, token=reader.token),
        api.call("POST", f"{path}/rotate-secret", token=reader.token),
    ]

    # Then reading works, every write is a 403 MISSING_SCOPES, and nothing changed
    assert assert_success(listed, 200, "Webhooks retrieved successfully.")["webhooks"] == [shown(webhook)]
    assert assert_success(got, 200, "Webhook retrieved successfully.") == shown(webhook)
    assert assert_success(deliveries, 200, "Deliveries retrieved successfully.")["deliveries"] == []
    for reply in writes:
        assert_error(reply, 403, "MISSING_SCOPES")
    assert Stored(stack).snapshot(tenant.partner_id) == before


def test_webhook_routes_need_a_webhooks_scope(api: Api, tenant: Tenant):
    # Given a token with every scope but the webhooks ones
    others = "clients:read clients:write events:read"
    token = token_for(api, tenant.credential, others)

    # Then neither reading nor writing webhooks is allowed; webhooks:write alone also reads
    assert_error(api.call("GET", WEBHOOKS, token=token), 403, "MISSING_SCOPES")
    assert_error(
        api.call("POST", WEBHOOKS, token=token, json_body={"url": "http://127.0.0.1:8999/x"}),
        403,
        "MISSING_SCOPES",
    )
    writer = token_for(api, tenant.credential, "webhooks:write")
    created = api.call("POST", WEBHOOKS, token=writer, json_body={"url": "http://127.0.0.1:8999/x"})
    webhook = assert_success(created, 201, "Webhook created successfully.")
    listed = assert_success(api.call("GET", WEBHOOKS, token=writer), 200, "Webhooks retrieved successfully.")
    assert listed["webhooks"] == [shown(webhook)]


def test_webhook_routes_need_a_token(api: Api):
    reply = api.call("GET", WEBHOOKS)
    assert_error(reply, 401, "NO_AUTHORIZATION_HEADER")
