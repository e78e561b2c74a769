"""Thin helpers over the DynamoDB client: reads, transactions and error translation."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from partner_api.errors import DependencyUnavailable
from partner_api.store import aws
from partner_api.store.items import from_item, to_attr, to_item

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

# Codes meaning "try again later", not "your request is wrong".
_TRANSIENT = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
}


def ddb() -> Any:
    return aws.client("dynamodb")


class TransactionConflict(Exception):
    """A transaction was cancelled; ``reasons`` lines up with its items (``None`` = that one passed)."""

    def __init__(self, reasons: list[str | None]) -> None:
        super().__init__(", ".join(str(r) for r in reasons))
        self.reasons = reasons

    def failed(self, index: int) -> bool:
        return index < len(self.reasons) and self.reasons[index] == "ConditionalCheckFailed"


@contextmanager
def translated_errors() -> Iterator[None]:
    """Turn throttling and outages into ``DependencyUnavailable``; let other faults surface as 500."""
    from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError

    try:
        yield
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _TRANSIENT:
            raise DependencyUnavailable() from exc
        raise
    except (ConnectionError, ReadTimeoutError) as exc:
        raise DependencyUnavailable() from exc


def get(table: str, key: dict[str, str], *, consistent: bool = True) -> dict[str, Any] | None:
    with translated_errors():
        response = ddb().get_item(TableName=table, Key=to_item(key), ConsistentRead=consistent)
    item = response.get("Item")
    return from_item(item) if item else None


def transact(operations: Sequence[dict[str, Any]]) -> None:
    """Run ``TransactWriteItems``; a cancelled transaction raises ``TransactionConflict``."""
    from botocore.exceptions import ClientError

    with translated_errors():
        try:
            ddb().transact_write_items(TransactItems=list(operations))
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") != "TransactionCanceledException":
                raise
            reasons = [
                None if r.get("Code") in (None, "None") else r.get("Code")
                for r in exc.response.get("CancellationReasons", [])
            ]
            if any(r not in (None, "ConditionalCheckFailed") for r in reasons):
                # Throttled or conflicting with another transaction: transient, not a 4xx.
                raise DependencyUnavailable() from exc
            raise TransactionConflict(reasons) from exc


def put(
    table: str,
    item: dict[str, Any],
    condition: str | None = None,
    names: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``Put`` transaction item."""
    op: dict[str, Any] = {"TableName": table, "Item": to_item(item)}
    _conditions(op, condition, names, values)
    return {"Put": op}


def update(
    table: str,
    key: dict[str, str],
    expression: str,
    names: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    condition: str | None = None,
) -> dict[str, Any]:
    """An ``Update`` transaction item."""
    op: dict[str, Any] = {"TableName": table, "Key": to_item(key), "UpdateExpression": expression}
    _conditions(op, condition, names, values)
    return {"Update": op}


def delete(
    table: str,
    key: dict[str, str],
    condition: str | None = None,
    names: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``Delete`` transaction item."""
    op: dict[str, Any] = {"TableName": table, "Key": to_item(key)}
    _conditions(op, condition, names, values)
    return {"Delete": op}


def check(
    table: str,
    key: dict[str, str],
    condition: str,
    names: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``ConditionCheck`` transaction item."""
    op: dict[str, Any] = {"TableName": table, "Key": to_item(key)}
    _conditions(op, condition, names, values)
    return {"ConditionCheck": op}


def claim(table: str, key: dict[str, str], owner_attr: str, owner_id: str) -> dict[str, Any]:
    """The transaction item taking a uniqueness item (an email, a reference, a name) for
    ``owner_id``; it fails while anyone holds it."""
    return put(table, {**key, owner_attr: owner_id}, condition="attribute_not_exists(PK)")


def release(table: str, key: dict[str, str], owner_attr: str, owner_id: str) -> dict[str, Any]:
    """The transaction item giving a uniqueness item back; it fails unless ``owner_id`` holds it."""
    return delete(table, key, condition=f"{owner_attr} = :me", values={":me": owner_id})


def _conditions(
    op: dict[str, Any], condition: str | None, names: dict[str, str] | None, values: dict[str, Any] | None
) -> None:
    if condition:
        op["ConditionExpression"] = condition
    if names:
        op["ExpressionAttributeNames"] = names
    if values:
        op["ExpressionAttributeValues"] = {k: to_attr(v) for k, v in values.items()}


def query(
    table: str,
    *,
    index: str | None,
    key_condition: str,
    names: dict[str, str],
    values: dict[str, Any],
    limit: int,
    start_key: dict[str, Any] | None = None,
    filter_expression: str | None = None,
    forward: bool = True,
    consistent: bool = False,
    select_count: bool = False,
) -> dict[str, Any]:
    """One ``Query`` call; returns the raw response (items still in attribute form)."""
    params: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": key_condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": {k: to_attr(v) for k, v in values.items()},
        "ScanIndexForward": forward,
    }
    if limit:
        params["Limit"] = limit
    if index:
        params["IndexName"] = index
    else:
        params["ConsistentRead"] = consistent
    if start_key:
        params["ExclusiveStartKey"] = start_key
    if filter_expression:
        params["FilterExpression"] = filter_expression
    if select_count:
        params["Select"] = "COUNT"
    with translated_errors():
        return dict(ddb().query(**params))


