"""DynamoDB faults moto cannot produce, injected with botocore's Stubber (or a failing client).

Throttling and transaction conflicts must become ``503 SERVICE_UNAVAILABLE`` with ``Retry-After``,
anything unexpected ``500 INTERNAL_SERVER_ERROR``; neither may leak internals, and a failed write
leaves no trace in the (real, moto) tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber

from local.stack import Stack
from partner_api.store import aws, dynamo
from tests.conftest import Tenant
from tests.support.apigw import Api, Reply

NEW_CLIENT = {"name": "Jane Roe", "email": "jane.roe@example.com"}
# A register is one transaction: [client put, EMAIL# claim, counter update (root partner), event put].
REGISTER_ITEMS = 4


@pytest.fixture
def warm(api: Api, tenant: Tenant) -> dict[str, Any]:
    """A warm container: one successful request has cached the signing key and the caller's status,
    so the next request's only DynamoDB calls are its own. Returns the client it registered."""
    reply = api.call(
        "POST",
        "/partner/v1/clients",
        token=tenant.token,
        json_body={"name": "Warm Up", "email": "warm@example.com"},
    )
    assert reply.status == 201, reply.text
    return dict(reply.body["data"])


def tables(stack: Stack) -> dict[str, list[dict[str, Any]]]:
    """Every item of every table, read with a client of our own (never the injected one)."""
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    snapshot = {}
    for logical_id in ("TenantsTable", "UsersTable", "EventsTable"):
        items = ddb.scan(TableName=stack.physical_ids[logical_id], ConsistentRead=True)["Items"]
        snapshot[logical_id] = sorted(items, key=lambda i: (i["PK"]["S"], i["SK"]["S"]))
    return snapshot


def internals(stack: Stack) -> list[str]:
    """What must never reach a client: table names, ARNs, exception and library names."""
    return [
        *stack.physical_ids.values(),
        "arn:aws",
        "Exception",
        "ClientError",
        "RuntimeError",
        "TransactionConflict",
        "TransactWriteItems",
        "botocore",
        "partner_api",
        "Traceback",
    ]


@contextmanager
def stubbed_dynamodb() -> Iterator[Stubber]:
    """Swap the container's DynamoDB client for a Stubber-wrapped one; the real one comes back after."""
    real = aws.client("dynamodb")
    fake = boto3.client("dynamodb", region_name="us-east-1")
    stubber = Stubber(fake)
    aws.use_client("dynamodb", fake)
    try:
        with stubber:
            yield stubber
            stubber.assert_no_pending_responses()  # the handler made exactly the stubbed calls
    finally:
        aws.use_client("dynamodb", real)


class FailingDynamoDB:
    """The real client, except that one operation raises ``error``."""

    def __init__(self, real: Any, operation: str, error: Exception) -> None:
        self._real, self._operation, self._error = real, operation, error
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        if name != self._operation:
            return getattr(self._real, name)

        def fail(**_: Any) -> Any:
            self.calls += 1
            raise self._error

        return fail


def client_error(code: str, message: str, operation: str = "TransactWriteItems") -> ClientError:
    """A ClientError shaped exactly as botocore raises a service error."""
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}, operation
    )


def assert_unavailable(reply: Reply, stack: Stack) -> None:
    assert reply.status == 503, reply.text
    assert reply.body == {
        "success": False,
        "code": "SERVICE_UNAVAILABLE",
        "message": "The service is temporarily unavailable. Please retry.",
        "requestId": reply.header("x-request-id"),
    }
    retry_after = reply.header("Retry-After") or ""
    assert retry_after.isdigit() and int(retry_after) >= 1
    assert not [leak for leak in internals(stack) if leak in reply.text]


def assert_internal_error(reply: Reply, stack: Stack) -> None:
    assert reply.status == 500, reply.text
    assert reply.body == {
        "success": False,
        "code": "INTERNAL_SERVER_ERROR",
        "message": "An unexpected error occurred.",
        "requestId": reply.header("x-request-id"),
    }
    assert not [leak for leak in internals(stack) if leak in reply.text]


