"""A DynamoDB response lost on its way back: the write is applied, botocore sees a read timeout,
and its retry handler sends the very same request again (as it does in AWS).

moto answers botocore through one ``before-send`` handler (``moto.core.models.botocore_stubber``).
A handler registered for one operation runs before it (botocore calls the more specific
handlers first), so it can hand the first request to moto itself, throw the answer away and
raise the ``ReadTimeoutError`` a lost response causes; later attempts go through untouched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.awsrequest import AWSPreparedRequest
from botocore.exceptions import ReadTimeoutError
from moto.core.models import botocore_stubber


class FirstResponseLost:
    """The ``before-send`` handler: loses the answer to the first request to ``table``."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.attempts = 0  # requests to the table that reached DynamoDB (moto)

    def __call__(self, event_name: str, request: AWSPreparedRequest, **_: Any) -> None:
        body = request.body  # DynamoDB's JSON request, as bytes
        if not isinstance(body, bytes) or self.table not in _tables_named(json.loads(body)):
            return
        self.attempts += 1
        if self.attempts == 1:
            botocore_stubber(event_name, request)  # DynamoDB applies the write...
            raise ReadTimeoutError(endpoint_url=request.url)  # ...and its answer never arrives


def _tables_named(request: dict[str, Any]) -> set[str]:
    """The tables a request writes: its ``TableName``, or its transaction's actions' tables."""
    named = {request.get("TableName")}
    for action in request.get("TransactItems", []):
        named |= {part.get("TableName") for part in action.values()}
    return {name for name in named if name}


@contextmanager
def first_response_lost(client: Any, operation: str, table: str) -> Iterator[FirstResponseLost]:
    """Within the block, the first ``operation`` (``"PutItem"``, ``"UpdateItem"``,
    ``"TransactWriteItems"``) that ``client`` sends to ``table`` is applied but its response lost;
    botocore retries it."""
    lost = FirstResponseLost(table)
    event = f"before-send.dynamodb.{operation}"
    client.meta.events.register(event, lost)
    try:
        yield lost
    finally:
        client.meta.events.unregister(event, lost)
