"""Identifiers and timestamps in the API's formats."""

from __future__ import annotations

import os
import re
import time
import uuid
from datetime import UTC, datetime

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
UUID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def new_id() -> str:
    """A lowercase UUID for clients, partners, credentials and accounts."""
    return str(uuid.uuid4())


def is_uuid(value: str) -> bool:
    return bool(UUID_PATTERN.match(value))


def new_event_id(now_ms: int | None = None) -> str:
    """``evt_`` + a ULID-style id: 48 bits of milliseconds then 80 random bits, so ids sort by time."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    return "evt_" + _crockford(ms, 10) + _crockford(int.from_bytes(os.urandom(10), "big"), 16)


def event_id_bound(ms: int, *, low: bool) -> str:
    """The smallest (or largest) event id of a millisecond, for time-range queries."""
    return "evt_" + _crockford(ms, 10) + ("0" if low else "z") * 16


def is_event_id(value: str) -> bool:
    return len(value) == 30 and value.startswith("evt_") and set(value[4:]) <= set(_CROCKFORD)


def _crockford(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def now_iso() -> str:
    """Current UTC time as ISO 8601 with milliseconds and ``Z``."""
    return iso(datetime.now(UTC))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_ms(timestamp: str) -> int:
    """Milliseconds since the epoch of an ISO 8601 timestamp such as ``now_iso()`` makes."""
    return int(datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp() * 1000)
