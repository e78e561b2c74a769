"""The clients routes (API.md section 4) and the section 1 conventions as they apply to them.

Every test reads as Given / When / Then and checks the reply body and what the tables hold,
read directly from DynamoDB rather than through the API under test.
"""

from __future__ import annotations

import json
import re
import uuid
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import Tenant, token_for
from tests.support.apigw import Api, Reply

CLIENTS = "/partner/v1/clients"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
REQUIRED_KEYS = {"clientId", "name", "email", "status", "partnerId", "registeredAt", "updatedAt"}
STATUSES = ("active", "inactive", "suspended", "deleted")
MAX_BODY = 64 * 1024


# --------------------------------------------------------------------------- helpers shared by the
# clients test files (test_legacy_users, test_client_lists and test_concurrency import them)


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
        import boto3
        from boto3.dynamodb.types import TypeDeserializer

        self._ddb = boto3.client("dynamodb", region_name="us-east-1")
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


@pytest.fixture
def stored(stack: Any) -> Stored:
    return Stored(stack)


# --------------------------------------------------------------------------- POST /partner/v1/clients


def test_register_answers_201_with_only_the_fields_that_are_set(api: Api, tenant: Tenant) -> None:
    # Given a tenant
    # When it registers a client with just a name and an email
    reply = api.call(
        "POST", CLIENTS, token=tenant.token, json_body={"name": "John Doe", "email": "john.doe@example.com"}
    )

    # Then the client comes back active, owned by the caller, with no optional field present
    data = assert_success(reply, 201, "Client registered successfully.")
    assert set(data) == REQUIRED_KEYS
    assert UUID_RE.match(data["clientId"])
    assert data["name"] == "John Doe"
    assert data["email"] == "john.doe@example.com"
    assert data["status"] == "active"
    assert data["partnerId"] == tenant.partner_id
    assert TIMESTAMP_RE.match(data["registeredAt"])
    assert data["updatedAt"] == data["registeredAt"]
    assert reply.header("ETag")
    assert reply.header("Content-Type") == "application/json"


def test_register_stores_the_client_its_email_claim_the_counters_and_one_event(
    api: Api, tenant: Tenant, stored: Stored
) -> None:
    # Given a tenant with no clients
    assert stored.counts(tenant.partner_id, tenant.partner_id) == expected_counts()

    # When it registers a client
    reply = api.call(
        "POST",
        CLIENTS,
        token=tenant.token,
        json_body={"name": "John Doe", "email": "John.Doe@Example.com"},
        headers={"x-request-id": "register-1"},
    )
    assert reply.status == 201, reply.text
    data = reply.body["data"]
    client_id = data["clientId"]

    # Then the client item holds what the reply showed
    item = stored.client(tenant.partner_id, client_id)
    assert item is not None
    assert public_view(item) == data
    # and its email is claimed case-insensitively for that client, and nothing else is stored
    assert stored.email_owner(tenant.partner_id, "john.doe@example.com") == client_id
    assert [c["clientId"] for c in stored.clients(tenant.partner_id)] == [client_id]
    assert len(stored.email_claims(tenant.partner_id)) == 1
    # and the counters moved by one
    assert stored.counts(tenant.partner_id, tenant.partner_id) == expected_counts(active=1)
    # and exactly one client.registered event records it
    (event,) = stored.client_events(tenant.partner_id)
    assert event["type"] == "client.registered"
    assert event["eventId"].startswith("evt_")
    assert event["resource"] == {"type": "client", "id": client_id}
    assert event["partnerId"] == tenant.partner_id
    assert event["actor"] == {
        "type": "partner",
        "clientId": tenant.credential.client_id,
        "partnerId": tenant.partner_id,
    }
    assert event["requestId"] == "register-1"
    assert event["changes"]["email"]["to"] == "John.Doe@Example.com"
    assert event["changes"]["status"] == {"from": None, "to": "active"}


def test_register_with_every_optional_field_shows_them_all(api: Api, tenant: Tenant, stored: Stored) -> None:
    # Given every optional field a client can carry
    body = {
        "name": "John Doe",
        "email": "john.doe@example.com",
        "firstName": "John",
        "lastName": "Doe",
        "emailAlias": "jd@example.org",
        "phone": "+1 555 0100",
        "title": "CTO",
        "company": "Acme",
        "initials": "JD",
        "identifier": "85932577000194",
        "roles": ["ACCOUNT_ADMIN", "MANAGER"],
        "metadata": {"crm_id": "42", "tier": "gold"},
        "partnerId": tenant.partner_id,
    }

    # When the client is registered with them
    reply = api.call("POST", CLIENTS, token=tenant.token, json_body=body)

    # Then the reply shows each of them, plus the server-made fields
    data = assert_success(reply, 201, "Client registered successfully.")
    assert data == {
        **body,
        "clientId": data["clientId"],
        "status": "active",
        "registeredAt": data["registeredAt"],
        "updatedAt": data["registeredAt"],
    }
    # and GET shows the same client
    fetched = api.call("GET", f"{CLIENTS}/{data['clientId']}", token=tenant.token)
    assert assert_success(fetched, 200, "Client retrieved successfully.") == data
    assert public_view(stored.client(tenant.partner_id, data["clientId"]) or {}) == data


