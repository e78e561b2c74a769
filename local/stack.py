"""Create the template's AWS resources in moto, from the template's own definitions."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

from local import template as tpl

# Resource types the local stack creates; the rest (API, functions, layer, logs) run in-process.
_TABLE, _KEY, _SECRET = "AWS::DynamoDB::Table", "AWS::KMS::Key", "AWS::SecretsManager::Secret"


@dataclass
class Stack:
    prefix: str
    physical_ids: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, str] = field(default_factory=dict)

    def environment(self, logical_id: str | None = None) -> dict[str, str]:
        return tpl.function_environment(self.physical_ids, self.parameters, logical_id)


def provision(
    prefix: str = "partner-api-local", parameters: dict[str, str] | None = None, session: Any = None
) -> Stack:
    """Create every table, key and secret of the template; returns their physical ids."""
    import boto3

    session = session or boto3.session.Session()
    template = tpl.load()
    stack = Stack(prefix, parameters={**tpl.parameter_defaults(template), **(parameters or {})})
    for logical_id, resource in template["Resources"].items():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == _TABLE:
            stack.physical_ids[logical_id] = _create_table(
                session.client("dynamodb"), f"{prefix}-{logical_id}", props
            )
        elif kind == _KEY:
            stack.physical_ids[logical_id] = session.client("kms").create_key(
                Description=props.get("Description", logical_id),
                KeySpec=props["KeySpec"],
                KeyUsage=props["KeyUsage"],
            )["KeyMetadata"]["KeyId"]
        elif kind == _SECRET:
            stack.physical_ids[logical_id] = session.client("secretsmanager").create_secret(
                Name=f"{prefix}-{logical_id}",
                SecretString=secrets.token_urlsafe(48),
            )["ARN"]
    return stack


def _create_table(dynamodb: Any, name: str, props: dict[str, Any]) -> str:
    params: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        params["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if props.get("StreamSpecification"):
        params["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    dynamodb.create_table(**params)
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    return name


_moto_lock = threading.RLock()
_serialized = False


def serialize_moto_dynamodb() -> None:
    """Make moto's DynamoDB behave atomically under concurrent requests.

    DynamoDB serializes conflicting writes and transactions; moto checks a transaction's
    conditions and applies it without a lock (and rolls back by restoring a whole-table
    copy), so concurrent requests could both pass a uniqueness check. One lock around the
    backend's operations closes that gap for tests and the local runner.
    """
    global _serialized
    if _serialized:
        return
    from moto.dynamodb.models import DynamoDBBackend

    for name in (
        "put_item",
        "update_item",
        "delete_item",
        "get_item",
        "query",
        "scan",
        "batch_get_item",
        "transact_write_items",
        "transact_get_items",
        "batch_write_item",
    ):
        original = getattr(DynamoDBBackend, name)

        def locked(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _moto_lock:
                return __original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, locked)
    _serialized = True
