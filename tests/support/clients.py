"""Helpers shared by the clients test files: reading the tables directly, and envelope checks."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from tests.conftest import Tenant, shared_session
from tests.support.apigw import Api, Reply

CLIENTS = "/partner/v1/clients"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
REQUIRED_KEYS = {"clientId", "name", "email", "status", "partnerId", "registeredAt", "updatedAt"}
STATUSES = ("active", "inactive", "suspended", "deleted")
MAX_BODY = 64 * 1024


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return {_plain(v) for v in value}
    return value


class Stored:
    """What the tables hold, read with a plain boto3 client (not the code under test)."""

    def __init__(self, stack: Any) -> None:
        from boto3.dynamodb.types import TypeDeserializer

        self._ddb = shared_session().client("dynamodb", region_name="us-east-1")
        self._des = TypeDeserializer()
        self.users_table = stack.physical_ids["UsersTable"]
        self.tenants_table = stack.physical_ids["TenantsTable"]
        self.events_table = stack.physical_ids["EventsTable"]

    def _item(self, raw: dict[str, Any]) -> dict[str, Any]:
        return {k: _plain(self._des.deserialize(v)) for k, v in raw.items()}

    def _partition(self, table: str, pk: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {
            "TableName": table,
            "KeyConditionExpression": "PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ConsistentRead": True,
        }
        while True:
            page = self._ddb.query(**params)
            items.extend(self._item(i) for i in page["Items"])
            if not page.get("LastEvaluatedKey"):
                return sorted(items, key=lambda i: i["SK"])
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _get(self, table: str, pk: str, sk: str) -> dict[str, Any] | None:
        raw = self._ddb.get_item(
            TableName=table, Key={"PK": {"S": pk}, "SK": {"S": sk}}, ConsistentRead=True
        ).get("Item")
        return self._item(raw) if raw else None

    def client(self, tenant_id: str, client_id: str) -> dict[str, Any] | None:
        return self._get(self.users_table, f"TENANT#{tenant_id}", f"CLIENT#{client_id}")

    def clients(self, tenant_id: str) -> list[dict[str, Any]]:
        return [
            i
            for i in self._partition(self.users_table, f"TENANT#{tenant_id}")
            if i["SK"].startswith("CLIENT#")
        ]

    def email_owner(self, tenant_id: str, email: str) -> str | None:
        """The clientId holding ``email`` in the tenant, or None when the email is free."""
        item = self._get(self.users_table, f"TENANT#{tenant_id}", f"EMAIL#{email.lower()}")
        return item["clientId"] if item else None

    def email_claims(self, tenant_id: str) -> list[dict[str, Any]]:
        return [
            i
            for i in self._partition(self.users_table, f"TENANT#{tenant_id}")
            if i["SK"].startswith("EMAIL#")
        ]

    def counts(self, tenant_id: str, partner_id: str) -> dict[str, int]:
        """own_<status>/tree_<status> of a partner's counter item, missing ones as 0."""
        item = self._get(self.tenants_table, f"TENANT#{tenant_id}", f"COUNTS#{partner_id}") or {}
        return {f"{s}_{st}": int(item.get(f"{s}_{st}", 0)) for s in ("own", "tree") for st in STATUSES}

    def events(
        self, tenant_id: str, event_type: str | None = None, resource_id: str | None = None
    ) -> list[dict[str, Any]]:
        found = self._partition(self.events_table, f"TENANT#{tenant_id}")
        return [
            e
            for e in found
            if (event_type is None or e["type"] == event_type)
            and (resource_id is None or e["resource"]["id"] == resource_id)
        ]

    def client_events(self, tenant_id: str, resource_id: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.events(tenant_id, resource_id=resource_id) if e["type"].startswith("client.")]

    def snapshot(self, tenant_id: str) -> tuple[list[dict[str, Any]], ...]:
        """Every item a tenant owns in the three tables: compare two to prove nothing changed."""
        pk = f"TENANT#{tenant_id}"
        return (
            self._partition(self.users_table, pk),
            self._partition(self.tenants_table, pk),
            self._partition(self.events_table, pk),
        )


def expected_counts(**nonzero: int) -> dict[str, int]:
    """A counter item: ``active=2`` sets own_active and tree_active (a root partner's own = tree)."""
    counts = {f"{s}_{st}": 0 for s in ("own", "tree") for st in STATUSES}
    for status, value in nonzero.items():
        counts[f"own_{status}"] = counts[f"tree_{status}"] = value
    return counts


def assert_error(
    reply: Reply,
    status: int,
    code: str,
    *,
    field: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """The section 1 error envelope, with ``x-request-id`` in header and body alike."""
    assert reply.status == status, reply.text
    body = reply.body
    assert body["success"] is False
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"].strip()
    assert set(body) <= {"success", "code", "message", "details", "requestId"}, body
    assert body["requestId"] and body["requestId"] == reply.header("x-request-id")
    if request_id is not None:
        assert body["requestId"] == request_id
    for detail in body.get("details", []):
        assert set(detail) == {"field", "issue"}, detail
    if field is not None:
        assert field in [d["field"] for d in body.get("details", [])], body
    for leak in ("Traceback", "botocore", "ClientError", "Exception", "-UsersTable", "-TenantsTable"):
        assert leak not in reply.text
    return body  # type: ignore[no-any-return]


def assert_success(reply: Reply, status: int, message: str) -> Any:
    assert reply.status == status, reply.text
    body = reply.body
    assert set(body) == {"success", "message", "data"}, body
    assert body["success"] is True
    assert body["message"] == message
    assert reply.header("x-request-id")
    return body["data"]


def register(api: Api, tenant: Tenant, email: str, name: str = "Jane Roe", **fields: Any) -> dict[str, Any]:
    """Given-step helper: register a client through the API; returns its data."""
    reply = api.call("POST", CLIENTS, token=tenant.token, json_body={"name": name, "email": email, **fields})
    assert reply.status == 201, reply.text
    return reply.body["data"]  # type: ignore[no-any-return]


def remove(api: Api, tenant: Tenant, client_id: str) -> dict[str, Any]:
    reply = api.call("DELETE", f"{CLIENTS}/{client_id}", token=tenant.token)
    assert reply.status == 200, reply.text
    return reply.body["data"]  # type: ignore[no-any-return]


def patch(api: Api, tenant: Tenant, client_id: str, body: dict[str, Any]) -> Reply:
    return api.call("PATCH", f"{CLIENTS}/{client_id}", token=tenant.token, json_body=body)


def public_view(item: dict[str, Any]) -> dict[str, Any]:
    """The fields of a stored client item that the API shows."""
    keys = REQUIRED_KEYS | {
        "firstName",
        "lastName",
        "emailAlias",
        "phone",
        "title",
        "company",
        "initials",
        "identifier",
        "roles",
        "accountId",
        "metadata",
        "removedAt",
    }
    return {k: v for k, v in item.items() if k in keys}