def test_register_derives_the_name_from_first_and_last_name(api: Api, tenant: Tenant, stored: Stored) -> None:
    # Given a body with firstName and lastName but no name
    body = {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"}

    # When it is registered
    reply = api.call("POST", CLIENTS, token=tenant.token, json_body=body)

    # Then the name is "firstName lastName", stored that way too
    data = assert_success(reply, 201, "Client registered successfully.")
    assert data["name"] == "Ada Lovelace"
    assert (data["firstName"], data["lastName"]) == ("Ada", "Lovelace")
    assert stored.client(tenant.partner_id, data["clientId"])["name"] == "Ada Lovelace"  # type: ignore[index]


def test_register_trims_string_fields(api: Api, tenant: Tenant, stored: Stored) -> None:
    # Given string fields padded with whitespace
    body = {"name": "  Grace Hopper ", "email": " grace@example.com  ", "title": "  Admiral "}

    # When the client is registered
    data = assert_success(
        api.call("POST", CLIENTS, token=tenant.token, json_body=body), 201, "Client registered successfully."
    )

    # Then every value is stored and shown trimmed
    assert (data["name"], data["email"], data["title"]) == ("Grace Hopper", "grace@example.com", "Admiral")
    assert stored.email_owner(tenant.partner_id, "grace@example.com") == data["clientId"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "No Email"}, "email"),
        ({"name": "Blank Email", "email": "   "}, "email"),
        ({"name": "Empty Email", "email": ""}, "email"),
        ({"email": "nameless@example.com"}, "name"),
        ({"email": "half@example.com", "firstName": "Only"}, "name"),
        ({"email": "blank@example.com", "name": "  "}, "name"),
    ],
    ids=["missing-email", "blank-email", "empty-email", "no-name", "first-name-only", "blank-name"],
)
def test_register_without_a_required_field_is_missing_required_params(
    api: Api, tenant: Tenant, stored: Stored, body: dict[str, Any], field: str
) -> None:
    # Given a tenant and its stored state
    before = stored.snapshot(tenant.partner_id)

    # When a body lacks a required field (blank counts as missing)
    reply = api.call("POST", CLIENTS, token=tenant.token, json_body=body)

    # Then it is refused naming the field, and nothing is written
    assert_error(reply, 400, "MISSING_REQUIRED_PARAMS", field=field)
    assert stored.snapshot(tenant.partner_id) == before


def test_register_with_no_body_is_missing_required_params(api: Api, tenant: Tenant, stored: Stored) -> None:
    before = stored.snapshot(tenant.partner_id)

    reply = api.call("POST", CLIENTS, token=tenant.token)

    assert_error(reply, 400, "MISSING_REQUIRED_PARAMS", field="email")
    assert stored.snapshot(tenant.partner_id) == before


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"nickname": "JJ"}, "nickname"),
        ({"registeredAt": "2025-01-01T00:00:00.000Z"}, "registeredAt"),
        ({"clientId": "0b7d2c8e-4f3a-4a55-9d8e-2f8b8c9a1b2c"}, "clientId"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "two@@example.com"}, "email"),
        ({"name": "x" * 256}, "name"),
        ({"roles": ["SUPERUSER"]}, "roles"),
        ({"roles": "ACCOUNT_ADMIN"}, "roles"),
        ({"metadata": {f"k{i}": "v" for i in range(51)}}, "metadata"),
        ({"metadata": {"k" * 41: "v"}}, "metadata"),
        ({"metadata": {"k": "v" * 501}}, "metadata"),
        ({"metadata": {"k": 42}}, "metadata"),
        ({"metadata": ["k"]}, "metadata"),
        ({"accountId": "not-a-uuid"}, "accountId"),
        ({"partnerId": "not-a-uuid"}, "partnerId"),
        ({"emailAlias": "nope"}, "emailAlias"),
    ],
    ids=[
        "unknown-field",
        "read-only-registeredAt",
        "read-only-clientId",
        "bad-email",
        "double-at-email",
        "name-too-long",
        "unknown-role",
        "roles-not-a-list",
        "metadata-51-keys",
        "metadata-key-too-long",
        "metadata-value-too-long",
        "metadata-non-string-value",
        "metadata-not-an-object",
        "malformed-accountId",
        "malformed-partnerId",
        "bad-email-alias",
    ],
)
def test_register_with_an_invalid_field_is_invalid_parameter(
    api: Api, tenant: Tenant, stored: Stored, extra: dict[str, Any], field: str
) -> None:
    # Given a tenant and its stored state
    before = stored.snapshot(tenant.partner_id)
    body = {"name": "Val Idation", "email": "val@example.com", **extra}

    # When the body has one offending field
    reply = api.call("POST", CLIENTS, token=tenant.token, json_body=body)

    # Then it is refused as INVALID_PARAMETER with that field in details, and nothing is written
    error = assert_error(reply, 400, "INVALID_PARAMETER")
    fields = [d["field"] for d in error["details"]]
    assert any(f == field or f.startswith(f"{field}.") for f in fields), error
    assert stored.snapshot(tenant.partner_id) == before


@pytest.mark.parametrize(
    ("method", "path_suffix"),
    [("POST", ""), ("PATCH", "/{id}")],
)
def test_a_body_that_is_not_json_is_invalid_json(
    api: Api, tenant: Tenant, stored: Stored, method: str, path_suffix: str
) -> None:
    # Given a registered client
    client = register(api, tenant, "json@example.com")
    before = stored.snapshot(tenant.partner_id)

    # When a body is not valid JSON
    reply = api.call(
        method,
        CLIENTS + path_suffix.format(id=client["clientId"]),
        token=tenant.token,
        body='{"name": "Broken", "email": ',
        headers={"Content-Type": "application/json"},
    )

    # Then it is INVALID_JSON and nothing changes
    assert_error(reply, 400, "INVALID_JSON")
    assert stored.snapshot(tenant.partner_id) == before


def test_a_json_body_that_is_not_an_object_is_invalid_parameter(
    api: Api, tenant: Tenant, stored: Stored
) -> None:
    before = stored.snapshot(tenant.partner_id)

    reply = api.call("POST", CLIENTS, token=tenant.token, json_body=[{"name": "A", "email": "a@example.com"}])

    assert_error(reply, 400, "INVALID_PARAMETER")
    assert stored.snapshot(tenant.partner_id) == before


