"""The template's stream and queue triggers, driven locally by polling moto.

Each ``Type: DynamoDB`` and ``Type: SQS`` event of a function in the template becomes a poller
that reads moto's DynamoDB Streams or SQS the way Lambda's event source mapping does, builds
the event Lambda would send, applies the event's ``FilterCriteria`` and honours
``ReportBatchItemFailures``:

- SQS: messages the function did not list in ``batchItemFailures`` are deleted; the listed
  ones (all of them if the function raised) stay, and come back once their visibility timeout
  ends (moto then moves them to the dead-letter queue after ``maxReceiveCount`` receives).
  Filtered-out messages are deleted, as Lambda does.
- DynamoDB streams: records before the lowest failed ``SequenceNumber`` are done and the next
  delivery starts at it; if the function raised, the whole batch is delivered again. Retries
  are unlimited (``MaximumRetryAttempts: -1``); ``BisectBatchOnFunctionError``,
  ``MaximumRetryAttempts`` and on-failure destinations are not emulated.

``Triggers.pump()`` polls synchronously until nothing is left (tests); ``start()``/``stop()``
poll in a background thread (the local server).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from local import template as tpl

LOG = logging.getLogger("local-triggers")

Invoke = Callable[[str, dict[str, Any]], Any]
_REPORT_FAILURES = "ReportBatchItemFailures"
_SQS_BATCH_LIMIT = 10  # ReceiveMessage's and DeleteMessageBatch's own limit
_MAX_BACKOFF_SECONDS = 30.0
_DISCOVERY_SECONDS = 60.0
LONG_POLL_SECONDS = 1  # an idle queue's ReceiveMessage waits this long for a message (Lambda: 20)


class _Stack(Protocol):
    region: str

    def resolve(self, value: Any) -> Any: ...


class Triggers:
    """Every DynamoDB stream and SQS trigger of the template's functions.

    ``invoke(logical_id, event)`` runs the function and returns what its handler returned
    (raising if the handler raised). ``functions`` limits the triggers to those functions.
    """

    def __init__(
        self,
        stack: _Stack,
        invoke: Invoke,
        *,
        session: Any = None,
        template: dict[str, Any] | None = None,
        functions: Iterable[str] | None = None,
    ) -> None:
        import boto3

        session = session or boto3.session.Session()
        self.invoke = invoke
        wanted = set(functions) if functions is not None else None
        self.triggers: list[_Trigger] = []
        for function in tpl.functions(template).values():
            if wanted is not None and function.logical_id not in wanted:
                continue
            for name, event in function.events.items():
                props = event.get("Properties") or {}
                if props.get("Enabled") in (False, "false"):
                    continue
                if event["Type"] == "DynamoDB":
                    self.triggers.append(
                        _StreamTrigger.create(function.logical_id, name, props, stack, session)
                    )
                elif event["Type"] == "SQS":
                    self.triggers.append(
                        _QueueTrigger.create(function.logical_id, name, props, stack, session)
                    )
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def pump(self, max_rounds: int = 50) -> int:
        """Poll every trigger once per round until a round reads nothing (or ``max_rounds``).

        Returns how many records were delivered to functions in total, redeliveries included.
        Infrastructure errors (moto) raise; a function's error is the trigger's to handle.
        """
        delivered = 0
        for _ in range(max_rounds):
            results = [trigger.poll(self.invoke) for trigger in self.triggers]
            delivered += sum(r.delivered for r in results)
            if not any(r.read for r in results):
                break
        return delivered

    def start(self, interval: float = 0.2) -> None:
        """Poll until ``stop()`` in daemon threads, each trigger in its own (a queue in several),
        as Lambda's pollers are independent: a busy queue never waits for a quiet stream. An
        idle stream is read again after ``interval`` seconds; an idle queue is long-polled."""
        if self._threads:
            return
        self._stopping.clear()
        self._threads = [
            threading.Thread(target=self._run, args=(trigger, interval), name=trigger.name, daemon=True)
            for trigger in self.triggers
            for _ in range(trigger.pollers)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the threads, letting running invocations finish (up to ``timeout`` seconds in all)."""
        self._stopping.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = []

    def _run(self, trigger: _Trigger, interval: float) -> None:
        while not self._stopping.is_set():
            if time.monotonic() < trigger.retry_after:
                self._stopping.wait(min(interval, trigger.retry_after - time.monotonic()))
                continue
            try:
                busy = trigger.poll(self.invoke, wait_seconds=LONG_POLL_SECONDS).read > 0
            except Exception:
                LOG.exception("%s: polling failed", trigger.name)
                busy = False
            if not busy and not trigger.long_polls:
                self._stopping.wait(interval)


