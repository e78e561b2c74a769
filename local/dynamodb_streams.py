"""DynamoDB Streams' retention, which moto 5.2.5 lacks.

DynamoDB keeps a stream record 24 hours and a shard iterator 15 minutes. moto keeps every record
and every iterator forever (each ``GetRecords`` adds one more), so a local run polling its
stream grew without bound. Here:

- a record leaves the shard after 24 hours, or once every reader has passed it. A reader is a
  chain of iterators: ``GetRecords`` on an iterator hands out the next one, and a reader has
  passed a record when it uses an iterator after it. Until then the records of the batch it is
  working on stay, so it can ask for them again (``AT_SEQUENCE_NUMBER``) when the batch failed;
- an iterator expires 15 minutes after it was handed out (``ExpiredIteratorException``), and
  one is forgotten as soon as its reader moved past it;
- sequence numbers keep counting across trimmed records, and an iterator at a trimmed position
  gets ``TrimmedDataAccessException``, as from DynamoDB; ``TRIM_HORIZON`` is the oldest record kept.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.dynamodb.models.table import StreamRecord, StreamShard
from moto.dynamodbstreams.models import DynamoDBStreamsBackend, ShardIterator

RECORD_HOURS = 24
ITERATOR_SECONDS = 15 * 60


class ExpiredIterator(JsonRESTError):
    def __init__(self) -> None:
        super().__init__(
            "ExpiredIteratorException", "Iterator expired. The iterator was created over 15 minutes ago."
        )


class TrimmedDataAccess(JsonRESTError):
    def __init__(self) -> None:
        super().__init__(
            "TrimmedDataAccessException",
            "The records asked for are older than 24 hours or every reader has passed them.",
        )


def apply() -> None:
    StreamShard.add = _add  # type: ignore[method-assign]
    StreamShard.get = _get  # type: ignore[method-assign]
    ShardIterator.get = _iterator_get  # type: ignore[method-assign]
    original_init = ShardIterator.__init__

    def init(
        self: ShardIterator, backend: Any, shard: StreamShard, kind: str, sequence_number: Any = None
    ) -> None:
        original_init(self, backend, shard, kind, sequence_number)
        if kind == "TRIM_HORIZON":
            self.sequence_number = first_position(shard)
        elif kind == "LATEST":
            self.sequence_number = next_position(shard)
        self.sequence_number = int(self.sequence_number)
        self.expires = time.monotonic() + ITERATOR_SECONDS
        self.predecessor: ShardIterator | None = None
        _readers(shard)[id(self)] = self

    ShardIterator.__init__ = init  # type: ignore[method-assign]
    DynamoDBStreamsBackend.get_records = _get_records  # type: ignore[method-assign]
    DynamoDBStreamsBackend.get_shard_iterator = _forgetting_expired(DynamoDBStreamsBackend.get_shard_iterator)  # type: ignore[method-assign]


def _trimmed(shard: StreamShard) -> int:
    return int(shard.__dict__.get("_local_trimmed", 0))


def first_position(shard: StreamShard) -> int:
    """The sequence number of the oldest record still in the shard."""
    return int(shard.starting_sequence_number) + _trimmed(shard)


def next_position(shard: StreamShard) -> int:
    """The sequence number the next record will get."""
    return first_position(shard) + len(shard.items)


def discard_from(shard: StreamShard, position: int) -> None:
    """Remove the records from ``position`` on (a cancelled transaction's); none was read yet."""
    del shard.items[max(0, position - first_position(shard)) :]


def _readers(shard: StreamShard) -> OrderedDict[int, ShardIterator]:
    """The shard's live iterators, oldest first."""
    readers: OrderedDict[int, ShardIterator] | None = shard.__dict__.get("_local_readers")
    if readers is None:
        readers = OrderedDict()
        shard._local_readers = readers  # type: ignore[attr-defined]
    return readers


def _add(self: StreamShard, old: Any, new: Any) -> None:
    """moto's ``StreamShard.add`` with sequence numbers that survive trimming. (moto's version also
    feeds moto's own Lambda event source mappings, which the local stack does not use.)"""
    view = self.table.stream_specification["StreamViewType"]  # type: ignore[index]
    event_name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
    self.items.append(StreamRecord(self.table, view, event_name, old, new, next_position(self)))
    trim(self)


def _get(self: StreamShard, start: int, quantity: int) -> list[dict[str, Any]]:
    offset = int(start) - first_position(self)
    if offset < 0:
        raise TrimmedDataAccess()
    return [record.to_json() for record in self.items[offset : offset + quantity]]


def trim(shard: StreamShard, now: datetime | None = None) -> None:
    """Drop the records older than 24 hours and those every reader has passed."""
    _forget_expired(shard)
    oldest_kept = (now or datetime.now(UTC)) - timedelta(hours=RECORD_HOURS)
    drop = 0
    for record in shard.items:
        created = record.record["dynamodb"]["ApproximateCreationDateTime"]
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        if created >= oldest_kept:
            break
        drop += 1
    readers = _readers(shard)
    if readers:
        passed = min(reader.sequence_number for reader in readers.values()) - first_position(shard)
        drop = max(drop, min(passed, len(shard.items)))
    if drop > 0:
        del shard.items[:drop]
        shard._local_trimmed = _trimmed(shard) + drop  # type: ignore[attr-defined]


def _iterator_get(self: ShardIterator, limit: int = 1000) -> dict[str, Any]:
    """moto's ``ShardIterator.get``: the records and the reader's next iterator, after which
    the iterator before this one is no longer needed."""
    if self.expires <= time.monotonic() or id(self) not in _readers(self.stream_shard):
        raise ExpiredIterator()
    records = self.stream_shard.get(self.sequence_number, limit)
    after = int(records[-1]["dynamodb"]["SequenceNumber"]) + 1 if records else self.sequence_number
    following = ShardIterator(self.streams_backend, self.stream_shard, "AT_SEQUENCE_NUMBER", after)
    following.predecessor = self
    if self.predecessor is not None:
        _release(self.predecessor)
        self.predecessor = None
    self.streams_backend.shard_iterators[following.arn] = following
    trim(self.stream_shard)
    return {"NextShardIterator": following.arn, "Records": records}


def _release(iterator: ShardIterator) -> None:
    _readers(iterator.stream_shard).pop(id(iterator), None)
    iterator.streams_backend.shard_iterators.pop(iterator.arn, None)


def _forget_expired(shard: StreamShard) -> None:
    readers = _readers(shard)
    now = time.monotonic()
    while readers:
        oldest = next(iter(readers.values()))
        if oldest.expires > now:
            return
        _release(oldest)


def _get_records(self: DynamoDBStreamsBackend, iterator_arn: str, limit: int) -> dict[str, Any]:
    iterator = self.shard_iterators.get(iterator_arn)
    if iterator is None:
        raise ExpiredIterator()
    return iterator.get(limit)  # type: ignore[no-any-return]


def _forgetting_expired(get_shard_iterator: Any) -> Any:
    def run(self: DynamoDBStreamsBackend, *args: Any, **kwargs: Any) -> Any:
        iterator = get_shard_iterator(self, *args, **kwargs)
        _forget_expired(iterator.stream_shard)
        if iterator.sequence_number < first_position(iterator.stream_shard):
            _release(iterator)
            raise TrimmedDataAccess()
        return iterator

    return run