def _padded_body(size: int) -> str:
    """A valid registration body of exactly ``size`` bytes (padded with JSON whitespace)."""
    core = json.dumps({"name": "Big Body", "email": "big@example.com"})
    assert len(core) < size
    return core[:-1] + " " * (size - len(core)) + "}"


def test_a_body_of_exactly_64_kib_is_accepted(api: Api, tenant: Tenant, stored: Stored) -> None:
    # Given a valid body of exactly 64 KiB
    body = _padded_body(MAX_BODY)
    assert len(body.encode()) == MAX_BODY

    # When it is posted
    reply = api.call(
        "POST", CLIENTS, token=tenant.token, body=body, headers={"Content-Type": "application/json"}
    )

    # Then the client is registered
    data = assert_success(reply, 201, "Client registered successfully.")
    assert stored.client(tenant.partner_id, data["clientId"]) is not None


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_body_over_64_kib_is_payload_too_large(
    api: Api, tenant: Tenant, stored: Stored, method: str
) -> None:
    # Given a registered client and a body one byte over 64 KiB
    client = register(api, tenant, "small@example.com")
    before = stored.snapshot(tenant.partner_id)
    body = _padded_body(MAX_BODY + 1)
    path = CLIENTS if method == "POST" else f"{CLIENTS}/{client['clientId']}"

    # When it is sent
    reply = api.call(
        method, path, token=tenant.token, body=body, headers={"Content-Type": "application/json"}
    )

    # Then it is refused with 413 and nothing changes
    assert_error(reply, 413, "PAYLOAD_TOO_LARGE")
    assert stored.snapshot(tenant.partner_id) == before


def test_a_duplicate_email_in_another_case_is_client_already_exists(
    api: Api, tenant: Tenant, stored: Stored
) -> None:
    # Given a client registered as john.doe@example.com
    first = register(api, tenant, "john.doe@example.com", name="John Doe")
    before = stored.snapshot(tenant.partner_id)

    # When another registration uses the same email in another case
    reply = api.call(
        "POST", CLIENTS, token=tenant.token, json_body={"name": "Johnny", "email": "JOHN.Doe@EXAMPLE.com"}
    )

    # Then it is a 409 naming the email, and the first client alone holds it
    error = assert_error(reply, 409, "CLIENT_ALREADY_EXISTS", field="email")
    assert error["message"] == "A client with this email already exists."
    assert stored.snapshot(tenant.partner_id) == before
    assert stored.email_owner(tenant.partner_id, "john.doe@example.com") == first["clientId"]
    assert stored.counts(tenant.partner_id, tenant.partner_id) == expected_counts(active=1)


def test_the_email_of_a_removed_client_can_be_registered_again(
    api: Api, tenant: Tenant, stored: Stored
) -> None:
    # Given a client that was removed
    old = register(api, tenant, "reuse@example.com")
    remove(api, tenant, old["clientId"])

    # When a new client registers with its email
    new = register(api, tenant, "Reuse@example.com", name="New Owner")

    # Then the new client holds the email, the old one stays deleted
    assert new["clientId"] != old["clientId"]
    assert stored.email_owner(tenant.partner_id, "reuse@example.com") == new["clientId"]
    assert stored.client(tenant.partner_id, old["clientId"])["status"] == "deleted"  # type: ignore[index]
    assert stored.counts(tenant.partner_id, tenant.partner_id) == expected_counts(active=1, deleted=1)


def test_an_unknown_account_id_is_account_not_found(api: Api, tenant: Tenant, stored: Stored) -> None:
    before = stored.snapshot(tenant.partner_id)

    reply = api.call(
        "POST",
        CLIENTS,
        token=tenant.token,
        json_body={"name": "A", "email": "acct@example.com", "accountId": str(uuid.uuid4())},
    )

    assert_error(reply, 404, "ACCOUNT_NOT_FOUND")
    assert stored.snapshot(tenant.partner_id) == before


def test_an_unknown_partner_id_is_partner_not_found(api: Api, tenant: Tenant, stored: Stored) -> None:
    before = stored.snapshot(tenant.partner_id)

    reply = api.call(
        "POST",
        CLIENTS,
        token=tenant.token,
        json_body={"name": "A", "email": "p@example.com", "partnerId": str(uuid.uuid4())},
    )

    assert_error(reply, 404, "PARTNER_NOT_FOUND")
    assert stored.snapshot(tenant.partner_id) == before


def test_another_tenants_partner_id_is_partner_not_found(
    api: Api, tenant: Tenant, other_tenant: Tenant, stored: Stored
) -> None:
    # Given two tenants
    before = stored.snapshot(tenant.partner_id)
    before_other = stored.snapshot(other_tenant.partner_id)

    # When one names the other's partner as the owner of a new client
    reply = api.call(
        "POST",
        CLIENTS,
        token=tenant.token,
        json_body={"name": "A", "email": "cross@example.com", "partnerId": other_tenant.partner_id},
    )

    # Then that partner is invisible to it, and neither tenant's data changes
    assert_error(reply, 404, "PARTNER_NOT_FOUND")
    assert stored.snapshot(tenant.partner_id) == before
    assert stored.snapshot(other_tenant.partner_id) == before_other