@dataclass
class _Result:
    read: int = 0  # records taken from the source (filtered ones included)
    delivered: int = 0  # records handed to the function


@dataclass
class _Trigger:
    function: str
    event: str
    source_arn: str
    batch_size: int
    report_failures: bool
    filters: list[dict[str, Any]]
    region: str
    retry_after: float = 0.0  # monotonic time before which the background thread leaves it alone
    _failures: int = 0
    backs_off = False  # class attributes, not fields
    long_polls = False
    pollers = 1  # batches in flight at once: Lambda reads a stream shard one batch at a time

    @property
    def name(self) -> str:
        return f"{self.function}.{self.event}"

    def poll(self, invoke: Invoke, wait_seconds: int = 0) -> _Result:
        """Read one batch and hand it to the function; a source that can wait for records
        waits up to ``wait_seconds`` when there are none."""
        raise NotImplementedError

    def keep(self, record: dict[str, Any]) -> bool:
        return not self.filters or any(_matches(pattern, record) for pattern in self.filters)

    def call(self, invoke: Invoke, records: list[dict[str, Any]]) -> tuple[bool, set[Any] | None]:
        """Invoke with ``records``: (raised, the failed item identifiers, None if none)."""
        try:
            result = invoke(self.function, {"Records": records})
        except Exception:
            LOG.exception("%s: the function failed on a batch of %d", self.name, len(records))
            self._backoff()
            return True, None
        if not self.report_failures or not isinstance(result, dict):
            self._reset()
            return False, None
        failures = result.get("batchItemFailures") or []
        failed = {f.get("itemIdentifier") if isinstance(f, dict) else None for f in failures}
        if failed:
            self._backoff()
        else:
            self._reset()
        return False, failed or None

    def _backoff(self) -> None:
        """A failing stream batch blocks its shard: the background thread retries it with backoff.
        A queue needs none, its failed messages wait out their visibility timeout."""
        if not self.backs_off:
            return
        self._failures += 1
        self.retry_after = time.monotonic() + min(_MAX_BACKOFF_SECONDS, 0.5 * 2 ** (self._failures - 1))

    def _reset(self) -> None:
        self._failures = 0
        self.retry_after = 0.0


