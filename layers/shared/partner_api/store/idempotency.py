"""Where Powertools' idempotency utility keeps its records: the idempotency table.

Powertools claims a key with a conditional ``put_item``. When botocore resends that put after
losing its response, the resend finds the first attempt's INPROGRESS record, and Powertools
would take our own request for another one already in progress. The client it is given here
makes that put with ``put_item_once``, which recognises the record as ours; everything else
is Powertools' own ``DynamoDBPersistenceLayer`` unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from partner_api.config import settings
from partner_api.store import aws
from partner_api.store.dynamo import put_item_once

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer


class _RetrySafePuts:
    """The container's DynamoDB client, but ``put_item`` is ``put_item_once``."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def put_item(self, **params: Any) -> dict[str, Any]:
        return put_item_once(self._client, **params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def persistence_layer() -> DynamoDBPersistenceLayer:
    """A Powertools persistence layer over the idempotency table, safe against botocore's
    retries; one per call, as Powertools configures it for the function it wraps."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(
        table_name=settings().idempotency_table, boto3_client=_RetrySafePuts(aws.client("dynamodb"))
    )