# --------------------------------------------------------------------------- auth and request ids


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", CLIENTS, {"name": "A", "email": "a@example.com"}),
        ("GET", CLIENTS, None),
        ("GET", CLIENTS + "/{id}", None),
        ("PATCH", CLIENTS + "/{id}", {"title": "X"}),
        ("DELETE", CLIENTS + "/{id}", None),
    ],
)
def test_no_authorization_header_is_401(
    api: Api, tenant: Tenant, stored: Stored, method: str, path: str, body: Any
) -> None:
    # Given a registered client
    client = register(api, tenant, "auth@example.com")
    before = stored.snapshot(tenant.partner_id)

    # When a request comes without an Authorization header
    reply = api.call(method, path.format(id=client["clientId"]), json_body=body)

    # Then it is refused and nothing changes
    assert_error(reply, 401, "NO_AUTHORIZATION_HEADER")
    assert stored.snapshot(tenant.partner_id) == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", CLIENTS, {"name": "A", "email": "a@example.com"}),
        ("PATCH", CLIENTS + "/{id}", {"title": "X"}),
        ("DELETE", CLIENTS + "/{id}", None),
    ],
)
def test_a_read_only_token_cannot_write(
    api: Api, tenant: Tenant, stored: Stored, method: str, path: str, body: Any
) -> None:
    # Given a client and a token holding only clients:read
    client = register(api, tenant, "scoped@example.com")
    read_token = token_for(api, tenant.credential, scope="clients:read")
    before = stored.snapshot(tenant.partner_id)

    # When that token is used on a writing route
    reply = api.call(method, path.format(id=client["clientId"]), token=read_token, json_body=body)

    # Then it lacks the scope and nothing changes
    assert_error(reply, 403, "MISSING_SCOPES")
    assert stored.snapshot(tenant.partner_id) == before


def test_a_read_only_token_can_read(api: Api, tenant: Tenant) -> None:
    # Given a client and a token holding only clients:read
    client = register(api, tenant, "reader@example.com")
    read_token = token_for(api, tenant.credential, scope="clients:read")

    # When it reads the client and the list
    one = api.call("GET", f"{CLIENTS}/{client['clientId']}", token=read_token)
    many = api.call("GET", CLIENTS, token=read_token)

    # Then both succeed
    assert assert_success(one, 200, "Client retrieved successfully.") == client
    assert [
        c["clientId"] for c in assert_success(many, 200, "Clients retrieved successfully.")["clients"]
    ] == [client["clientId"]]


def test_a_token_without_any_clients_scope_cannot_list(api: Api, tenant: Tenant) -> None:
    token = token_for(api, tenant.credential, scope="partners:read")

    reply = api.call("GET", CLIENTS, token=token)

    assert_error(reply, 403, "MISSING_SCOPES")


def test_a_given_request_id_is_echoed_in_header_and_error_body(api: Api, tenant: Tenant) -> None:
    # Given a request carrying x-request-id: abc-123
    headers = {"x-request-id": "abc-123"}

    # When it fails
    failed = api.call("GET", f"{CLIENTS}/{uuid.uuid4()}", token=tenant.token, headers=headers)
    # and when another one succeeds
    succeeded = api.call("GET", CLIENTS, token=tenant.token, headers=headers)

    # Then both echo the id in the header, and the error body carries it
    assert_error(failed, 404, "CLIENT_NOT_FOUND", request_id="abc-123")
    assert failed.header("x-request-id") == "abc-123"
    assert succeeded.status == 200
    assert succeeded.header("x-request-id") == "abc-123"


def test_without_a_request_id_the_server_makes_one(api: Api, tenant: Tenant) -> None:
    first = api.call("GET", f"{CLIENTS}/{uuid.uuid4()}", token=tenant.token)
    second = api.call("GET", f"{CLIENTS}/{uuid.uuid4()}", token=tenant.token)

    assert_error(first, 404, "CLIENT_NOT_FOUND")
    assert_error(second, 404, "CLIENT_NOT_FOUND")
    assert first.header("x-request-id") != second.header("x-request-id")


def test_an_overlong_request_id_is_replaced(api: Api, tenant: Tenant) -> None:
    # Given an x-request-id longer than 128 characters
    too_long = "r" * 129

    # When a request carries it
    reply = api.call(
        "GET", f"{CLIENTS}/{uuid.uuid4()}", token=tenant.token, headers={"x-request-id": too_long}
    )

    # Then the server uses an id of its own instead
    body = assert_error(reply, 404, "CLIENT_NOT_FOUND")
    assert body["requestId"] != too_long
    assert 0 < len(body["requestId"]) <= 128


# --------------------------------------------------------------------------- GET /partner/v1/clients/{id}


def test_get_returns_the_client_with_an_etag(api: Api, tenant: Tenant) -> None:
    # Given a registered client
    client = register(api, tenant, "get@example.com", title="Engineer")

    # When it is read
    reply = api.call("GET", f"{CLIENTS}/{client['clientId']}", token=tenant.token)

    # Then it is the same client, with an ETag
    assert assert_success(reply, 200, "Client retrieved successfully.") == client
    assert reply.header("ETag")


def test_get_an_unknown_client_is_client_not_found(api: Api, tenant: Tenant) -> None:
    reply = api.call("GET", f"{CLIENTS}/{uuid.uuid4()}", token=tenant.token)

    assert_error(reply, 404, "CLIENT_NOT_FOUND")


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize(
    "bad_id",
    ["not-a-uuid", "12345", "0B7D2C8E-4F3A-4A55-9D8E-2F8B8C9A1B2C", "0b7d2c8e4f3a4a559d8e2f8b8c9a1b2c"],
    ids=["word", "digits", "uppercase", "no-dashes"],
)
def test_a_malformed_client_id_is_invalid_parameter(
    api: Api, tenant: Tenant, stored: Stored, method: str, bad_id: str
) -> None:
    before = stored.snapshot(tenant.partner_id)

    reply = api.call(
        method,
        f"{CLIENTS}/{bad_id}",
        token=tenant.token,
        json_body={"title": "X"} if method == "PATCH" else None,
    )

    assert_error(reply, 400, "INVALID_PARAMETER", field="clientId")
    assert stored.snapshot(tenant.partner_id) == before