@dataclass
class _StreamTrigger(_Trigger):
    backs_off = True
    streams: Any = None
    starting_position: str = "TRIM_HORIZON"
    _iterators: dict[str, str] = field(default_factory=dict)  # shard id -> next iterator
    _next_discovery: float = 0.0  # when to look for new shards again (monotonic)
    _done: dict[str, str] = field(default_factory=dict)  # shard id -> last sequence number done

    @classmethod
    def create(
        cls, function: str, event: str, props: dict[str, Any], stack: _Stack, session: Any
    ) -> _StreamTrigger:
        trigger = cls(
            function=function,
            event=event,
            source_arn=stack.resolve(props["Stream"]),
            batch_size=int(props.get("BatchSize", 100)),
            report_failures=_REPORT_FAILURES in (props.get("FunctionResponseTypes") or []),
            filters=_filters(props),
            region=stack.region,
            streams=session.client("dynamodbstreams"),
            starting_position=props.get("StartingPosition", "TRIM_HORIZON"),
        )
        trigger._discover()  # LATEST means from when the mapping exists, as on deploy
        return trigger

    def _discover(self) -> None:
        """Start reading every shard not read yet; DynamoDB adds shards over time, so again later."""
        self._next_discovery = time.monotonic() + _DISCOVERY_SECONDS
        description = self.streams.describe_stream(StreamArn=self.source_arn)["StreamDescription"]
        for shard in description.get("Shards", []):
            if shard["ShardId"] not in self._iterators:
                self._iterators[shard["ShardId"]] = self._iterator(shard["ShardId"], self.starting_position)

    def poll(self, invoke: Invoke, wait_seconds: int = 0) -> _Result:
        if time.monotonic() >= self._next_discovery:
            self._discover()
        result = _Result()
        for shard_id, iterator in list(self._iterators.items()):
            page = self._records(shard_id, iterator)
            records = [self._lambda_record(r) for r in page.get("Records", [])]
            if not records:
                self._iterators[shard_id] = page["NextShardIterator"]
                continue
            result.read += len(records)
            kept = [r for r in records if self.keep(r)]
            restart_at: str | None = None
            if kept:
                result.delivered += len(kept)
                raised, failed = self.call(invoke, kept)
                sequence_numbers = {r["dynamodb"]["SequenceNumber"] for r in kept}
                if raised or (failed is not None and not failed <= sequence_numbers):
                    restart_at = records[0]["dynamodb"]["SequenceNumber"]  # the whole batch again
                elif failed:
                    restart_at = min(failed, key=int)
            if restart_at is None:
                self._iterators[shard_id] = page["NextShardIterator"]
                self._done[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
            else:
                self._iterators[shard_id] = self._iterator(shard_id, "AT_SEQUENCE_NUMBER", restart_at)
        return result

    def _records(self, shard_id: str, iterator: str) -> dict[str, Any]:
        """One ``GetRecords``. An iterator expires after 15 minutes (a machine that slept): the
        shard is read on from the last record done, as Lambda's checkpoint does."""
        from botocore.exceptions import ClientError

        try:
            return dict(self.streams.get_records(ShardIterator=iterator, Limit=self.batch_size))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ExpiredIteratorException":
                raise
        done = self._done.get(shard_id)
        LOG.warning("%s: shard iterator expired; reading on after record %s", self.name, done or "none")
        try:
            iterator = self._iterator(shard_id, "AFTER_SEQUENCE_NUMBER", done) if done else ""
        except ClientError as exc:  # the records after it are gone (older than 24 hours)
            if exc.response.get("Error", {}).get("Code") != "TrimmedDataAccessException":
                raise
            iterator = ""
        return dict(
            self.streams.get_records(
                ShardIterator=iterator or self._iterator(shard_id, "TRIM_HORIZON"), Limit=self.batch_size
            )
        )

    def _iterator(self, shard_id: str, kind: str, sequence_number: str | None = None) -> str:
        position = {"SequenceNumber": sequence_number} if sequence_number else {}
        return str(
            self.streams.get_shard_iterator(
                StreamArn=self.source_arn, ShardId=shard_id, ShardIteratorType=kind, **position
            )["ShardIterator"]
        )

    def _lambda_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """A DynamoDB Streams record as Lambda delivers it (JSON types, the stream's ARN)."""
        change = dict(record["dynamodb"])
        created = change.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            change["ApproximateCreationDateTime"] = int(created.timestamp())
        for image in ("Keys", "NewImage", "OldImage"):
            if image in change:
                change[image] = _json_attribute_values(change[image])
        shaped = {
            "eventID": record["eventID"],
            "eventName": record["eventName"],
            "eventVersion": "1.1",  # what DynamoDB Streams and Lambda send (moto says 1.0)
            "eventSource": "aws:dynamodb",
            "awsRegion": self.region,
            "dynamodb": change,
            "eventSourceARN": self.source_arn,
        }
        if "userIdentity" in record:
            shaped["userIdentity"] = record["userIdentity"]
        return shaped


@dataclass
class _QueueTrigger(_Trigger):
    long_polls = True
    pollers = 3  # Lambda polls a queue with several batches in flight (five to start with)
    sqs: Any = None
    queue_url: str = ""

    @classmethod
    def create(
        cls, function: str, event: str, props: dict[str, Any], stack: _Stack, session: Any
    ) -> _QueueTrigger:
        arn = stack.resolve(props["Queue"])
        sqs = session.client("sqs")
        _, _, _, _, account, name = arn.split(":", 5)
        return cls(
            function=function,
            event=event,
            source_arn=arn,
            batch_size=int(props.get("BatchSize", 10)),
            report_failures=_REPORT_FAILURES in (props.get("FunctionResponseTypes") or []),
            filters=_filters(props),
            region=stack.region,
            sqs=sqs,
            queue_url=sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"],
        )

    def poll(self, invoke: Invoke, wait_seconds: int = 0) -> _Result:
        messages: list[dict[str, Any]] = []
        while len(messages) < self.batch_size:
            page = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(_SQS_BATCH_LIMIT, self.batch_size - len(messages)),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0 if messages else wait_seconds,
            )
            if not page.get("Messages"):
                break
            messages += page["Messages"]
        if not messages:
            return _Result()
        records = [self._lambda_record(m) for m in messages]
        kept = [r for r in records if self.keep(r)]
        done = [r for r in records if not self.keep(r)]  # filtered out: Lambda deletes them
        if kept:
            raised, failed = self.call(invoke, kept)
            if not raised and (failed is None or failed <= {r["messageId"] for r in kept}):
                done += [r for r in kept if r["messageId"] not in (failed or set())]
        self._delete(done)
        return _Result(read=len(records), delivered=len(kept))

    def _delete(self, records: list[dict[str, Any]]) -> None:
        for start in range(0, len(records), _SQS_BATCH_LIMIT):
            chunk = records[start : start + _SQS_BATCH_LIMIT]
            reply = self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)],
            )
            if reply.get("Failed"):
                LOG.warning("%s: could not delete %s", self.name, reply["Failed"])

    def _lambda_record(self, message: dict[str, Any]) -> dict[str, Any]:
        """An SQS message as Lambda delivers it."""
        record = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message.get("Body", ""),
            "attributes": dict(message.get("Attributes") or {}),
            "messageAttributes": {
                name: _lambda_message_attribute(value)
                for name, value in (message.get("MessageAttributes") or {}).items()
            },
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.source_arn,
            "awsRegion": self.region,
        }
        if message.get("MD5OfMessageAttributes"):
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        return record