def assert_not_registered(api: Api, tenant: Tenant, warm: dict[str, Any]) -> None:
    """Through the API too: only the warm-up client exists, and the email is still free."""
    listed = api.call("GET", "/partner/v1/clients", token=tenant.token)
    assert listed.status == 200, listed.text
    assert listed.body["data"]["clients"] == [warm]
    assert listed.body["data"]["pagination"]["total"] == 1
    again = api.call("POST", "/partner/v1/clients", token=tenant.token, json_body=NEW_CLIENT)
    assert again.status == 201, again.text


# --- register: the transaction fails ---------------------------------------------------------------


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ThrottlingException"])
def test_throttled_register_answers_503_and_writes_nothing(
    code: str, api: Api, stack: Stack, tenant: Tenant, warm: dict[str, Any]
):
    # Given a warm container whose TransactWriteItems is throttled
    before = tables(stack)
    with stubbed_dynamodb() as stubber:
        stubber.add_client_error(
            "transact_write_items",
            service_error_code=code,
            service_message="Rate of requests exceeds the allowed throughput for "
            + stack.physical_ids["UsersTable"],
            http_status_code=400,
        )

        # When a client is registered
        reply = api.call("POST", "/partner/v1/clients", token=tenant.token, json_body=NEW_CLIENT)

    # Then the caller is told to retry, without internals
    assert_unavailable(reply, stack)
    # And the real tables hold no client, no EMAIL# item, unchanged counters and no new event
    after = tables(stack)
    assert after == before
    assert not [i for i in after["UsersTable"] if i["SK"]["S"] == "EMAIL#jane.roe@example.com"]
    counts = next(i for i in after["TenantsTable"] if i["SK"]["S"] == f"COUNTS#{tenant.partner_id}")
    assert (counts["own_active"], counts["tree_active"]) == ({"N": "1"}, {"N": "1"})
    assert_not_registered(api, tenant, warm)


