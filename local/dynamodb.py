"""Where moto's DynamoDB is weaker than DynamoDB in ways the product or the local run depend on,
and the patch that closes each gap. ``apply()`` installs them all, once per process: the local
server's moto process and the tests' ``mock_aws`` run the same emulation.

Each gap, as DynamoDB behaves -> what moto 5.2.5 does -> what closes it:

- Conflicting writes are serialized and a transaction is isolated -> no locking: concurrent
  requests interleave inside a transaction -> ``LOCK`` around every backend operation.
- A transaction costs what it touches -> moto deep-copies every table a transaction names, to
  roll back -> ``transact_write_items``: conditions first, then only touched items kept.
- A cancelled transaction leaves no stream record -> a rolled-back table kept the cancelled
  writes' records -> ``transact_write_items`` removes the records of a failed apply.
- ``ClientRequestToken``: a retry within 10 minutes succeeds without applying again, other items
  under the same token get ``IdempotentParameterMismatchException`` -> the token is ignored, so
  the SDK's retry after a lost response runs again and its conditions fail -> ``TOKENS``.
- A Query reads one partition in key order -> moto sorts (for an index: scans) the whole table
  on every Query -> ``local.dynamodb_keys``.
- Stream records are kept 24 hours, iterators 15 minutes -> moto keeps every record and every
  iterator forever -> ``local.dynamodb_streams``.
- A read answers in time proportional to its data -> moto 5.2 walks every attribute value of a
  response through its model-driven serializer (40% of its time on a page of clients) ->
  ``_answered_as_json``: DynamoDB's JSON written directly for the item operations and for
  ``GetRecords`` (1.3 s for a batch of 100 records under load, holding up every other request).

Each patch has a test in tests/integration/test_local_dynamodb.py that fails without it.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import unix_time
from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    DynamodbException,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.responses import DynamoHandler, DynamoResult
from moto.dynamodbstreams.models import DynamoDBStreamsBackend
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

from local import dynamodb_keys, dynamodb_streams

# One lock for every DynamoDB and DynamoDB Streams operation of this process: DynamoDB decides
# conflicting writes one at a time, and moto's structures are not safe to share between threads.
LOCK = threading.RLock()
# moto's own model-driven answers (kept for tests)
MOTO_EXECUTE_RESULT = DynamoResult.execute_result
MOTO_GET_RECORDS = DynamoDBStreamsHandler.get_records
TOKEN_SECONDS = 600  # DynamoDB keeps a ClientRequestToken for 10 minutes after its request completes
_applied = False

_BACKEND_OPERATIONS = (
    "put_item",
    "update_item",
    "delete_item",
    "get_item",
    "query",
    "scan",
    "batch_get_item",
    "batch_write_item",
    "transact_get_items",
    "transact_write_items",
    "execute_statement",
    "execute_transaction",
    "batch_execute_statement",
)
_STREAM_OPERATIONS = ("describe_stream", "list_streams", "get_shard_iterator", "get_records")


def apply() -> None:
    """Install every patch of this module and of ``local.dynamodb_keys``/``local.dynamodb_streams``."""
    global _applied
    if _applied:
        return

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    dynamodb_keys.apply()
    dynamodb_streams.apply()
    for name in _BACKEND_OPERATIONS:
        setattr(DynamoDBBackend, name, _serialized(getattr(DynamoDBBackend, name)))
    for name in _STREAM_OPERATIONS:
        setattr(DynamoDBStreamsBackend, name, _serialized(getattr(DynamoDBStreamsBackend, name)))
    DynamoHandler.transact_write_items = _honouring_tokens(DynamoHandler.transact_write_items)  # type: ignore[method-assign]
    DynamoResult.execute_result = _answered_as_json(MOTO_EXECUTE_RESULT)  # type: ignore[method-assign]
    DynamoDBStreamsHandler.get_records = _records_as_json(MOTO_GET_RECORDS)  # type: ignore[method-assign]
    _applied = True


def _serialized(operation: Any) -> Any:
    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with LOCK:
            return operation(self, *args, **kwargs)

    locked.__name__ = operation.__name__
    locked.__doc__ = operation.__doc__
    return locked


# -- TransactWriteItems ------------------------------------------------------------------------


@dataclass
class _Target:
    """One action of a transaction and the item it touches."""

    kind: str  # Put | Update | Delete | ConditionCheck
    action: dict[str, Any]
    table: Any
    hash_key: Any
    range_key: Any


@dataclass
class _Saved:
    """What an item was before the transaction touched it (``None``: it did not exist)."""

    table: Any
    hash_key: Any
    range_key: Any
    item: Any


def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto's ``DynamoDBBackend.transact_write_items`` at the cost of the items it touches.

    Every condition is checked against the state before the transaction, as DynamoDB does, so a
    cancelled transaction changes nothing and copies nothing. Only then are the actions applied;
    should one fail (an invalid update, an item too large), exactly the touched items are put
    back and the stream records the attempt wrote are removed. moto instead deep-copied every
    table the transaction named, streams included, on every call.
    """
    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    targets = _targets(self, transact_items)
    reasons = [_condition_failure(target) for target in targets]
    if any(reasons):
        _cancel(reasons)
    shards = {t.table.stream_shard for t in targets if t.table.stream_shard is not None}
    marks = {shard: dynamodb_streams.next_position(shard) for shard in shards}
    saved: list[_Saved] = []
    for index, target in enumerate(targets):
        saved.append(_save(target))
        try:
            _apply(self, target)
        except DynamodbException as exc:
            _restore(saved, marks)
            if isinstance(exc, MockValidationException):
                raise
            failed: list[tuple[str, str, Any] | None] = [None] * len(targets)
            failed[index] = (type(exc).__name__, str(exc.message), None)
            _cancel(failed)
        except BaseException:
            _restore(saved, marks)
            raise


