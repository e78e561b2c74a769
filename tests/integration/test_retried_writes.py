"""Single-item writes that botocore sends twice because the first response was lost.

DynamoDB applied the first attempt; the retry then meets that attempt's own item. Each write must
still answer as the first attempt would have, and apply once. Writes of someone else must still
be refused as before. (The loss itself: ``tests.support.lost_responses``.)
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from typing import Any

import pytest

from local.stack import Stack
from tests.conftest import Credential, Tenant, shared_session, token_for
from tests.support.apigw import Api
from tests.support.clients import CLIENTS
from tests.support.lost_responses import FirstResponseLost, first_response_lost

TENANT, WEBHOOK = "tenant-1", "wh_1"
EVENT = {"eventId": "evt_01", "type": "client.created"}
NOW = "2025-01-01T00:00:00.000Z"
LEASE_SECONDS = 30


def layer_ddb() -> Any:
    """The DynamoDB client the layer's code uses (the container's)."""
    from partner_api.store import aws

    return aws.client("dynamodb")


def stored_delivery(stack: Stack) -> dict[str, Any]:
    """The delivery record as DynamoDB holds it (read past the code under test)."""
    from partner_api.store.items import from_item, to_item
    from partner_api.store.webhooks import delivery_key

    key = delivery_key(TENANT, WEBHOOK, EVENT["eventId"])
    ddb = shared_session().client("dynamodb")
    item = ddb.get_item(TableName=stack.physical_ids["TenantsTable"], Key=to_item(key), ConsistentRead=True)
    return from_item(item["Item"])


def lost_on_tenants_table(stack: Stack, operation: str) -> AbstractContextManager[FirstResponseLost]:
    return first_response_lost(layer_ddb(), operation, stack.physical_ids["TenantsTable"])


@pytest.fixture
def opened(stack: Stack) -> Stack:
    """A delivery record opened (round 0, no attempts, no lease)."""
    from partner_api.store import webhooks

    assert webhooks.open_delivery(TENANT, WEBHOOK, EVENT, NOW)
    return stack


# --- put_new: open_delivery ---------------------------------------------------------------------


def test_opening_a_delivery_whose_put_was_retried_is_our_write(stack: Stack) -> None:
    from partner_api.store import webhooks

    # When the put's response is lost and botocore sends it again
    with lost_on_tenants_table(stack, "PutItem") as lost:
        opened = webhooks.open_delivery(TENANT, WEBHOOK, EVENT, NOW)

    # Then the retry happened, and the caller is told it opened the delivery
    assert lost.attempts == 2
    assert opened is True
    delivery = stored_delivery(stack)
    assert (delivery["status"], delivery["round"], delivery["attempts"], delivery["enqueued"]) == (
        "pending",
        0,
        [],
        False,
    )


def test_a_delivery_another_writer_opened_is_still_refused_retried_or_not(opened: Stack) -> None:
    from partner_api.store import webhooks

    # Given a delivery someone else opened, When it is opened again, plainly and with a lost response
    plain = webhooks.open_delivery(TENANT, WEBHOOK, EVENT, NOW)
    with lost_on_tenants_table(opened, "PutItem") as lost:
        retried = webhooks.open_delivery(TENANT, WEBHOOK, EVENT, "2025-01-02T00:00:00.000Z")

    # Then both are refused, and the record is the first writer's
    assert lost.attempts == 2
    assert (plain, retried) == (False, False)
    assert stored_delivery(opened)["createdAt"] == NOW


# --- update_one: take_lease, record_attempt, next_round, mark_enqueued ------------------------------


def test_taking_a_lease_whose_update_was_retried_holds_the_lease(opened: Stack) -> None:
    from partner_api.store import webhooks

    with lost_on_tenants_table(opened, "UpdateItem") as lost:
        taken = webhooks.take_lease(TENANT, WEBHOOK, EVENT["eventId"], 0, 1000, LEASE_SECONDS)

    assert lost.attempts == 2
    assert taken is True
    assert stored_delivery(opened)["leaseUntil"] == 1000 + LEASE_SECONDS


def test_a_lease_held_by_another_attempt_is_still_refused_retried_or_not(opened: Stack) -> None:
    from partner_api.store import webhooks

    # Given another attempt holding the lease until 1030
    assert webhooks.take_lease(TENANT, WEBHOOK, EVENT["eventId"], 0, 1000, LEASE_SECONDS)

    # When the lease is asked for before then, plainly and with a lost response
    plain = webhooks.take_lease(TENANT, WEBHOOK, EVENT["eventId"], 0, 1010, LEASE_SECONDS)
    with lost_on_tenants_table(opened, "UpdateItem") as lost:
        retried = webhooks.take_lease(TENANT, WEBHOOK, EVENT["eventId"], 0, 1020, LEASE_SECONDS)

    # Then both are refused and the other attempt keeps its lease
    assert lost.attempts == 2
    assert (plain, retried) == (False, False)
    assert stored_delivery(opened)["leaseUntil"] == 1000 + LEASE_SECONDS


def test_an_attempt_whose_update_was_retried_is_recorded_once(opened: Stack) -> None:
    from partner_api.store import webhooks

    attempt = {"attemptedAt": NOW, "statusCode": 500, "durationMs": 12, "error": "HTTP 500"}
    assert webhooks.take_lease(TENANT, WEBHOOK, EVENT["eventId"], 0, 1000, LEASE_SECONDS)

    with lost_on_tenants_table(opened, "UpdateItem") as lost:
        webhooks.record_attempt(TENANT, WEBHOOK, EVENT["eventId"], attempt, "pending", NOW)

    assert lost.attempts == 2
    delivery = stored_delivery(opened)
    assert delivery["attempts"] == [attempt]
    assert delivery["status"] == "pending" and "leaseUntil" not in delivery


def test_a_redelivery_round_whose_update_was_retried_counts_once(opened: Stack) -> None:
    from partner_api.store import webhooks

    # When a redelivery round starts with a lost response
    with lost_on_tenants_table(opened, "UpdateItem") as lost:
        first = webhooks.next_round(TENANT, WEBHOOK, EVENT, NOW)
    # and another starts after it
    second = webhooks.next_round(TENANT, WEBHOOK, EVENT, NOW)

    # Then each call got its own round, one after the other
    assert lost.attempts == 2
    assert (first, second) == (1, 2)
    assert stored_delivery(opened)["round"] == 2


def test_marking_a_delivery_enqueued_is_safe_to_retry(opened: Stack) -> None:
    from partner_api.store import webhooks

    with lost_on_tenants_table(opened, "UpdateItem") as lost:
        webhooks.mark_enqueued(TENANT, WEBHOOK, EVENT["eventId"])

    assert lost.attempts == 2
    assert stored_delivery(opened)["enqueued"] is True


# --- Powertools' idempotency records --------------------------------------------------------------

BODY = {"name": "Ada Lovelace", "email": "ada@example.com"}


def test_a_post_whose_idempotency_put_was_retried_runs_once_and_replays_later(
    api: Api, stack: Stack, tenant: Tenant
) -> None:
    key = {"Idempotency-Key": "register-ada-lost"}

    # When the idempotency record's put loses its response and botocore sends it again
    with first_response_lost(layer_ddb(), "PutItem", stack.physical_ids["IdempotencyTable"]) as lost:
        first = api.call("POST", CLIENTS, token=tenant.token, json_body=BODY, headers=key)
    # and the request is sent again later
    again = api.call("POST", CLIENTS, token=tenant.token, json_body=BODY, headers=key)

    # Then the first ran (not "key in use" by itself), and the second replays it
    assert lost.attempts == 2
    assert first.status == 201, first.text
    assert first.header("Idempotent-Replayed") is None
    assert again.status == 201 and again.header("Idempotent-Replayed") == "true"
    assert again.body == first.body
    listed = api.call("GET", CLIENTS, token=tenant.token)
    assert listed.body["data"]["pagination"]["total"] == 1


def test_a_key_in_use_by_another_request_is_still_refused_when_the_put_is_retried(stack: Stack) -> None:
    from aws_lambda_powertools.event_handler import Response

    from partner_api.errors import IdempotencyKeyInUse
    from partner_api.http import idempotency

    refusals: list[int] = []

    def first_request() -> Response[str]:
        # While it runs (its record INPROGRESS), a second request with the same key arrives and
        # its put loses the response: the retry finds the first request's record, not its own
        with (
            first_response_lost(layer_ddb(), "PutItem", stack.physical_ids["IdempotencyTable"]) as lost,
            pytest.raises(IdempotencyKeyInUse),
        ):
            idempotency.once("cred", "k", b"{}", None, lambda: Response(201, "application/json", "{}"))
        refusals.append(lost.attempts)
        return Response(201, "application/json", '{"first":true}')

    first = idempotency.once("cred", "k", b"{}", None, first_request)

    # Then the second was refused as in use (after its retry), and the first ran to the end
    assert refusals == [2]
    assert first.status_code == 201 and json.loads(first.body or "") == {"first": True}


def test_a_welcome_email_whose_idempotency_put_was_retried_is_sent_once(stack: Stack) -> None:
    from moto.ses.models import ses_backends

    from partner_api.logic import welcome

    outbox = ses_backends[stack.account_id][stack.region].sent_messages
    welcome_email = {"to": "jane@west.example", "firstName": "Jane", "partnerName": "West", "partnerId": "p1"}
    bus_event = {"detail": {"eventId": "evt_02", "notify": {"welcomeEmail": welcome_email}}}

    with first_response_lost(layer_ddb(), "PutItem", stack.physical_ids["IdempotencyTable"]) as lost:
        message_id = welcome.send_once(bus_event)
    repeated = welcome.send_once(bus_event)

    assert lost.attempts == 2
    assert repeated == message_id
    (sent,) = outbox
    assert sent.destinations["ToAddresses"] == ["jane@west.example"]


# --- TransactWriteItems: the product's writes ------------------------------------------------------


def test_a_registration_whose_transaction_response_was_lost_is_201_and_applied_once(
    api: Api, stack: Stack, tenant: Tenant
) -> None:
    # When the registration's transaction is applied but its response lost, and botocore resends it
    # (same ClientRequestToken, as DynamoDB requires for an idempotent retry)
    with first_response_lost(layer_ddb(), "TransactWriteItems", stack.physical_ids["UsersTable"]) as lost:
        reply = api.call("POST", CLIENTS, token=tenant.token, json_body=BODY)

    # Then the caller is told it was created (not 409 for its own email), and it exists once
    assert lost.attempts == 2
    assert reply.status == 201, reply.text
    listed = api.call("GET", CLIENTS, token=tenant.token)
    assert listed.body["data"]["pagination"]["total"] == 1
    assert [c["clientId"] for c in listed.body["data"]["clients"]] == [reply.body["data"]["clientId"]]
    events = api.call("GET", "/partner/v1/events", token=tenant.token, query={"type": "client.registered"})
    assert len(events.body["data"]["events"]) == 1


def test_a_root_partner_whose_transaction_response_was_lost_is_201_with_a_working_credential(
    api: Api, stack: Stack, operator_token: str
) -> None:
    # When the operator's transaction creating a root partner loses its response and is resent
    with first_response_lost(layer_ddb(), "TransactWriteItems", stack.physical_ids["TenantsTable"]) as lost:
        reply = api.call(
            "POST", "/admin/v1/partners", token=operator_token, json_body={"name": "Lost Reply Ltd"}
        )

    # Then it answers 201 with the credential it stored, whose secret works
    assert lost.attempts == 2
    assert reply.status == 201, reply.text
    credential = reply.body["data"]["credential"]
    assert token_for(api, Credential(credential["clientId"], credential["clientSecret"]))
    listed = api.call("GET", "/admin/v1/partners", token=operator_token, query={"q": "Lost Reply"})
    assert listed.body["data"]["pagination"]["total"] == 1