def items_with_prefix(
    table: str,
    partition: str,
    prefix: str,
    *,
    filter_expression: str | None = None,
    names: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Every item of one partition whose sort key starts with ``prefix`` (and passes the filter),
    read consistently, page after page. For small sets only: a tenant's webhooks or partners."""
    found: list[dict[str, Any]] = []
    start = None
    while True:
        response = query(
            table,
            index=None,
            key_condition="#pk = :pk AND begins_with(#sk, :prefix)",
            names={"#pk": "PK", "#sk": "SK", **(names or {})},
            values={":pk": partition, ":prefix": prefix, **(values or {})},
            limit=0,
            start_key=start,
            filter_expression=filter_expression,
            consistent=True,
        )
        found.extend(from_item(i) for i in response.get("Items", []))
        start = response.get("LastEvaluatedKey")
        if not start:
            return found


BATCH_GET_LIMIT = 100  # keys per BatchGetItem call, a DynamoDB limit


def batch_get(requests: dict[str, list[dict[str, str]]]) -> dict[str, list[dict[str, Any]]]:
    """``BatchGetItem`` across tables, 100 keys a call, retrying unprocessed keys.

    A page of up to 99 items plus its counter is one call; a full page of 100 takes two."""
    found: dict[str, list[dict[str, Any]]] = {table: [] for table in requests}
    flat = [(table, key) for table, keys in requests.items() for key in keys]
    for start in range(0, len(flat), BATCH_GET_LIMIT):
        chunk: dict[str, Any] = {}
        for table, key in flat[start : start + BATCH_GET_LIMIT]:
            chunk.setdefault(table, {"Keys": [], "ConsistentRead": True})["Keys"].append(to_item(key))
        _batch_get_chunk(chunk, found)
    return found


def _batch_get_chunk(pending: dict[str, Any], found: dict[str, list[dict[str, Any]]]) -> None:
    attempts = 0
    while pending:
        attempts += 1
        if attempts > 5:
            raise DependencyUnavailable()
        with translated_errors():
            response = ddb().batch_get_item(RequestItems=pending)
        for table, items in response.get("Responses", {}).items():
            found[table].extend(from_item(i) for i in items)
        pending = response.get("UnprocessedKeys") or {}


class ConditionFailed(Exception):
    """A single-item write's condition did not hold."""


# botocore resends a request whose response it lost (a read timeout after DynamoDB had already
# applied the write). TransactWriteItems is safe (DynamoDB honours its ClientRequestToken); a
# single-item write is not: the resend finds its own first write, so a conditional write looks
# refused and a non-idempotent update applies twice. So each logical write carries a fresh id,
# added to this string set on the item by the write itself, and asks for the item back when
# its condition fails: an item already holding the id means the write was ours and is done.
# (A set, not a last-writer id, so a write by someone else in between cannot hide ours.)
APPLIED_WRITES = "appliedWrites"


def _new_write_id() -> str:
    return uuid.uuid4().hex


def _already_applied(error: ClientError, write_id: str) -> dict[str, Any] | None:
    """The item (attribute form) a write's failed condition found, when that item already
    holds ``write_id``, i.e. this very write, sent again by botocore, had been applied."""
    if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
        return None
    # botocore puts the old item (ALL_OLD) there; its ClientError type does not know the key.
    found = cast("dict[str, Any]", error.response.get("Item") or {})
    return found if write_id in found.get(APPLIED_WRITES, {}).get("SS", []) else None


def put_item_once(client: Any, **params: Any) -> dict[str, Any]:
    """``client.put_item(**params)``, answering as the first attempt would have even when
    botocore's retry after a lost response finds that attempt's item: that is success, not a
    failed condition. A genuine condition failure still raises ``ClientError`` (with the old
    item as ``response["Item"]``). Used by ``put_new`` and by the idempotency records."""
    from botocore.exceptions import ClientError

    write_id = _new_write_id()
    params["Item"] = {**params["Item"], APPLIED_WRITES: {"SS": [write_id]}}
    params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    try:
        return dict(client.put_item(**params))
    except ClientError as exc:
        if _already_applied(exc, write_id) is None:
            raise
        return {}


def put_new(table: str, item: dict[str, Any]) -> bool:
    """Write ``item`` unless its key exists; False when it did. (A retry by botocore that finds
    this call's own first attempt is True: see ``put_item_once``.)"""
    from botocore.exceptions import ClientError

    try:
        with translated_errors():
            put_item_once(
                ddb(), TableName=table, Item=to_item(item), ConditionExpression="attribute_not_exists(PK)"
            )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True


def update_one(
    table: str,
    key: dict[str, str],
    expression: str,
    *,
    names: dict[str, str],
    values: dict[str, Any] | None = None,
    condition: str | None = None,
) -> dict[str, Any]:
    """``UpdateItem``; returns the updated attributes, raises ``ConditionFailed`` on its condition.

    Applied at most once, however often botocore sends it: the update adds its write id to the
    item's applied writes, and refuses to run where that id already is. That refusal (a resend
    after a lost response) returns the item as it stands, which is the first attempt's result.
    ``expression`` must not have an ADD clause: the write id is added with one."""
    from botocore.exceptions import ClientError

    write_id = _new_write_id()
    not_applied_yet = "NOT contains(#appliedWrites, :thisWriteId)"
    params: dict[str, Any] = {
        "TableName": table,
        "Key": to_item(key),
        "UpdateExpression": f"{expression} ADD #appliedWrites :thisWrite",
        "ConditionExpression": f"({condition}) AND {not_applied_yet}" if condition else not_applied_yet,
        "ExpressionAttributeNames": {**names, "#appliedWrites": APPLIED_WRITES},
        "ExpressionAttributeValues": {
            **{k: to_attr(v) for k, v in (values or {}).items()},
            ":thisWrite": {"SS": [write_id]},
            ":thisWriteId": {"S": write_id},
        },
        "ReturnValues": "ALL_NEW",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    try:
        with translated_errors():
            response = ddb().update_item(**params)
    except ClientError as exc:
        applied = _already_applied(exc, write_id)
        if applied is not None:
            return from_item(applied)
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            raise ConditionFailed() from exc
        raise
    return from_item(response.get("Attributes", {}))