def test_register_cancelled_by_a_conflicting_transaction_answers_503(
    api: Api, stack: Stack, tenant: Tenant, warm: dict[str, Any]
):
    # Given a transaction DynamoDB cancels because another transaction holds one of its items
    reasons = [{"Code": "None"}] * REGISTER_ITEMS
    reasons[2] = {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
    before = tables(stack)
    with stubbed_dynamodb() as stubber:
        stubber.add_client_error(
            "transact_write_items",
            service_error_code="TransactionCanceledException",
            service_message="Transaction cancelled, please refer cancellation reasons for specific reasons "
            "[None, None, TransactionConflict, None]",
            modeled_fields={"CancellationReasons": reasons},
        )

        # When a client is registered
        reply = api.call("POST", "/partner/v1/clients", token=tenant.token, json_body=NEW_CLIENT)

    # Then it is a transient failure (503), not a 409 and not a 500
    assert_unavailable(reply, stack)
    assert tables(stack) == before
    assert_not_registered(api, tenant, warm)


def test_register_cancelled_on_the_email_claim_answers_409(
    api: Api, stack: Stack, tenant: Tenant, warm: dict[str, Any]
):
    # Given a transaction DynamoDB cancels because the EMAIL# claim (item 1) already exists
    reasons = [{"Code": "None"}] * REGISTER_ITEMS
    reasons[1] = {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
    before = tables(stack)
    with stubbed_dynamodb() as stubber:
        stubber.add_client_error(
            "transact_write_items",
            service_error_code="TransactionCanceledException",
            service_message="Transaction cancelled, please refer cancellation reasons for specific reasons "
            "[None, ConditionalCheckFailed, None, None]",
            modeled_fields={"CancellationReasons": reasons},
        )

        # When a client is registered
        reply = api.call("POST", "/partner/v1/clients", token=tenant.token, json_body=NEW_CLIENT)

    # Then the cancellation reason is read item by item: the email is taken
    assert reply.status == 409, reply.text
    assert reply.body == {
        "success": False,
        "code": "CLIENT_ALREADY_EXISTS",
        "message": "A client with this email already exists.",
        "details": [{"field": "email", "issue": "already registered"}],
        "requestId": reply.header("x-request-id"),
    }
    assert tables(stack) == before


def test_unexpected_dynamodb_error_answers_500_without_internals(
    api: Api, stack: Stack, tenant: Tenant, warm: dict[str, Any]
):
    # Given a TransactWriteItems that fails with an error the code does not expect
    before = tables(stack)
    with stubbed_dynamodb() as stubber:
        stubber.add_client_error(
            "transact_write_items",
            service_error_code="ValidationException",
            service_message="One or more parameter values were invalid: Missing the key PK in the item "
            f"(table arn:aws:dynamodb:us-east-1:123456789012:table/{stack.physical_ids['UsersTable']})",
        )

        # When a client is registered
        reply = api.call("POST", "/partner/v1/clients", token=tenant.token, json_body=NEW_CLIENT)

    # Then the caller gets the generic 500 envelope and nothing was written
    assert_internal_error(reply, stack)
    assert tables(stack) == before
    assert_not_registered(api, tenant, warm)


def test_runtime_error_from_the_store_answers_500_without_internals(
    api: Api, stack: Stack, tenant: Tenant, warm: dict[str, Any], monkeypatch: pytest.MonkeyPatch
):
    # Given a store whose DynamoDB client raises a plain RuntimeError mid-write
    failing = FailingDynamoDB(
        aws.client("dynamodb"),
        "transact_write_items",
        RuntimeError(f"socket closed while writing {stack.physical_ids['UsersTable']}"),
    )
    before = tables(stack)

    # When a client is registered
    with monkeypatch.context() as patched:
        patched.setattr(dynamo, "ddb", lambda: failing)
        reply = api.call("POST", "/partner/v1/clients", token=tenant.token, json_body=NEW_CLIENT)

    # Then it is a 500 envelope without the exception's text
    assert failing.calls == 1
    assert_internal_error(reply, stack)
    assert tables(stack) == before
    assert_not_registered(api, tenant, warm)


# --- other operations ------------------------------------------------------------------------------


def test_throttled_read_answers_503(api: Api, stack: Stack, tenant: Tenant, warm: dict[str, Any]):
    # Given a GetItem that is throttled
    with stubbed_dynamodb() as stubber:
        stubber.add_client_error(
            "get_item",
            service_error_code="ProvisionedThroughputExceededException",
            service_message=f"Throughput exceeds the current capacity of {stack.physical_ids['UsersTable']}",
        )

        # When a client is read
        reply = api.call("GET", f"/partner/v1/clients/{warm['clientId']}", token=tenant.token)

    # Then the caller is told to retry
    assert_unavailable(reply, stack)


def test_throttled_update_answers_503_and_leaves_the_client_unchanged(
    api: Api, stack: Stack, tenant: Tenant, warm: dict[str, Any], monkeypatch: pytest.MonkeyPatch
):
    # Given a client, and a store whose TransactWriteItems is throttled (reads still work)
    path = f"/partner/v1/clients/{warm['clientId']}"
    etag = api.call("GET", path, token=tenant.token).header("ETag")
    failing = FailingDynamoDB(
        aws.client("dynamodb"),
        "transact_write_items",
        client_error("ThrottlingException", f"Rate exceeded for {stack.physical_ids['UsersTable']}"),
    )
    before = tables(stack)

    # When the client is suspended
    with monkeypatch.context() as patched:
        patched.setattr(dynamo, "ddb", lambda: failing)
        reply = api.call("PATCH", path, token=tenant.token, json_body={"status": "suspended", "title": "CEO"})

    # Then the caller is told to retry, and the client is as it was
    assert failing.calls == 1
    assert_unavailable(reply, stack)
    assert tables(stack) == before
    now = api.call("GET", path, token=tenant.token)
    assert (now.body["data"], now.header("ETag")) == (warm, etag)


def test_unreachable_dynamodb_on_remove_answers_503_and_keeps_the_client(
    api: Api, stack: Stack, tenant: Tenant, warm: dict[str, Any], monkeypatch: pytest.MonkeyPatch
):
    # Given a store that cannot reach DynamoDB when it writes
    failing = FailingDynamoDB(
        aws.client("dynamodb"),
        "transact_write_items",
        EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com/"),
    )
    before = tables(stack)

    # When the client is removed
    with monkeypatch.context() as patched:
        patched.setattr(dynamo, "ddb", lambda: failing)
        reply = api.call("DELETE", f"/partner/v1/clients/{warm['clientId']}", token=tenant.token)

    # Then the caller is told to retry, the client is still active and no client.removed was recorded
    assert failing.calls == 1
    assert_unavailable(reply, stack)
    assert "amazonaws.com" not in reply.text
    assert tables(stack) == before
    now = api.call("GET", f"/partner/v1/clients/{warm['clientId']}", token=tenant.token)
    assert now.body["data"]["status"] == "active"