# --------------------------------------------------------------------------- PATCH /partner/v1/clients/{id}


def test_patch_changes_fields_and_records_one_update_event(api: Api, tenant: Tenant, stored: Stored) -> None:
    # Given a registered client
    client = register(api, tenant, "patch@example.com", name="Pat Old", title="Intern")
    cid = client["clientId"]

    # When its name, title and phone change
    reply = patch(api, tenant, cid, {"name": "Pat New", "title": "Lead", "phone": "+44 20 7946 0000"})

    # Then the full updated client comes back
    data = assert_success(reply, 200, "Client updated successfully.")
    assert data == {
        **client,
        "name": "Pat New",
        "title": "Lead",
        "phone": "+44 20 7946 0000",
        "updatedAt": data["updatedAt"],
    }
    assert TIMESTAMP_RE.match(data["updatedAt"]) and data["updatedAt"] >= client["registeredAt"]
    # and it is what is stored and what GET shows
    assert public_view(stored.client(tenant.partner_id, cid) or {}) == data
    assert api.call("GET", f"{CLIENTS}/{cid}", token=tenant.token).body["data"] == data
    # and one client.updated event says what changed
    (event,) = stored.events(tenant.partner_id, "client.updated", cid)
    assert event["changes"] == {
        "name": {"from": "Pat Old", "to": "Pat New"},
        "title": {"from": "Intern", "to": "Lead"},
        "phone": {"from": None, "to": "+44 20 7946 0000"},
    }
    # and counters did not move
    assert stored.counts(tenant.partner_id, tenant.partner_id) == expected_counts(active=1)


def test_patch_merges_metadata_and_null_removes_a_key(api: Api, tenant: Tenant, stored: Stored) -> None:
    # Given a client with metadata a, b
    client = register(api, tenant, "meta@example.com", metadata={"a": "1", "b": "2"})

    # When a PATCH removes b, changes a and adds c
    reply = patch(api, tenant, client["clientId"], {"metadata": {"a": "one", "b": None, "c": "3"}})

    # Then the metadata is the merge
    data = assert_success(reply, 200, "Client updated successfully.")
    assert data["metadata"] == {"a": "one", "c": "3"}
    assert stored.client(tenant.partner_id, client["clientId"])["metadata"] == {"a": "one", "c": "3"}  # type: ignore[index]


def test_patch_removing_every_metadata_key_omits_metadata(api: Api, tenant: Tenant, stored: Stored) -> None:
    client = register(api, tenant, "meta-gone@example.com", metadata={"only": "1"})

    data = assert_success(
        patch(api, tenant, client["clientId"], {"metadata": {"only": None}}),
        200,
        "Client updated successfully.",
    )

    assert "metadata" not in data
    fetched = api.call("GET", f"{CLIENTS}/{client['clientId']}", token=tenant.token).body["data"]
    assert "metadata" not in fetched


def test_patch_metadata_merging_beyond_50_keys_is_refused(api: Api, tenant: Tenant, stored: Stored) -> None:
    # Given a client with 30 metadata keys
    client = register(api, tenant, "meta50@example.com", metadata={f"old{i}": "v" for i in range(30)})
    before = stored.snapshot(tenant.partner_id)

    # When a PATCH would bring it to 51 keys
    reply = patch(api, tenant, client["clientId"], {"metadata": {f"new{i}": "v" for i in range(21)}})

    # Then it is refused and nothing changes
    assert_error(reply, 400, "INVALID_PARAMETER", field="metadata")
    assert stored.snapshot(tenant.partner_id) == before


def test_patch_null_clears_an_optional_field(api: Api, tenant: Tenant, stored: Stored) -> None:
    # Given a client with a title and a company
    client = register(api, tenant, "clear@example.com", title="CTO", company="Acme")

    # When the title is set to null
    data = assert_success(
        patch(api, tenant, client["clientId"], {"title": None}), 200, "Client updated successfully."
    )

    # Then the title is gone from the reply and the store; the company stays
    assert "title" not in data
    assert data["company"] == "Acme"
    item = stored.client(tenant.partner_id, client["clientId"]) or {}
    assert "title" not in item and item["company"] == "Acme"


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"registeredAt": "2020-01-01T00:00:00.000Z"}, "INVALID_PARAMETER", "registeredAt"),
        ({"updatedAt": "2020-01-01T00:00:00.000Z"}, "INVALID_PARAMETER", "updatedAt"),
        ({"clientId": "0b7d2c8e-4f3a-4a55-9d8e-2f8b8c9a1b2c"}, "INVALID_PARAMETER", "clientId"),
        ({"favouriteColour": "blue"}, "INVALID_PARAMETER", "favouriteColour"),
        ({"status": "archived"}, "INVALID_PARAMETER", "status"),
        ({"email": "not-an-email"}, "INVALID_PARAMETER", "email"),
        ({"roles": ["ROOT"]}, "INVALID_PARAMETER", "roles"),
        ({"name": "   "}, "MISSING_REQUIRED_PARAMS", "name"),
        ({"email": None}, "MISSING_REQUIRED_PARAMS", "email"),
    ],
    ids=[
        "read-only-registeredAt",
        "read-only-updatedAt",
        "read-only-clientId",
        "unknown-field",
        "bad-status",
        "bad-email",
        "bad-role",
        "blank-name",
        "null-email",
    ],
)
def test_patch_with_an_invalid_field_changes_nothing(
    api: Api, tenant: Tenant, stored: Stored, body: dict[str, Any], code: str, field: str
) -> None:
    # Given a registered client
    client = register(api, tenant, "strict@example.com")
    before = stored.snapshot(tenant.partner_id)

    # When a PATCH has an offending field
    reply = patch(api, tenant, client["clientId"], body)

    # Then it is refused naming the field, and nothing changes
    error = assert_error(reply, 400, code)
    assert any(d["field"] == field or d["field"].startswith(f"{field}.") for d in error["details"]), error
    assert stored.snapshot(tenant.partner_id) == before


