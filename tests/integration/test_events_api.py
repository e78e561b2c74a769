"""The audit trail (API.md section 8): list and read events, and redeliver one to webhooks."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from local.stack import Stack
from tests.conftest import Tenant, token_for
from tests.integration.test_webhooks_api import Pump, Receiver, create_webhook, pipeline, queue_depth, verify
from tests.support.apigw import Api
from tests.support.clients import Stored, assert_error, assert_success, patch, register, remove

EVENTS = "/partner/v1/events"
EVENT_ID_RE = re.compile(r"^evt_[0-9abcdefghjkmnpqrstvwxyz]{26}$")
ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
EVENT_KEYS = {"eventId", "type", "occurredAt", "partnerId", "actor", "resource", "changes", "requestId"}
UNKNOWN_EVENT_ID = "evt_01k6dj9vx44t7m2q9v3x5z8b1c"  # well formed, never issued here


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


@pytest.fixture
def pump(stack: Stack) -> Pump:
    return pipeline(stack)


def list_events(api: Api, tenant: Tenant, **query: str) -> Any:
    reply = api.call("GET", EVENTS, token=tenant.token, query=query or None)
    return assert_success(reply, 200, "Events retrieved successfully.")


def public(item: dict[str, Any]) -> dict[str, Any]:
    """A stored event row as the API should show it (read independently of the code under test)."""
    return {k: item[k] for k in EVENT_KEYS if item.get(k) is not None}


def stored_newest_first(stack: Stack, tenant: Tenant, **filters: Any) -> list[dict[str, Any]]:
    rows = Stored(stack).events(tenant.partner_id, **filters)
    return [public(r) for r in sorted(rows, key=lambda r: r["eventId"], reverse=True)]


def call(api: Api, tenant: Tenant, method: str, path: str, request_id: str, **kwargs: Any) -> Any:
    reply = api.call(method, path, token=tenant.token, headers={"x-request-id": request_id}, **kwargs)
    assert 200 <= reply.status < 300, reply.text
    return reply.body["data"]


@dataclass
class History:
    """Changes made through the API, each with its own x-request-id."""

    alice: dict[str, Any]
    bob: dict[str, Any]
    carol: dict[str, Any]
    alice_removed: dict[str, Any]  # the DELETE reply's data


@pytest.fixture
def history(api: Api, tenant: Tenant) -> History:
    clients = "/partner/v1/clients"
    alice = call(
        api, tenant, "POST", clients, "req-alice-1", json_body={"name": "Alice", "email": "alice@example.com"}
    )
    bob = call(
        api, tenant, "POST", clients, "req-bob-1", json_body={"name": "Bob", "email": "bob@example.com"}
    )
    call(api, tenant, "PATCH", f"{clients}/{alice['clientId']}", "req-alice-2", json_body={"title": "CFO"})
    carol = call(
        api, tenant, "POST", clients, "req-carol-1", json_body={"name": "Carol", "email": "carol@example.com"}
    )
    removed = call(api, tenant, "DELETE", f"{clients}/{alice['clientId']}", "req-alice-3")
    return History(alice, bob, carol, removed)


# --- list ---------------------------------------------------------------------------------------------


def test_list_is_newest_first_with_every_event_of_the_tenant(
    api: Api, stack: Stack, tenant: Tenant, history: History
):
    # When the tenant lists its events
    data = list_events(api, tenant)

    # Then they are exactly the stored events of the tenant, newest first, as the API shows them
    expected = stored_newest_first(stack, tenant)
    assert data["events"] == expected
    assert data["pagination"] == {"limit": 20, "offset": 0, "total": len(expected), "hasMore": False}
    client_events = [
        (e["type"], e["resource"]["id"]) for e in data["events"] if e["type"].startswith("client.")
    ]
    alice, bob, carol = (c["clientId"] for c in (history.alice, history.bob, history.carol))
    assert client_events == [
        ("client.removed", alice),
        ("client.registered", carol),
        ("client.updated", alice),
        ("client.registered", bob),
        ("client.registered", alice),
    ]
    occurred = [e["occurredAt"] for e in data["events"]]
    assert occurred == sorted(occurred, reverse=True)


def test_each_event_has_the_documented_shape(api: Api, tenant: Tenant, history: History):
    # When the events of the tenant's clients are listed
    events = [e for e in list_events(api, tenant)["events"] if e["type"].startswith("client.")]

    # Then each has an evt_ id, a type, a time, the partner, the actor, the resource, the changes
    # and the x-request-id of the request that made the change
    actor = {"type": "partner", "clientId": tenant.credential.client_id, "partnerId": tenant.partner_id}
    for event in events:
        assert set(event) == EVENT_KEYS, event
        assert EVENT_ID_RE.match(event["eventId"]) and ISO_RE.match(event["occurredAt"])
        assert (event["partnerId"], event["actor"], event["resource"]["type"]) == (
            tenant.partner_id,
            actor,
            "client",
        )
    by_request = {e["requestId"]: e for e in events}
    assert set(by_request) == {"req-alice-1", "req-bob-1", "req-alice-2", "req-carol-1", "req-alice-3"}
    assert by_request["req-alice-2"]["changes"] == {"title": {"from": None, "to": "CFO"}}
    assert by_request["req-alice-3"]["changes"] == {"status": {"from": "active", "to": "deleted"}}
    assert by_request["req-alice-3"]["occurredAt"] == history.alice_removed["removedAt"]
    registered = by_request["req-bob-1"]
    assert registered["changes"]["email"] == {"from": None, "to": "bob@example.com"}
    assert registered["changes"]["status"] == {"from": None, "to": "active"}
    assert registered["occurredAt"] == history.bob["registeredAt"]


def test_without_x_request_id_the_event_carries_the_request_id_the_server_made(api: Api, tenant: Tenant):
    reply = api.call(
        "POST",
        "/partner/v1/clients",
        token=tenant.token,
        json_body={"name": "Dan", "email": "dan@example.com"},
    )
    assert reply.status == 201, reply.text
    [event] = list_events(api, tenant, resourceId=reply.body["data"]["clientId"])["events"]
    assert event["requestId"] == reply.header("x-request-id")


def test_a_cursor_walk_visits_every_event_once_and_offset_slices(
    api: Api, stack: Stack, tenant: Tenant, history: History
):
    # Given the full list
    everything = list_events(api, tenant, limit="100")["events"]
    assert len(everything) >= 7

    # When it is walked two at a time by cursor
    walked: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = list_events(api, tenant, limit="2", **({"cursor": cursor} if cursor else {}))
        walked += page["events"]
        assert page["pagination"]["total"] == len(everything)
        assert page["pagination"]["hasMore"] is ("nextCursor" in page["pagination"])
        cursor = page["pagination"].get("nextCursor")
        if not cursor:
            break

    # Then it visits each event once, in order; and an offset reads the same slice
    assert walked == everything
    sliced = list_events(api, tenant, limit="3", offset="2")
    assert sliced["events"] == everything[2:5]
    assert sliced["pagination"]["offset"] == 2 and sliced["pagination"]["hasMore"] is True

    # And a cursor is bound to its filters: used with others, or tampered with, it is refused
    cursor = list_events(api, tenant, limit="2")["pagination"]["nextCursor"]
    for query in (
        {"cursor": cursor, "type": "client.registered"},
        {"cursor": cursor, "resourceId": history.bob["clientId"]},
        {"cursor": cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")},
    ):
        reply = api.call("GET", EVENTS, token=tenant.token, query={"limit": "2", **query})
        assert_error(reply, 400, "INVALID_PARAMETER", field="cursor")


def test_type_filter(api: Api, stack: Stack, tenant: Tenant, history: History):
    data = list_events(api, tenant, type="client.registered")
    expected = stored_newest_first(stack, tenant, event_type="client.registered")
    assert [e["resource"]["id"] for e in data["events"]] == [
        history.carol["clientId"],
        history.bob["clientId"],
        history.alice["clientId"],
    ]
    assert data["events"] == expected
    assert data["pagination"]["total"] == 3


def test_resource_id_filter_gives_one_clients_history(
    api: Api, stack: Stack, tenant: Tenant, history: History
):
    # When the events of Alice are listed
    data = list_events(api, tenant, resourceId=history.alice["clientId"])

    # Then they are hers only: removed, updated, registered
    assert [e["type"] for e in data["events"]] == ["client.removed", "client.updated", "client.registered"]
    assert data["events"] == stored_newest_first(stack, tenant, resource_id=history.alice["clientId"])
    assert data["pagination"] == {"limit": 20, "offset": 0, "total": 3, "hasMore": False}

    # And combined with a type, and paged
    only = list_events(api, tenant, resourceId=history.alice["clientId"], type="client.updated")
    assert [e["requestId"] for e in only["events"]] == ["req-alice-2"]
    first = list_events(api, tenant, resourceId=history.alice["clientId"], limit="2")
    rest = list_events(
        api, tenant, resourceId=history.alice["clientId"], limit="2", cursor=first["pagination"]["nextCursor"]
    )
    assert first["events"] + rest["events"] == data["events"]
    assert list_events(api, tenant, resourceId="no-such-resource")["events"] == []


class Clock:
    """The API's clock (``partner_api.ids``: event times and ids), standing still until moved."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def time(self) -> float:
        return self.moment.timestamp()

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    from partner_api import ids

    found = Clock(datetime.now(UTC).replace(microsecond=250_000) + timedelta(minutes=1))

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return found.moment.astimezone(tz) if tz else found.moment.replace(tzinfo=None)

    monkeypatch.setattr(ids, "time", SimpleNamespace(time=found.time))
    monkeypatch.setattr(ids, "datetime", Frozen)
    return found