def _targets(backend: Any, transact_items: list[dict[str, Any]]) -> list[_Target]:
    targets: list[_Target] = []
    seen: set[tuple[str, Any, Any]] = set()
    for entry in transact_items:
        if len(entry) > 1:
            raise TransactWriteSingleOpException()
        kind, action = next(iter(entry.items()))
        if kind not in ("ConditionCheck", "Put", "Delete", "Update"):
            raise ValueError(f"unsupported transaction action {kind}")
        table = backend.get_table(action["TableName"])
        if kind == "Put":
            attrs = action["Item"]
            key = {table.hash_key_attr: attrs.get(table.hash_key_attr)}
            if table.range_key_attr is not None:
                key[table.range_key_attr] = attrs.get(table.range_key_attr)
            if any(value is None for value in key.values()):
                table.put_item(attrs)  # moto's own validation error for a missing key attribute
        else:
            key = action["Key"]
        hash_key, range_key = backend.get_keys_value(table, key)
        identity = (table.name, hash_key, range_key)
        if identity in seen:
            raise MultipleTransactionsException()
        seen.add(identity)
        targets.append(_Target(kind, action, table, hash_key, range_key))
    return targets


def _condition_failure(target: _Target) -> tuple[str, str, Any] | None:
    action = target.action
    expression = action.get("ConditionExpression")
    if expression is None:
        return None
    current = target.table.get_item(target.hash_key, target.range_key)
    names, values = action.get("ExpressionAttributeNames"), action.get("ExpressionAttributeValues")
    condition = get_filter_expression(expression, names, values)
    if condition.expr(current):
        return None
    old = None
    if action.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current is not None:
        old = current.to_json()["Attributes"]
    return ("ConditionalCheckFailed", "The conditional request failed", old)


def _cancel(reasons: list[tuple[str, str, Any] | None]) -> None:
    raise TransactionCanceledException([reason or (None, None, None) for reason in reasons])


def _save(target: _Target) -> _Saved:
    """Keep what the action will change. A Put replaces the item object and a Delete removes
    it, so the object itself is kept; only an Update changes an item in place and needs a copy."""
    current = target.table.get_item(target.hash_key, target.range_key)
    if target.kind == "Update" and current is not None:
        current = copy.deepcopy(current)
    return _Saved(target.table, target.hash_key, target.range_key, current)


def _apply(backend: Any, target: _Target) -> None:
    """Apply one action; its condition held a moment ago under the same lock, so it is not
    parsed and checked again."""
    action, name = target.action, target.action["TableName"]
    if target.kind == "Put":
        backend.put_item(name, action["Item"])
    elif target.kind == "Delete":
        backend.delete_item(name, action["Key"])
    elif target.kind == "Update":
        backend.update_item(
            name,
            action["Key"],
            update_expression=action["UpdateExpression"],
            expression_attribute_names=action.get("ExpressionAttributeNames"),
            expression_attribute_values=action.get("ExpressionAttributeValues"),
        )


