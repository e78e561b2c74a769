"""Webhooks over the real `make run` server: its background triggers carry a client removal from
the events table to a receiver on 127.0.0.1, signed per Standard Webhooks (API.md sections 8, 9)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from tests.e2e.conftest import LocalServer, assert_success, call, unique_email
from tests.support.receiver import Received, Receiver

DELIVERY_DEADLINE_SECONDS = 30.0  # generous: the triggers poll every ~0.2 s
QUIET_SECONDS = 1.5  # several poll cycles, to see that nothing more arrives


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def new_webhook(server: LocalServer, token: str) -> Iterator[Callable[..., dict[str, Any]]]:
    """Register webhooks of the demo partner; they are deleted afterwards, since the server is
    shared by the session."""
    created: list[str] = []

    def register(hook: Receiver, events: list[str] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"url": hook.url(), "description": "e2e"}
        if events is not None:
            body["events"] = events
        reply = call(server, "POST", "/partner/v1/webhooks", token, json=body)
        data: dict[str, Any] = assert_success(reply, 201, "Webhook created successfully.")
        assert data["events"] == (events or ["client.removed"]), data
        assert data["secret"].startswith("whsec_"), data
        created.append(data["webhookId"])
        return data

    yield register
    for webhook_id in created:
        call(server, "DELETE", f"/partner/v1/webhooks/{webhook_id}", token)


@pytest.fixture
def webhook(new_webhook: Callable[..., dict[str, Any]], hook: Receiver) -> dict[str, Any]:
    """A webhook of the demo partner to ``hook``, for client.removed (the default)."""
    return new_webhook(hook)


def deliveries_of(hook: Receiver, event_id: str) -> list[Received]:
    return [r for r in hook.received if r.headers.get("webhook-id") == event_id]


def wait_for_delivery(
    hook: Receiver, event_id: str, server: LocalServer, seconds: float = DELIVERY_DEADLINE_SECONDS
) -> Received:
    """Wait (up to the deadline) until the event's first delivery arrives."""
    deadline = time.monotonic() + seconds
    while not deliveries_of(hook, event_id) and time.monotonic() < deadline:
        hook.wait_for(len(hook.received) + 1, timeout=min(0.5, max(0.0, deadline - time.monotonic())))
    found = deliveries_of(hook, event_id)
    assert found, (
        f"no delivery of {event_id} within {seconds:.0f}s; received "
        f"{[r.headers.get('webhook-id') for r in hook.received]}\n{server.stderr()[-4000:]}"
    )
    return found[0]