def test_since_and_until_bound_by_occurred_at(api: Api, tenant: Tenant, clock: Clock):
    # Given five client events a second apart
    start = clock.moment
    alice = register(api, tenant, "alice@example.com")
    clock.advance(1)
    bob = register(api, tenant, "bob@example.com")
    clock.advance(1)
    assert patch(api, tenant, alice["clientId"], {"title": "CFO"}).status == 200
    clock.advance(1)
    register(api, tenant, "carol@example.com")
    clock.advance(1)
    remove(api, tenant, alice["clientId"])
    times = [start + timedelta(seconds=n) for n in range(5)]
    events = list_events(api, tenant, limit="100")["events"]
    clients = [e for e in events if e["type"].startswith("client.")]
    assert [e["occurredAt"] for e in reversed(clients)] == [
        t.strftime("%Y-%m-%dT%H:%M:%S.250Z") for t in times
    ]
    since, until = clients[3]["occurredAt"], clients[1]["occurredAt"]  # Bob's registration .. Carol's

    # When they are listed between two of their times
    data = list_events(api, tenant, since=since, until=until)

    # Then exactly the events at and between the bounds are listed, newest first
    assert [e["type"] for e in data["events"]] == ["client.registered", "client.updated", "client.registered"]
    assert data["events"] == clients[1:4]
    assert data["events"][-1]["resource"]["id"] == bob["clientId"]
    assert data["pagination"] == {"limit": 20, "offset": 0, "total": 3, "hasMore": False}
    # And each bound alone
    assert list_events(api, tenant, since=since, limit="100")["events"] == clients[:4]
    assert list_events(api, tenant, until=until, limit="100")["events"] == [
        e for e in events if e["occurredAt"] <= until
    ]
    assert list_events(api, tenant, until=until, limit="100")["events"][:4] == clients[1:]