def test_patch_read_only_field_is_reported_as_read_only(api: Api, tenant: Tenant) -> None:
    client = register(api, tenant, "ro@example.com")

    error = assert_error(
        patch(api, tenant, client["clientId"], {"registeredAt": client["registeredAt"]}),
        400,
        "INVALID_PARAMETER",
    )

    assert error["details"] == [{"field": "registeredAt", "issue": error["details"][0]["issue"]}]
    assert "read-only" in error["details"][0]["issue"]


def test_patch_an_unknown_client_is_client_not_found(api: Api, tenant: Tenant, stored: Stored) -> None:
    before = stored.snapshot(tenant.partner_id)

    reply = patch(api, tenant, str(uuid.uuid4()), {"title": "Ghost"})

    assert_error(reply, 404, "CLIENT_NOT_FOUND")
    assert stored.snapshot(tenant.partner_id) == before


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"accountId": "7d7c7a4e-1111-4222-8333-944455556666"}, "ACCOUNT_NOT_FOUND"),
        ({"partnerId": "7d7c7a4e-1111-4222-8333-944455556666"}, "PARTNER_NOT_FOUND"),
    ],
)
def test_patch_to_an_unknown_account_or_partner_is_not_found(
    api: Api, tenant: Tenant, stored: Stored, body: dict[str, Any], code: str
) -> None:
    client = register(api, tenant, "move@example.com")
    before = stored.snapshot(tenant.partner_id)

    reply = patch(api, tenant, client["clientId"], body)

    assert_error(reply, 404, code)
    assert stored.snapshot(tenant.partner_id) == before


def test_patch_to_another_clients_email_is_client_already_exists(
    api: Api, tenant: Tenant, stored: Stored
) -> None:
    # Given two clients
    alice = register(api, tenant, "alice@example.com", name="Alice")
    bob = register(api, tenant, "bob@example.com", name="Bob")
    before = stored.snapshot(tenant.partner_id)

    # When Bob's email is changed to Alice's in another case
    reply = patch(api, tenant, bob["clientId"], {"email": "ALICE@example.com"})

    # Then it conflicts and neither client nor email claim changes
    assert_error(reply, 409, "CLIENT_ALREADY_EXISTS", field="email")
    assert stored.snapshot(tenant.partner_id) == before
    assert stored.email_owner(tenant.partner_id, "alice@example.com") == alice["clientId"]
    assert stored.email_owner(tenant.partner_id, "bob@example.com") == bob["clientId"]


def test_patch_email_moves_the_uniqueness_claim(api: Api, tenant: Tenant, stored: Stored) -> None:
    # Given a client
    client = register(api, tenant, "before@example.com")

    # When its email changes
    data = assert_success(
        patch(api, tenant, client["clientId"], {"email": "after@example.com"}),
        200,
        "Client updated successfully.",
    )

    # Then the new email is claimed for it and the old one is free for someone else
    assert data["email"] == "after@example.com"
    assert stored.email_owner(tenant.partner_id, "after@example.com") == client["clientId"]
    assert stored.email_owner(tenant.partner_id, "before@example.com") is None
    other = register(api, tenant, "before@example.com", name="Next Owner")
    assert stored.email_owner(tenant.partner_id, "before@example.com") == other["clientId"]


def test_patch_changing_only_the_case_of_the_email_keeps_the_claim(
    api: Api, tenant: Tenant, stored: Stored
) -> None:
    client = register(api, tenant, "case@example.com")

    data = assert_success(
        patch(api, tenant, client["clientId"], {"email": "Case@Example.com"}),
        200,
        "Client updated successfully.",
    )

    assert data["email"] == "Case@Example.com"
    assert stored.email_owner(tenant.partner_id, "case@example.com") == client["clientId"]
    assert len(stored.email_claims(tenant.partner_id)) == 1


def test_status_transitions_move_the_counters(api: Api, tenant: Tenant, stored: Stored) -> None:
    # Given an active client and a second one that stays active
    client = register(api, tenant, "moves@example.com")
    register(api, tenant, "stays@example.com")
    cid = client["clientId"]
    assert stored.counts(tenant.partner_id, tenant.partner_id) == expected_counts(active=2)

    # When it goes active -> suspended -> inactive -> active
    steps = [
        ("suspended", expected_counts(active=1, suspended=1)),
        ("inactive", expected_counts(active=1, inactive=1)),
        ("active", expected_counts(active=2)),
    ]
    previous = "active"
    for status, counts in steps:
        reply = patch(api, tenant, cid, {"status": status})

        # Then each step shows the new status, the counters follow and an event records the move
        assert assert_success(reply, 200, "Client updated successfully.")["status"] == status
        assert stored.client(tenant.partner_id, cid)["status"] == status  # type: ignore[index]
        assert stored.counts(tenant.partner_id, tenant.partner_id) == counts
        assert stored.client_events(tenant.partner_id, cid)[-1]["changes"]["status"] == {
            "from": previous,
            "to": status,
        }
        previous = status
    assert len(stored.events(tenant.partner_id, "client.updated", cid)) == 3
    # and the email stayed claimed throughout
    assert stored.email_owner(tenant.partner_id, "moves@example.com") == cid