def _lambda_message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    def b64(data: Any) -> str:
        return base64.b64encode(data).decode() if isinstance(data, bytes) else str(data)

    shaped: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues") or []),
        "binaryListValues": [b64(v) for v in value.get("BinaryListValues") or []],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        shaped["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        shaped["binaryValue"] = b64(value["BinaryValue"])
    return shaped


def _json_attribute_values(value: Any) -> Any:
    """DynamoDB attribute values as in JSON: binary (``B``, ``BS``) as base64 text."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _json_attribute_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_attribute_values(v) for v in value]
    return value


# -- FilterCriteria -----------------------------------------------------------------------------


def _filters(props: dict[str, Any]) -> list[dict[str, Any]]:
    """The event's filter patterns; refuses the pattern operators this emulation lacks."""
    patterns = []
    for item in (props.get("FilterCriteria") or {}).get("Filters") or []:
        pattern = item["Pattern"]
        pattern = json.loads(pattern) if isinstance(pattern, str) else pattern
        _check_pattern(pattern)
        patterns.append(pattern)
    return patterns


def _check_pattern(pattern: Any) -> None:
    if not isinstance(pattern, dict):
        raise ValueError(f"a filter pattern must be an object: {pattern!r}")
    for key, rule in pattern.items():
        if isinstance(rule, dict):
            _check_pattern(rule)
        elif not isinstance(rule, list) or any(isinstance(v, (dict, list)) for v in rule):
            raise NotImplementedError(
                f"filter pattern {key}: {rule!r}: only exact-match lists are emulated locally"
            )


def _matches(pattern: dict[str, Any], data: Any) -> bool:
    """EventBridge-style matching: every key must match; a list matches any of its values."""
    if not isinstance(data, dict):
        return False
    for key, rule in pattern.items():
        if key not in data:
            return False
        value = data[key]
        if isinstance(rule, dict):
            if key == "body" and isinstance(value, str):  # SQS: a JSON body is matched by field
                try:
                    value = json.loads(value)
                except ValueError:
                    return False
            if not _matches(rule, value):
                return False
        else:
            values = value if isinstance(value, list) else [value]
            if not any(_same(v, r) for v in values for r in rule):
                return False
    return True


def _same(value: Any, wanted: Any) -> bool:
    if isinstance(value, bool) or isinstance(wanted, bool):
        return value is wanted
    return bool(value == wanted)