@pytest.fixture
def slow_kms(monkeypatch: pytest.MonkeyPatch) -> None:
    """KMS takes milliseconds to seal a webhook secret, as it does in AWS (moto answers in ~1 ms)."""
    from partner_api.store import sealed

    real = sealed.seal

    def seal(plaintext: str) -> str:
        time.sleep(0.005)
        return real(plaintext)

    monkeypatch.setattr(sealed, "seal", seal)


def test_until_an_events_own_time_includes_it(api: Api, tenant: Tenant, slow_kms: None):
    # Given a webhook.created event (its change sealed a secret with KMS)
    webhook = create_webhook(api, tenant, "http://127.0.0.1:8999/h")
    [created] = list_events(api, tenant, resourceId=webhook["webhookId"])["events"]

    # When the events until that event's occurredAt are listed
    listed = list_events(api, tenant, until=created["occurredAt"], limit="100")["events"]

    # Then the event is among them
    assert created["eventId"] in [e["eventId"] for e in listed], (created, listed)


def test_since_after_an_events_time_excludes_it(api: Api, tenant: Tenant, slow_kms: None):
    # Given a webhook.created event
    webhook = create_webhook(api, tenant, "http://127.0.0.1:8999/h")
    [created] = list_events(api, tenant, resourceId=webhook["webhookId"])["events"]
    moment = datetime.strptime(created["occurredAt"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    since = (moment + timedelta(milliseconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    # When the events since a millisecond after it are listed
    listed = list_events(api, tenant, since=since, limit="100")["events"]

    # Then it is not among them
    assert [e for e in listed if e["occurredAt"] < since] == []


def test_since_and_until_accept_offsets_and_exclude_everything_outside(
    api: Api, tenant: Tenant, history: History
):
    events = list_events(api, tenant, limit="100")["events"]
    newest = datetime.strptime(events[0]["occurredAt"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    later = (newest + timedelta(seconds=1)).astimezone().isoformat()
    assert list_events(api, tenant, since=later)["events"] == []
    assert list_events(api, tenant, since=later)["pagination"]["total"] == 0
    # A second after the newest event, written as the same instant in UTC+02:00 and in UTC-05:00
    in_paris = (newest + timedelta(hours=2, seconds=1)).strftime("%Y-%m-%dT%H:%M:%S") + "+02:00"
    in_new_york = (newest - timedelta(hours=5, seconds=-1)).strftime("%Y-%m-%dT%H:%M:%S") + "-05:00"
    assert list_events(api, tenant, until=in_paris, limit="100")["events"] == events
    assert list_events(api, tenant, since=in_new_york)["events"] == []
    an_hour_early = (newest + timedelta(hours=1, seconds=1)).strftime("%Y-%m-%dT%H:%M:%S") + "+02:00"
    assert list_events(api, tenant, since=an_hour_early, limit="100")["events"] == events


@pytest.mark.parametrize(
    "query",
    [
        {"since": "yesterday"},
        {"until": "2025-13-40T00:00:00Z"},
        {"type": "client.exploded"},
        {"limit": "0"},
        {"limit": "101"},
        {"offset": "-1"},
        {"cursor": "forged"},
        {"colour": "blue"},
    ],
    ids=lambda q: "-".join(f"{k}={v}" for k, v in q.items()),
)
def test_invalid_query_parameters_are_400(api: Api, tenant: Tenant, query: dict[str, str]):
    reply = api.call("GET", EVENTS, token=tenant.token, query=query)
    assert_error(reply, 400, "INVALID_PARAMETER", field=next(iter(query)))


# --- one event ---------------------------------------------------------------------------------------


def test_get_one_event(api: Api, stack: Stack, tenant: Tenant, history: History):
    # Given one of the listed events
    listed = list_events(api, tenant)["events"][2]

    # When it is read by id
    reply = api.call("GET", f"{EVENTS}/{listed['eventId']}", token=tenant.token)

    # Then it is that event, as listed and as stored
    assert assert_success(reply, 200, "Event retrieved successfully.") == listed
    [row] = [r for r in Stored(stack).events(tenant.partner_id) if r["eventId"] == listed["eventId"]]
    assert public(row) == listed


def test_an_unknown_event_is_404_and_a_malformed_id_400(api: Api, tenant: Tenant, history: History):
    assert_error(api.call("GET", f"{EVENTS}/{UNKNOWN_EVENT_ID}", token=tenant.token), 404, "EVENT_NOT_FOUND")
    for malformed in (
        "evt_123",
        UNKNOWN_EVENT_ID.upper(),
        "evt_" + "u" * 26,  # not Crockford base32
        "3c7e9a1f-8b2d-4f6e-a0c5-7d1e9b3f5a26",
    ):
        reply = api.call("GET", f"{EVENTS}/{malformed}", token=tenant.token)
        assert_error(reply, 400, "INVALID_PARAMETER", field="eventId")
        reply = api.call("POST", f"{EVENTS}/{malformed}/redeliver", token=tenant.token)
        assert_error(reply, 400, "INVALID_PARAMETER", field="eventId")


# --- isolation and scopes ----------------------------------------------------------------------------


def test_another_tenant_sees_none_of_the_events(
    api: Api, stack: Stack, tenant: Tenant, other_tenant: Tenant, history: History
):
    # Given an event of the tenant
    event_id = list_events(api, tenant)["events"][0]["eventId"]

    # When another tenant lists, reads and redelivers
    theirs = list_events(api, other_tenant, limit="100")
    got = api.call("GET", f"{EVENTS}/{event_id}", token=other_tenant.token)
    redelivered = api.call("POST", f"{EVENTS}/{event_id}/redeliver", token=other_tenant.token)
    by_resource = list_events(api, other_tenant, resourceId=history.alice["clientId"])

    # Then it sees only its own events, and the tenant's are as if missing
    assert theirs["events"] == stored_newest_first(stack, other_tenant)
    assert event_id not in json.dumps(theirs)
    assert all(e["partnerId"] == other_tenant.partner_id for e in theirs["events"])
    assert_error(got, 404, "EVENT_NOT_FOUND")
    assert_error(redelivered, 404, "EVENT_NOT_FOUND")
    assert by_resource["events"] == [] and by_resource["pagination"]["total"] == 0


def test_listing_needs_events_read(api: Api, tenant: Tenant, history: History):
    event_id = list_events(api, tenant)["events"][0]["eventId"]
    reader = token_for(api, tenant.credential, "events:read")
    other = token_for(api, tenant.credential, "clients:read clients:write webhooks:read webhooks:write")

    assert api.call("GET", EVENTS, token=reader).status == 200
    assert api.call("GET", f"{EVENTS}/{event_id}", token=reader).status == 200
    assert_error(api.call("GET", EVENTS, token=other), 403, "MISSING_SCOPES")
    assert_error(api.call("GET", f"{EVENTS}/{event_id}", token=other), 403, "MISSING_SCOPES")
    assert_error(api.call("GET", EVENTS), 401, "NO_AUTHORIZATION_HEADER")


def test_redelivery_needs_webhooks_write(api: Api, stack: Stack, tenant: Tenant, history: History):
    event_id = list_events(api, tenant)["events"][0]["eventId"]
    reader = token_for(api, tenant.credential, "events:read webhooks:read")
    reply = api.call("POST", f"{EVENTS}/{event_id}/redeliver", token=reader)
    assert_error(reply, 403, "MISSING_SCOPES")
    assert queue_depth(stack, "WebhookDeliveryQueue") == 0


# --- redeliver ---------------------------------------------------------------------------------------


def test_redeliver_sends_the_event_again_with_the_same_webhook_id(
    api: Api, stack: Stack, tenant: Tenant, receiver: Receiver, pump: Pump
):
    # Given a webhook that already received a client.removed event
    webhook = create_webhook(api, tenant, receiver.url)
    client = register(api, tenant, "again@example.com")
    remove(api, tenant, client["clientId"])
    pump()
    [first] = receiver.requests
    [event] = list_events(api, tenant, type="client.removed")["events"]
    assert first.headers["webhook-id"] == event["eventId"]

    # When the event is redelivered
    reply = api.call("POST", f"{EVENTS}/{event['eventId']}/redeliver", token=tenant.token)

    # Then it is accepted for the webhook, and after the pipeline runs the receiver has it again,
    # with the same webhook-id (receivers deduplicate on it) and the same event
    data = assert_success(reply, 202, "Event queued for redelivery.")
    assert data == {"eventId": event["eventId"], "webhookIds": [webhook["webhookId"]]}
    pump()
    assert len(receiver.requests) == 2
    second = receiver.requests[1]
    assert second.headers["webhook-id"] == first.headers["webhook-id"] == event["eventId"]
    assert verify(webhook["secret"], second) == verify(webhook["secret"], first)
    assert verify(webhook["secret"], second)["data"] == event

    # And the delivery shows both attempts, succeeded
    deliveries = api.call(
        "GET", f"/partner/v1/webhooks/{webhook['webhookId']}/deliveries", token=tenant.token
    )
    [delivery] = assert_success(deliveries, 200, "Deliveries retrieved successfully.")["deliveries"]
    assert (delivery["eventId"], delivery["status"]) == (event["eventId"], "succeeded")
    assert [a["statusCode"] for a in delivery["attempts"]] == [204, 204]
    assert queue_depth(stack, "WebhookDeliveryQueue") == 0


def test_redeliver_goes_only_to_webhooks_that_hear_the_event(
    api: Api, tenant: Tenant, receiver: Receiver, pump: Pump
):
    # Given webhooks hearing client.removed (two, one deleted since) and one hearing only registrations
    hears = create_webhook(api, tenant, f"{receiver.base}/hears", events=["client.removed"])
    gone = create_webhook(api, tenant, f"{receiver.base}/gone", events=["client.removed"])
    create_webhook(api, tenant, f"{receiver.base}/other", events=["client.registered"])
    client = register(api, tenant, "selective@example.com")
    remove(api, tenant, client["clientId"])
    assert api.call("DELETE", f"/partner/v1/webhooks/{gone['webhookId']}", token=tenant.token).status == 200
    pump()
    receiver.requests.clear()
    [event] = list_events(api, tenant, type="client.removed")["events"]

    # When the removal is redelivered
    reply = api.call("POST", f"{EVENTS}/{event['eventId']}/redeliver", token=tenant.token)
    pump()

    # Then only the live webhook that hears client.removed gets it
    assert assert_success(reply, 202, "Event queued for redelivery.")["webhookIds"] == [hears["webhookId"]]
    assert [r.path for r in receiver.requests] == ["/hears"]


def test_redeliver_without_matching_webhooks_queues_nothing(
    api: Api, stack: Stack, tenant: Tenant, other_tenant: Tenant, receiver: Receiver, pump: Pump
):
    # Given a tenant without webhooks (another tenant has one that hears everything)
    create_webhook(api, other_tenant, receiver.url, events=["client.registered", "client.removed"])
    client = register(api, tenant, "lonely@example.com")
    pump()
    [event] = list_events(api, tenant, resourceId=client["clientId"])["events"]

    # When it redelivers one of its events
    reply = api.call("POST", f"{EVENTS}/{event['eventId']}/redeliver", token=tenant.token)

    # Then it is accepted for no webhook, and nothing is queued or sent
    assert assert_success(reply, 202, "Event queued for redelivery.") == {
        "eventId": event["eventId"],
        "webhookIds": [],
    }
    assert queue_depth(stack, "WebhookDeliveryQueue") == 0
    pump()
    assert receiver.requests == []


def test_redeliver_an_unknown_event_is_404(api: Api, stack: Stack, tenant: Tenant):
    reply = api.call("POST", f"{EVENTS}/{UNKNOWN_EVENT_ID}/redeliver", token=tenant.token)
    assert_error(reply, 404, "EVENT_NOT_FOUND")
    assert queue_depth(stack, "WebhookDeliveryQueue") == 0