def test_patch_status_deleted_removes_the_client(api: Api, tenant: Tenant, stored: Stored) -> None:
    # Given an active client
    client = register(api, tenant, "gone@example.com")
    cid = client["clientId"]

    # When a PATCH sets status deleted
    data = assert_success(patch(api, tenant, cid, {"status": "deleted"}), 200, "Client updated successfully.")

    # Then it is removed as DELETE would: status deleted, email released, counters, one client.removed
    assert data["status"] == "deleted"
    assert TIMESTAMP_RE.match(data["removedAt"])
    assert stored.email_owner(tenant.partner_id, "gone@example.com") is None
    assert stored.counts(tenant.partner_id, tenant.partner_id) == expected_counts(deleted=1)
    (event,) = stored.events(tenant.partner_id, "client.removed", cid)
    assert event["changes"]["status"] == {"from": "active", "to": "deleted"}
    assert stored.events(tenant.partner_id, "client.updated", cid) == []
    # and GET still returns it, deleted
    fetched = assert_success(
        api.call("GET", f"{CLIENTS}/{cid}", token=tenant.token), 200, "Client retrieved successfully."
    )
    assert fetched == data
    # and a later DELETE answers with the same removal
    assert remove(api, tenant, cid) == {"clientId": cid, "removedAt": data["removedAt"]}
    assert len(stored.events(tenant.partner_id, "client.removed", cid)) == 1


def test_patch_status_active_restores_a_removed_client(api: Api, tenant: Tenant, stored: Stored) -> None:
    # Given a removed client
    client = register(api, tenant, "back@example.com")
    cid = client["clientId"]
    remove(api, tenant, cid)

    # When a PATCH sets status active
    data = assert_success(patch(api, tenant, cid, {"status": "active"}), 200, "Client updated successfully.")

    # Then it is active again, holds its email, the counters follow and one client.restored is recorded
    assert data["status"] == "active"
    assert "removedAt" not in data
    assert stored.client(tenant.partner_id, cid)["status"] == "active"  # type: ignore[index]
    assert stored.email_owner(tenant.partner_id, "back@example.com") == cid
    assert stored.counts(tenant.partner_id, tenant.partner_id) == expected_counts(active=1)
    (event,) = stored.events(tenant.partner_id, "client.restored", cid)
    assert event["changes"]["status"] == {"from": "deleted", "to": "active"}
    assert [e["type"] for e in stored.client_events(tenant.partner_id, cid)] == [
        "client.registered",
        "client.removed",
        "client.restored",
    ]


def test_restoring_a_client_whose_email_was_taken_meanwhile_conflicts(
    api: Api, tenant: Tenant, stored: Stored
) -> None:
    # Given a removed client whose email a new client then took
    old = register(api, tenant, "taken@example.com")
    remove(api, tenant, old["clientId"])
    new = register(api, tenant, "TAKEN@example.com", name="Usurper")
    before = stored.snapshot(tenant.partner_id)

    # When the removed client is restored
    reply = patch(api, tenant, old["clientId"], {"status": "active"})

    # Then it conflicts; the old client stays deleted and the new one keeps the email
    assert_error(reply, 409, "CLIENT_ALREADY_EXISTS", field="email")
    assert stored.snapshot(tenant.partner_id) == before
    assert stored.client(tenant.partner_id, old["clientId"])["status"] == "deleted"  # type: ignore[index]
    assert stored.email_owner(tenant.partner_id, "taken@example.com") == new["clientId"]


def test_etag_changes_on_update_and_if_match_with_it_succeeds(api: Api, tenant: Tenant) -> None:
    # Given a client and its current ETag
    client = register(api, tenant, "etag@example.com")
    path = f"{CLIENTS}/{client['clientId']}"
    first = api.call("GET", path, token=tenant.token).header("ETag")
    assert first

    # When it is patched with If-Match: that ETag
    reply = api.call(
        "PATCH", path, token=tenant.token, json_body={"title": "Tagged"}, headers={"If-Match": first}
    )

    # Then the update succeeds and the ETag changes to what GET now shows
    assert assert_success(reply, 200, "Client updated successfully.")["title"] == "Tagged"
    second = api.call("GET", path, token=tenant.token).header("ETag")
    assert second and second != first
    assert reply.header("ETag") == second


def test_patch_with_a_stale_if_match_is_precondition_failed(api: Api, tenant: Tenant, stored: Stored) -> None:
    # Given a client whose ETag went stale after an update
    client = register(api, tenant, "stale@example.com")
    path = f"{CLIENTS}/{client['clientId']}"
    stale = api.call("GET", path, token=tenant.token).header("ETag")
    assert patch(api, tenant, client["clientId"], {"title": "First"}).status == 200
    before = stored.snapshot(tenant.partner_id)

    # When a PATCH carries the stale ETag
    reply = api.call(
        "PATCH", path, token=tenant.token, json_body={"title": "Second"}, headers={"If-Match": stale}
    )

    # Then it fails its precondition and the first update stands
    assert_error(reply, 412, "PRECONDITION_FAILED")
    assert stored.snapshot(tenant.partner_id) == before
    assert stored.client(tenant.partner_id, client["clientId"])["title"] == "First"  # type: ignore[index]


# --------------------------------------------------------------------------- DELETE /partner/v1/clients/{id}