def _restore(saved: list[_Saved], marks: dict[Any, int]) -> None:
    for entry in reversed(saved):
        items = entry.table.items
        if entry.range_key is None:
            if entry.item is None:
                items.pop(entry.hash_key, None)
            else:
                items[entry.hash_key] = entry.item
        else:
            partition = items[entry.hash_key]
            if entry.item is None:
                partition.pop(entry.range_key, None)
            else:
                partition[entry.range_key] = entry.item
            if not partition:
                del items[entry.hash_key]
        dynamodb_keys.refresh(entry.table, entry.hash_key, entry.range_key)
    for shard, position in marks.items():
        dynamodb_streams.discard_from(shard, position)


# -- ClientRequestToken --------------------------------------------------------------------------


class _TransactionTokens:
    """The ``ClientRequestToken`` of every transaction that succeeded in the last 10 minutes."""

    def __init__(self) -> None:
        self._seen: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def replayed(self, token: str, fingerprint: str) -> bool:
        """True when ``token`` already succeeded with these items; raises if with other items."""
        self._forget_expired()
        seen = self._seen.get(token)
        if seen is None:
            return False
        if seen[0] != fingerprint:
            raise IdempotentParameterMismatch()
        return True

    def remember(self, token: str, fingerprint: str) -> None:
        self._seen[token] = (fingerprint, time.monotonic() + TOKEN_SECONDS)
        self._seen.move_to_end(token)

    def _forget_expired(self) -> None:
        now = time.monotonic()
        while self._seen:
            token, (_, expires) = next(iter(self._seen.items()))
            if expires > now:
                return
            del self._seen[token]


TOKENS = _TransactionTokens()


def _honouring_tokens(handle: Any) -> Any:
    """``DynamoHandler.transact_write_items`` that answers a replayed token as DynamoDB does."""

    def transact_write_items(handler: Any) -> Any:
        token = handler.body.get("ClientRequestToken")
        if not token:
            return handle(handler)
        fingerprint = hashlib.sha256(
            json.dumps(handler.body["TransactItems"], sort_keys=True).encode()
        ).hexdigest()
        with LOCK:  # the check, the transaction and remembering it are one step
            if TOKENS.replayed(token, fingerprint):
                return ActionResult({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})
            result = handle(handler)
            TOKENS.remember(token, fingerprint)
            return result

    return transact_write_items


class IdempotentParameterMismatch(DynamodbException):
    """DynamoDB's answer to a ClientRequestToken reused with other items within 10 minutes."""

    error_type = "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException"

    def __init__(self) -> None:
        super().__init__(
            IdempotentParameterMismatch.error_type,
            "The request uses the same client token as a previous, but non-identical request.",
        )


# -- Responses -----------------------------------------------------------------------------------

# The operations whose answers are items, counts and keys: plain JSON, nothing for a model to add.
ITEM_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
    }
)


def _answered_as_json(serialize: Any) -> Any:
    """``DynamoResult.execute_result`` writing an item operation's answer as JSON directly, as
    moto did before 5.x; other operations (table descriptions with timestamps) keep the model."""

    def execute_result(result: Any, context: Any) -> Any:
        if context.operation_model.name not in ITEM_OPERATIONS:
            return serialize(result, context)
        return _json_answer(result.result, context)

    return execute_result


def _records_as_json(get_records: Any) -> Any:
    """``DynamoDBStreamsHandler.get_records`` answering with the records' JSON directly."""

    def records(handler: Any) -> Any:
        return _JsonAnswer(get_records(handler).result)

    return records


class _JsonAnswer(ActionResult):
    def execute_result(self, context: Any) -> Any:
        return _json_answer(self.result, context)


def _json_answer(result: Any, context: Any) -> tuple[int, dict[str, str], str]:
    content_type = f"application/x-amz-json-{context.service_model.metadata.get('jsonVersion', '1.0')}"
    body = json.dumps(_without_nulls(result), default=_json_value, separators=(",", ":"))
    return 200, {"Content-Type": content_type}, body


def _without_nulls(value: Any) -> Any:
    """An absent member is absent from DynamoDB's JSON, not ``null`` (NULL values are ``{"NULL": true}``)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):  # epoch seconds, to the millisecond as moto's model writes them
        return math.floor(unix_time(value) * 1000) / 1000
    raise TypeError(f"{type(value).__name__} is not JSON")