def test_a_removed_client_is_delivered_once_signed_and_is_in_the_audit_trail(
    server: LocalServer, token: str, hook: Receiver, webhook: dict[str, Any]
) -> None:
    # Given a client of the demo partner, registered and then renamed
    email = unique_email("webhook")
    registered = assert_success(
        call(server, "POST", "/partner/v1/clients", token, json={"name": "Hook Target", "email": email}),
        201,
        "Client registered successfully.",
    )
    client_id = registered["clientId"]
    demo_partner_id = webhook["partnerId"]
    assert registered["partnerId"] == demo_partner_id
    assert_success(
        call(server, "PATCH", f"/partner/v1/clients/{client_id}", token, json={"name": "Hook Target 2"}),
        200,
        "Client updated successfully.",
    )

    # When it is removed
    reply = call(server, "DELETE", f"/partner/v1/clients/{client_id}", token)
    deleted_at = time.monotonic()
    removed = assert_success(reply, 200, "Client removed successfully.")
    delete_request_id = reply.headers["x-request-id"]

    # Then the audit trail lists its three events, newest first, with the demo credential as actor
    trail = assert_success(
        call(server, "GET", "/partner/v1/events", token, params={"resourceId": client_id}),
        200,
        "Events retrieved successfully.",
    )
    events = trail["events"]
    assert [e["type"] for e in events] == ["client.removed", "client.updated", "client.registered"], events
    assert [e["occurredAt"] for e in events] == sorted((e["occurredAt"] for e in events), reverse=True)
    actor = {"type": "partner", "clientId": server.demo_client_id, "partnerId": demo_partner_id}
    for event in events:
        assert event["eventId"].startswith("evt_"), event
        assert event["actor"] == actor, event
        assert event["partnerId"] == demo_partner_id, event
        assert event["resource"] == {"type": "client", "id": client_id}, event
    removal, update, registration = events
    assert removal["changes"] == {"status": {"from": "active", "to": "deleted"}}
    assert removal["occurredAt"] == removed["removedAt"]
    assert removal["requestId"] == delete_request_id
    assert update["changes"] == {"name": {"from": "Hook Target", "to": "Hook Target 2"}}
    assert registration["changes"]["email"] == {"from": None, "to": email}
    assert registration["changes"]["status"] == {"from": None, "to": "active"}

    # ... and exactly one signed delivery of the removal reaches the receiver
    delivery = wait_for_delivery(hook, removal["eventId"], server)
    delay = delivery.monotonic - deleted_at
    print(f"\nDELETE response -> webhook delivery: {delay * 1000:.0f} ms")
    body = Webhook(webhook["secret"]).verify(delivery.body, delivery.headers)
    assert body == {"type": "client.removed", "timestamp": removal["occurredAt"], "data": removal}, (
        f"(DELETE -> delivery {delay * 1000:.0f} ms)"
    )
    assert delivery.method == "POST" and delivery.path == "/hook"

    # When the DELETE is repeated
    again = call(server, "DELETE", f"/partner/v1/clients/{client_id}", token)
    assert assert_success(again, 200, "Client removed successfully.") == removed

    # Then a few poll cycles later there is still exactly one delivery about this client
    hook.wait_for(len(hook.received) + 1, timeout=QUIET_SECONDS)
    about_client = [r for r in hook.received if r.json()["data"]["resource"]["id"] == client_id]
    assert [r.headers["webhook-id"] for r in about_client] == [removal["eventId"]], (
        f"expected one delivery (DELETE -> first delivery {delay * 1000:.0f} ms)"
    )
    trail = assert_success(
        call(server, "GET", "/partner/v1/events", token, params={"resourceId": client_id}),
        200,
        "Events retrieved successfully.",
    )
    assert [e["eventId"] for e in trail["events"]] == [e["eventId"] for e in events]
    # ... and the webhook's deliveries show that one delivery, succeeded at the first attempt
    listed = assert_success(
        call(server, "GET", f"/partner/v1/webhooks/{webhook['webhookId']}/deliveries", token),
        200,
        "Deliveries retrieved successfully.",
    )
    (recorded,) = [d for d in listed["deliveries"] if d["eventId"] == removal["eventId"]]
    assert recorded["status"] == "succeeded", recorded
    assert [(a["statusCode"], a["error"]) for a in recorded["attempts"]] == [(200, None)], recorded


def test_a_refused_registration_neither_reaches_webhooks_nor_stops_deliveries(
    server: LocalServer, token: str, hook: Receiver, new_webhook: Callable[..., dict[str, Any]]
) -> None:
    # Given a webhook for registrations and removals, and a registered client
    webhook = new_webhook(hook, events=["client.registered", "client.removed"])
    email = unique_email("taken")
    client = assert_success(
        call(server, "POST", "/partner/v1/clients", token, json={"name": "Taken", "email": email}),
        201,
        "Client registered successfully.",
    )

    # When a second registration with the same email is refused, and the client is then removed
    duplicate = call(server, "POST", "/partner/v1/clients", token, json={"name": "Dup", "email": email})
    assert duplicate.status_code == 409, duplicate.text
    assert_success(
        call(server, "DELETE", f"/partner/v1/clients/{client['clientId']}", token),
        200,
        "Client removed successfully.",
    )

    # Then the removal is delivered (the local pipeline still runs) ...
    trail = assert_success(
        call(server, "GET", "/partner/v1/events", token, params={"resourceId": client["clientId"]}),
        200,
        "Events retrieved successfully.",
    )
    assert [e["type"] for e in trail["events"]] == ["client.removed", "client.registered"]
    removal, registration = trail["events"]
    wait_for_delivery(hook, removal["eventId"], server, seconds=15)
    # ... and nothing but this client's two events ever arrived: no event of the refused write
    bodies = [Webhook(webhook["secret"]).verify(r.body, r.headers) for r in hook.received]
    assert sorted(b["data"]["eventId"] for b in bodies) == sorted(
        [registration["eventId"], removal["eventId"]]
    ), bodies