def test_delete_removes_the_client_once(api: Api, tenant: Tenant, stored: Stored) -> None:
    # Given an active client
    client = register(api, tenant, "bye@example.com")
    cid = client["clientId"]

    # When it is deleted
    reply = api.call("DELETE", f"{CLIENTS}/{cid}", token=tenant.token)

    # Then the reply holds exactly its id and removal time
    data = assert_success(reply, 200, "Client removed successfully.")
    assert set(data) == {"clientId", "removedAt"}
    assert data["clientId"] == cid
    assert TIMESTAMP_RE.match(data["removedAt"])
    # and it is soft-deleted: stored as deleted, email released, counters moved, one event
    item = stored.client(tenant.partner_id, cid) or {}
    assert item["status"] == "deleted"
    assert item["removedAt"] == data["removedAt"]
    assert stored.email_owner(tenant.partner_id, "bye@example.com") is None
    assert stored.counts(tenant.partner_id, tenant.partner_id) == expected_counts(deleted=1)
    (event,) = stored.events(tenant.partner_id, "client.removed", cid)
    assert event["changes"]["status"] == {"from": "active", "to": "deleted"}
    # and GET still shows it, deleted
    fetched = api.call("GET", f"{CLIENTS}/{cid}", token=tenant.token).body["data"]
    assert fetched["status"] == "deleted"
    assert fetched["removedAt"] == data["removedAt"]


def test_deleting_twice_answers_the_same_and_records_one_event(
    api: Api, tenant: Tenant, stored: Stored
) -> None:
    # Given a client deleted once
    client = register(api, tenant, "twice@example.com")
    path = f"{CLIENTS}/{client['clientId']}"
    first = api.call("DELETE", path, token=tenant.token)
    assert first.status == 200, first.text
    after_first = stored.snapshot(tenant.partner_id)

    # When it is deleted again
    second = api.call("DELETE", path, token=tenant.token)

    # Then the reply is the same 200 body, and nothing more is written
    assert second.status == 200
    assert second.body == first.body
    assert stored.snapshot(tenant.partner_id) == after_first
    assert len(stored.events(tenant.partner_id, "client.removed", client["clientId"])) == 1


def test_delete_with_a_stale_if_match_is_precondition_failed(
    api: Api, tenant: Tenant, stored: Stored
) -> None:
    # Given a client whose ETag went stale
    client = register(api, tenant, "keep@example.com")
    path = f"{CLIENTS}/{client['clientId']}"
    stale = api.call("GET", path, token=tenant.token).header("ETag")
    assert patch(api, tenant, client["clientId"], {"title": "Changed"}).status == 200
    before = stored.snapshot(tenant.partner_id)

    # When a DELETE carries the stale ETag
    reply = api.call("DELETE", path, token=tenant.token, headers={"If-Match": stale})

    # Then it fails and the client is still active
    assert_error(reply, 412, "PRECONDITION_FAILED")
    assert stored.snapshot(tenant.partner_id) == before
    assert stored.client(tenant.partner_id, client["clientId"])["status"] == "active"  # type: ignore[index]

    # And with the current ETag it succeeds
    current = api.call("GET", path, token=tenant.token).header("ETag")
    done = api.call("DELETE", path, token=tenant.token, headers={"If-Match": current or ""})
    assert assert_success(done, 200, "Client removed successfully.")["clientId"] == client["clientId"]


def test_delete_an_unknown_client_is_client_not_found(api: Api, tenant: Tenant, stored: Stored) -> None:
    before = stored.snapshot(tenant.partner_id)

    reply = api.call("DELETE", f"{CLIENTS}/{uuid.uuid4()}", token=tenant.token)

    assert_error(reply, 404, "CLIENT_NOT_FOUND")
    assert stored.snapshot(tenant.partner_id) == before


# --------------------------------------------------------------------------- tenant isolation


@pytest.mark.parametrize(
    ("method", "body"),
    [("GET", None), ("PATCH", {"title": "Hijacked"}), ("PATCH", {"status": "deleted"}), ("DELETE", None)],
    ids=["get", "patch", "patch-delete", "delete"],
)
def test_another_tenant_cannot_see_or_touch_a_client(
    api: Api, tenant: Tenant, other_tenant: Tenant, stored: Stored, method: str, body: Any
) -> None:
    # Given a client of one tenant
    client = register(api, tenant, "mine@example.com")
    before = stored.snapshot(tenant.partner_id)
    before_other = stored.snapshot(other_tenant.partner_id)

    # When another tenant addresses it by id
    reply = api.call(method, f"{CLIENTS}/{client['clientId']}", token=other_tenant.token, json_body=body)

    # Then it does not exist for that tenant, and neither tenant's data changes
    assert_error(reply, 404, "CLIENT_NOT_FOUND")
    assert stored.snapshot(tenant.partner_id) == before
    assert stored.snapshot(other_tenant.partner_id) == before_other


def test_another_tenants_list_is_empty(api: Api, tenant: Tenant, other_tenant: Tenant) -> None:
    # Given a tenant with clients
    register(api, tenant, "one@example.com")
    register(api, tenant, "two@example.com")

    # When another tenant lists its clients
    reply = api.call("GET", CLIENTS, token=other_tenant.token)

    # Then it sees none
    data = assert_success(reply, 200, "Clients retrieved successfully.")
    assert data["clients"] == []
    assert data["pagination"]["total"] == 0
    assert data["pagination"]["hasMore"] is False
    assert "nextCursor" not in data["pagination"]


def test_email_uniqueness_is_per_tenant(
    api: Api, tenant: Tenant, other_tenant: Tenant, stored: Stored
) -> None:
    # Given a client of one tenant
    mine = register(api, tenant, "shared@example.com")

    # When another tenant registers the same email
    theirs = register(api, other_tenant, "SHARED@example.com", name="Their Client")

    # Then both exist, each claimed in its own tenant, each counted once
    assert theirs["partnerId"] == other_tenant.partner_id
    assert stored.email_owner(tenant.partner_id, "shared@example.com") == mine["clientId"]
    assert stored.email_owner(other_tenant.partner_id, "shared@example.com") == theirs["clientId"]
    assert stored.counts(tenant.partner_id, tenant.partner_id) == expected_counts(active=1)
    assert stored.counts(other_tenant.partner_id, other_tenant.partner_id) == expected_counts(active=1)
