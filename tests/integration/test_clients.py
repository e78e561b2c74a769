"""The clients routes (API.md section 4) and the section 1 conventions as they apply to them.

Every test reads as Given / When / Then and checks the reply body and what the tables hold,
read directly from DynamoDB rather than through the API under test.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from local.stack import Stack
from tests.conftest import Tenant, token_for
from tests.support.apigw import Api
from tests.support.clients import (
    CLIENTS,
    MAX_BODY,
    REQUIRED_KEYS,
    TIMESTAMP_RE,
    UUID_RE,
    Stored,
    assert_error,
    assert_success,
    expected_counts,
    patch,
    public_view,
    register,
    remove,
)


@pytest.fixture
def stored(stack: Stack) -> Stored:
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
    # and its email is claimed, case-insensitively, for that client; nothing else is stored
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
    assert event["changes"]["status"]["to"] == "active"


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
        "roles": ["ACCOUNT_ADMIN", "PRIVACY_ADMIN", "MANAGER"],
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
    # and GET and the store hold the same client
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
    assert (stored.client(tenant.partner_id, data["clientId"]) or {})["name"] == "Ada Lovelace"


def test_register_trims_string_fields(api: Api, tenant: Tenant, stored: Stored) -> None:
    # Given string fields padded with whitespace
    body = {"name": "  Grace Hopper ", "email": " grace@example.com  ", "title": "  Admiral "}

    # When the client is registered
    reply = api.call("POST", CLIENTS, token=tenant.token, json_body=body)

    # Then every value is stored and shown trimmed
    data = assert_success(reply, 201, "Client registered successfully.")
    assert (data["name"], data["email"], data["title"]) == ("Grace Hopper", "grace@example.com", "Admiral")
    assert public_view(stored.client(tenant.partner_id, data["clientId"]) or {}) == data
    assert stored.email_owner(tenant.partner_id, "grace@example.com") == data["clientId"]


MISSING_ON_REGISTER: list[tuple[str, Any, str]] = [
    ("missing email", {"name": "No Email"}, "email"),
    ("blank email", {"name": "Blank Email", "email": "   "}, "email"),
    ("empty email", {"name": "Empty Email", "email": ""}, "email"),
    ("no name and no first/last name", {"email": "nameless@example.com"}, "name"),
    ("first name only", {"email": "half@example.com", "firstName": "Only"}, "name"),
    ("blank name", {"email": "blank@example.com", "name": "  "}, "name"),
    ("no body at all", None, "email"),
]


def test_register_without_a_required_field_is_missing_required_params(
    api: Api, tenant: Tenant, stored: Stored, subtests: pytest.Subtests
) -> None:
    # Given the tenant's stored state
    before = stored.snapshot(tenant.partner_id)
    for case, body, field in MISSING_ON_REGISTER:
        with subtests.test(case):
            # When a body lacks a required field (blank counts as missing)
            reply = api.call("POST", CLIENTS, token=tenant.token, json_body=body)

            # Then it is refused naming the field, and nothing is written
            assert_error(reply, 400, "MISSING_REQUIRED_PARAMS", field=field)
            assert stored.snapshot(tenant.partner_id) == before


NAME_REQUIRED = {"field": "name", "issue": "required"}
EMAIL_REQUIRED = {"field": "email", "issue": "required"}
EVERY_PROBLEM_ON_REGISTER: list[tuple[str, dict[str, Any], str, list[dict[str, str]]]] = [
    ("empty body", {}, "Required parameter name, email is missing.", [NAME_REQUIRED, EMAIL_REQUIRED]),
    (
        "bad email and no name",
        {"email": "bad"},
        "Required parameter name is missing.",
        [NAME_REQUIRED, {"field": "email", "issue": "must be a valid email address"}],
    ),
    (
        "first name only",
        {"email": "x@example.com", "firstName": "A"},
        "Required parameter name is missing.",
        [NAME_REQUIRED],
    ),
    (
        "blank name and an unknown field",
        {"name": "  ", "email": "x@example.com", "nickname": "JJ"},
        "Required parameter name is missing.",
        [NAME_REQUIRED, {"field": "nickname", "issue": "unknown field"}],
    ),
]


def test_register_lists_a_missing_name_together_with_every_other_problem(
    api: Api, tenant: Tenant, stored: Stored, subtests: pytest.Subtests
) -> None:
    # Given the tenant's stored state
    before = stored.snapshot(tenant.partner_id)
    for case, body, message, details in EVERY_PROBLEM_ON_REGISTER:
        with subtests.test(case):
            # When a body has no name (nor firstName and lastName), perhaps with other problems
            reply = api.call("POST", CLIENTS, token=tenant.token, json_body=body)

            # Then one reply lists every offending field, the name among them, and nothing is written
            error = assert_error(reply, 400, "MISSING_REQUIRED_PARAMS")
            assert (error["message"], error["details"]) == (message, details)
            assert stored.snapshot(tenant.partner_id) == before


def test_register_with_first_and_last_name_but_a_bad_email_names_only_the_email(
    api: Api, tenant: Tenant, stored: Stored
) -> None:
    # Given a body whose name can be derived, with a malformed email
    before = stored.snapshot(tenant.partner_id)
    body = {"firstName": "Ada", "lastName": "Lovelace", "email": "ada-at-example.com"}

    # When it is registered
    reply = api.call("POST", CLIENTS, token=tenant.token, json_body=body)

    # Then only the email is reported, and nothing is written
    error = assert_error(reply, 400, "INVALID_PARAMETER")
    assert error["details"] == [{"field": "email", "issue": "must be a valid email address"}]
    assert stored.snapshot(tenant.partner_id) == before


INVALID_ON_REGISTER: list[tuple[str, dict[str, Any], str]] = [
    ("unknown field", {"nickname": "JJ"}, "nickname"),
    ("read-only registeredAt", {"registeredAt": "2025-01-01T00:00:00.000Z"}, "registeredAt"),
    ("read-only clientId", {"clientId": "0b7d2c8e-4f3a-4a55-9d8e-2f8b8c9a1b2c"}, "clientId"),
    ("email without @", {"email": "not-an-email"}, "email"),
    ("email with two @", {"email": "two@@example.com"}, "email"),
    ("email not a string", {"email": 42}, "email"),
    ("name over 255 chars", {"name": "x" * 256}, "name"),
    ("unknown role", {"roles": ["SUPERUSER"]}, "roles"),
    ("roles not a list", {"roles": "ACCOUNT_ADMIN"}, "roles"),
    ("metadata with 51 keys", {"metadata": {f"k{i}": "v" for i in range(51)}}, "metadata"),
    ("metadata key over 40 chars", {"metadata": {"k" * 41: "v"}}, "metadata"),
    ("metadata value over 500 chars", {"metadata": {"k": "v" * 501}}, "metadata"),
    ("metadata value not a string", {"metadata": {"k": 42}}, "metadata"),
    ("metadata not an object", {"metadata": ["k"]}, "metadata"),
    ("malformed accountId", {"accountId": "not-a-uuid"}, "accountId"),
    ("malformed partnerId", {"partnerId": "not-a-uuid"}, "partnerId"),
    ("bad emailAlias", {"emailAlias": "nope"}, "emailAlias"),
]


def test_register_with_an_invalid_field_is_invalid_parameter(
    api: Api, tenant: Tenant, stored: Stored, subtests: pytest.Subtests
) -> None:
    # Given the tenant's stored state
    before = stored.snapshot(tenant.partner_id)
    for case, extra, field in INVALID_ON_REGISTER:
        with subtests.test(case):
            # When the body has one offending field
            body = {"name": "Val Idation", "email": "val@example.com", **extra}
            reply = api.call("POST", CLIENTS, token=tenant.token, json_body=body)

            # Then it is INVALID_PARAMETER with that field in details, and nothing is written
            error = assert_error(reply, 400, "INVALID_PARAMETER")
            assert any(d["field"] == field or d["field"].startswith(f"{field}.") for d in error["details"]), (
                error
            )
            assert stored.snapshot(tenant.partner_id) == before


def test_a_body_that_is_not_json_is_invalid_json(
    api: Api, tenant: Tenant, stored: Stored, subtests: pytest.Subtests
) -> None:
    # Given a registered client
    client = register(api, tenant, "json@example.com")
    before = stored.snapshot(tenant.partner_id)
    for method, path in [("POST", CLIENTS), ("PATCH", f"{CLIENTS}/{client['clientId']}")]:
        with subtests.test(method):
            # When a body is not valid JSON
            reply = api.call(
                method,
                path,
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


def test_a_body_over_64_kib_is_payload_too_large(
    api: Api, tenant: Tenant, stored: Stored, subtests: pytest.Subtests
) -> None:
    # Given a registered client and a valid body one byte over 64 KiB
    client = register(api, tenant, "small@example.com")
    body = _padded_body(MAX_BODY + 1)
    before = stored.snapshot(tenant.partner_id)
    for method, path in [("POST", CLIENTS), ("PATCH", f"{CLIENTS}/{client['clientId']}")]:
        with subtests.test(method):
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
    assert (stored.client(tenant.partner_id, old["clientId"]) or {})["status"] == "deleted"
    assert stored.counts(tenant.partner_id, tenant.partner_id) == expected_counts(active=1, deleted=1)


def test_an_unknown_account_id_is_account_not_found(api: Api, tenant: Tenant, stored: Stored) -> None:
    # Given the tenant's stored state
    before = stored.snapshot(tenant.partner_id)

    # When a client is registered into an account that does not exist
    reply = api.call(
        "POST",
        CLIENTS,
        token=tenant.token,
        json_body={"name": "A", "email": "acct@example.com", "accountId": str(uuid.uuid4())},
    )

    # Then the account is not found and nothing is written
    assert_error(reply, 404, "ACCOUNT_NOT_FOUND")
    assert stored.snapshot(tenant.partner_id) == before


def test_an_unknown_or_foreign_partner_id_is_partner_not_found(
    api: Api, tenant: Tenant, other_tenant: Tenant, stored: Stored, subtests: pytest.Subtests
) -> None:
    # Given both tenants' stored state
    before = stored.snapshot(tenant.partner_id)
    before_other = stored.snapshot(other_tenant.partner_id)
    for case, partner_id in [("unknown", str(uuid.uuid4())), ("another tenant's", other_tenant.partner_id)]:
        with subtests.test(case):
            # When a client is registered for a partner the caller cannot see
            reply = api.call(
                "POST",
                CLIENTS,
                token=tenant.token,
                json_body={"name": "A", "email": "p@example.com", "partnerId": partner_id},
            )

            # Then the partner is not found and neither tenant's data changes
            assert_error(reply, 404, "PARTNER_NOT_FOUND")
            assert stored.snapshot(tenant.partner_id) == before
            assert stored.snapshot(other_tenant.partner_id) == before_other


# --------------------------------------------------------------------------- auth and request ids


def _routes(client_id: str) -> list[tuple[str, str, Any]]:
    return [
        ("POST", CLIENTS, {"name": "A", "email": "a@example.com"}),
        ("GET", CLIENTS, None),
        ("GET", f"{CLIENTS}/{client_id}", None),
        ("PATCH", f"{CLIENTS}/{client_id}", {"title": "X"}),
        ("DELETE", f"{CLIENTS}/{client_id}", None),
    ]


def test_no_authorization_header_is_401(
    api: Api, tenant: Tenant, stored: Stored, subtests: pytest.Subtests
) -> None:
    # Given a registered client
    client = register(api, tenant, "auth@example.com")
    before = stored.snapshot(tenant.partner_id)
    for method, path, body in _routes(client["clientId"]):
        with subtests.test(f"{method} {path}"):
            # When a request comes without an Authorization header
            reply = api.call(method, path, json_body=body)

            # Then it is refused and nothing changes
            assert_error(reply, 401, "NO_AUTHORIZATION_HEADER")
            assert stored.snapshot(tenant.partner_id) == before


def test_a_read_only_token_cannot_write(
    api: Api, tenant: Tenant, stored: Stored, subtests: pytest.Subtests
) -> None:
    # Given a client and a token holding only clients:read
    client = register(api, tenant, "scoped@example.com")
    read_token = token_for(api, tenant.credential, scope="clients:read")
    before = stored.snapshot(tenant.partner_id)
    for method, path, body in _routes(client["clientId"]):
        if method == "GET":
            continue
        with subtests.test(f"{method} {path}"):
            # When that token is used on a writing route
            reply = api.call(method, path, token=read_token, json_body=body)

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
    listed = assert_success(many, 200, "Clients retrieved successfully.")["clients"]
    assert [c["clientId"] for c in listed] == [client["clientId"]]


def test_a_token_without_a_clients_scope_cannot_list(api: Api, tenant: Tenant) -> None:
    # Given a token holding only partners:read
    token = token_for(api, tenant.credential, scope="partners:read")

    # When it lists clients
    reply = api.call("GET", CLIENTS, token=token)

    # Then it lacks the scope
    assert_error(reply, 403, "MISSING_SCOPES")


def test_a_given_request_id_is_echoed_in_header_and_error_body(api: Api, tenant: Tenant) -> None:
    # Given requests carrying x-request-id: abc-123
    headers = {"x-request-id": "abc-123"}

    # When one fails and one succeeds
    failed = api.call("GET", f"{CLIENTS}/{uuid.uuid4()}", token=tenant.token, headers=headers)
    succeeded = api.call("GET", CLIENTS, token=tenant.token, headers=headers)

    # Then both echo the id in the header, and the error body carries it
    assert_error(failed, 404, "CLIENT_NOT_FOUND", request_id="abc-123")
    assert failed.header("x-request-id") == "abc-123"
    assert succeeded.status == 200
    assert succeeded.header("x-request-id") == "abc-123"


def test_without_a_usable_request_id_the_server_makes_one(api: Api, tenant: Tenant) -> None:
    # Given a request without x-request-id and one whose id is over 128 characters
    too_long = "r" * 129

    # When both fail
    plain = api.call("GET", f"{CLIENTS}/{uuid.uuid4()}", token=tenant.token)
    overlong = api.call(
        "GET", f"{CLIENTS}/{uuid.uuid4()}", token=tenant.token, headers={"x-request-id": too_long}
    )

    # Then each carries a server-made id, in header and body alike
    first = assert_error(plain, 404, "CLIENT_NOT_FOUND")["requestId"]
    second = assert_error(overlong, 404, "CLIENT_NOT_FOUND")["requestId"]
    assert second != too_long
    assert first != second
    assert 0 < len(second) <= 128


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


def test_a_malformed_client_id_is_invalid_parameter(
    api: Api, tenant: Tenant, stored: Stored, subtests: pytest.Subtests
) -> None:
    # Given the tenant's stored state
    before = stored.snapshot(tenant.partner_id)
    for method in ("GET", "PATCH", "DELETE"):
        for bad_id in (
            "not-a-uuid",
            "0B7D2C8E-4F3A-4A55-9D8E-2F8B8C9A1B2C",
            "0b7d2c8e4f3a4a559d8e2f8b8c9a1b2c",
        ):
            with subtests.test(f"{method} {bad_id}"):
                # When a client route is called with an id that is not a lowercase UUID
                body = {"title": "X"} if method == "PATCH" else None
                reply = api.call(method, f"{CLIENTS}/{bad_id}", token=tenant.token, json_body=body)

                # Then it is a 400 naming clientId, not a lookup, and nothing changes
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
    changes = event["changes"]
    assert changes["name"] == {"from": "Pat Old", "to": "Pat New"}
    assert changes["title"] == {"from": "Intern", "to": "Lead"}
    assert changes["phone"]["to"] == "+44 20 7946 0000"
    assert not {"email", "status", "partnerId"} & set(changes)
    # and the counters did not move
    assert stored.counts(tenant.partner_id, tenant.partner_id) == expected_counts(active=1)


def test_patch_merges_metadata_and_null_removes_a_key(api: Api, tenant: Tenant, stored: Stored) -> None:
    # Given a client with metadata a, b
    client = register(api, tenant, "meta@example.com", metadata={"a": "1", "b": "2"})

    # When a PATCH removes b, changes a and adds c
    reply = patch(api, tenant, client["clientId"], {"metadata": {"a": "one", "b": None, "c": "3"}})

    # Then the metadata is the merge, in the reply and the store
    data = assert_success(reply, 200, "Client updated successfully.")
    assert data["metadata"] == {"a": "one", "c": "3"}
    assert (stored.client(tenant.partner_id, client["clientId"]) or {})["metadata"] == {"a": "one", "c": "3"}


def test_patch_removing_every_metadata_key_omits_metadata(api: Api, tenant: Tenant, stored: Stored) -> None:
    # Given a client with one metadata key
    client = register(api, tenant, "meta-gone@example.com", metadata={"only": "1"})

    # When that key is removed
    reply = patch(api, tenant, client["clientId"], {"metadata": {"only": None}})

    # Then metadata is omitted, as an unset optional field is
    assert "metadata" not in assert_success(reply, 200, "Client updated successfully.")
    assert (
        "metadata" not in api.call("GET", f"{CLIENTS}/{client['clientId']}", token=tenant.token).body["data"]
    )
    assert not (stored.client(tenant.partner_id, client["clientId"]) or {}).get("metadata")


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
    reply = patch(api, tenant, client["clientId"], {"title": None})

    # Then the title is gone from the reply and the store; the company stays
    data = assert_success(reply, 200, "Client updated successfully.")
    assert "title" not in data
    assert data["company"] == "Acme"
    item = stored.client(tenant.partner_id, client["clientId"]) or {}
    assert "title" not in item
    assert item["company"] == "Acme"


INVALID_PATCHES: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "read-only registeredAt",
        {"registeredAt": "2020-01-01T00:00:00.000Z"},
        "INVALID_PARAMETER",
        "registeredAt",
    ),
    ("read-only updatedAt", {"updatedAt": "2020-01-01T00:00:00.000Z"}, "INVALID_PARAMETER", "updatedAt"),
    (
        "read-only clientId",
        {"clientId": "0b7d2c8e-4f3a-4a55-9d8e-2f8b8c9a1b2c"},
        "INVALID_PARAMETER",
        "clientId",
    ),
    ("unknown field", {"favouriteColour": "blue"}, "INVALID_PARAMETER", "favouriteColour"),
    ("unknown status", {"status": "archived"}, "INVALID_PARAMETER", "status"),
    ("bad email", {"email": "not-an-email"}, "INVALID_PARAMETER", "email"),
    ("unknown role", {"roles": ["ROOT"]}, "INVALID_PARAMETER", "roles"),
    (
        "metadata with 51 keys",
        {"metadata": {f"k{i}": "v" for i in range(51)}},
        "INVALID_PARAMETER",
        "metadata",
    ),
    ("blank name", {"name": "   "}, "MISSING_REQUIRED_PARAMS", "name"),
    ("null email", {"email": None}, "MISSING_REQUIRED_PARAMS", "email"),
]


def test_patch_with_an_invalid_field_changes_nothing(
    api: Api, tenant: Tenant, stored: Stored, subtests: pytest.Subtests
) -> None:
    # Given a registered client
    client = register(api, tenant, "strict@example.com")
    before = stored.snapshot(tenant.partner_id)
    for case, body, code, field in INVALID_PATCHES:
        with subtests.test(case):
            # When a PATCH has an offending field
            reply = patch(api, tenant, client["clientId"], body)

            # Then it is refused naming the field, and nothing changes
            error = assert_error(reply, 400, code)
            assert any(d["field"] == field or d["field"].startswith(f"{field}.") for d in error["details"]), (
                error
            )
            assert stored.snapshot(tenant.partner_id) == before


def test_patch_an_unknown_client_is_client_not_found(api: Api, tenant: Tenant, stored: Stored) -> None:
    before = stored.snapshot(tenant.partner_id)

    reply = patch(api, tenant, str(uuid.uuid4()), {"title": "Ghost"})

    assert_error(reply, 404, "CLIENT_NOT_FOUND")
    assert stored.snapshot(tenant.partner_id) == before


def test_patch_to_an_unknown_account_or_partner_is_not_found(
    api: Api, tenant: Tenant, stored: Stored, subtests: pytest.Subtests
) -> None:
    # Given a registered client
    client = register(api, tenant, "move@example.com")
    before = stored.snapshot(tenant.partner_id)
    for body, code in [
        ({"accountId": str(uuid.uuid4())}, "ACCOUNT_NOT_FOUND"),
        ({"partnerId": str(uuid.uuid4())}, "PARTNER_NOT_FOUND"),
    ]:
        with subtests.test(code):
            # When it is moved to an account or partner that does not exist
            reply = patch(api, tenant, client["clientId"], body)

            # Then that is not found and nothing changes
            assert_error(reply, 404, code)
            assert stored.snapshot(tenant.partner_id) == before


def test_patch_to_another_clients_email_is_client_already_exists(
    api: Api, tenant: Tenant, stored: Stored
) -> None:
    # Given two clients
    alice = register(api, tenant, "alice@example.com", name="Alice")
    bob = register(api, tenant, "bob@example.com", name="Bob")
    before = stored.snapshot(tenant.partner_id)

    # When Bob's email is changed to Alice's, in another case
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
    reply = patch(api, tenant, client["clientId"], {"email": "after@example.com"})

    # Then the new email is claimed for it and the old one is free for someone else
    assert assert_success(reply, 200, "Client updated successfully.")["email"] == "after@example.com"
    assert stored.email_owner(tenant.partner_id, "after@example.com") == client["clientId"]
    assert stored.email_owner(tenant.partner_id, "before@example.com") is None
    other = register(api, tenant, "before@example.com", name="Next Owner")
    assert stored.email_owner(tenant.partner_id, "before@example.com") == other["clientId"]


def test_patch_changing_only_the_case_of_the_email_keeps_the_claim(
    api: Api, tenant: Tenant, stored: Stored
) -> None:
    # Given a client
    client = register(api, tenant, "case@example.com")

    # When only the case of its email changes
    reply = patch(api, tenant, client["clientId"], {"email": "Case@Example.com"})

    # Then the email shows the new case and the one claim still points at the client
    assert assert_success(reply, 200, "Client updated successfully.")["email"] == "Case@Example.com"
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
        assert (stored.client(tenant.partner_id, cid) or {})["status"] == status
        assert stored.counts(tenant.partner_id, tenant.partner_id) == counts
        last = stored.client_events(tenant.partner_id, cid)[-1]
        assert last["type"] == "client.updated"
        assert last["changes"]["status"] == {"from": previous, "to": status}
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
    fetched = api.call("GET", f"{CLIENTS}/{cid}", token=tenant.token)
    assert assert_success(fetched, 200, "Client retrieved successfully.") == data
    # and a later DELETE answers with the same removal and records nothing more
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
    assert (stored.client(tenant.partner_id, cid) or {})["status"] == "active"
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
    assert (stored.client(tenant.partner_id, old["clientId"]) or {})["status"] == "deleted"
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
    assert reply.header("ETag") in (None, second)  # a PATCH need not send one; if it does, the new one


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
    assert (stored.client(tenant.partner_id, client["clientId"]) or {})["title"] == "First"


# --------------------------------------------------------------------------- DELETE /partner/v1/clients/{id}


def test_delete_removes_the_client(api: Api, tenant: Tenant, stored: Stored) -> None:
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
    reply = api.call("DELETE", path, token=tenant.token, headers={"If-Match": stale or ""})

    # Then it fails and the client is still active
    assert_error(reply, 412, "PRECONDITION_FAILED")
    assert stored.snapshot(tenant.partner_id) == before

    # And with the current ETag it succeeds
    current = api.call("GET", path, token=tenant.token).header("ETag")
    done = api.call("DELETE", path, token=tenant.token, headers={"If-Match": current or ""})
    assert assert_success(done, 200, "Client removed successfully.")["clientId"] == client["clientId"]
    assert (stored.client(tenant.partner_id, client["clientId"]) or {})["status"] == "deleted"


def test_delete_an_unknown_client_is_client_not_found(api: Api, tenant: Tenant, stored: Stored) -> None:
    before = stored.snapshot(tenant.partner_id)

    reply = api.call("DELETE", f"{CLIENTS}/{uuid.uuid4()}", token=tenant.token)

    assert_error(reply, 404, "CLIENT_NOT_FOUND")
    assert stored.snapshot(tenant.partner_id) == before


# --------------------------------------------------------------------------- tenant isolation


def test_another_tenant_cannot_see_or_touch_a_client(
    api: Api, tenant: Tenant, other_tenant: Tenant, stored: Stored, subtests: pytest.Subtests
) -> None:
    # Given a client of one tenant
    client = register(api, tenant, "mine@example.com")
    path = f"{CLIENTS}/{client['clientId']}"
    before = stored.snapshot(tenant.partner_id)
    before_other = stored.snapshot(other_tenant.partner_id)
    for method, body in [
        ("GET", None),
        ("PATCH", {"title": "Hijacked"}),
        ("PATCH", {"status": "deleted"}),
        ("DELETE", None),
    ]:
        with subtests.test(f"{method} {body}"):
            # When another tenant addresses it by id
            reply = api.call(method, path, token=other_tenant.token, json_body=body)

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
    assert data["pagination"] == {"limit": 20, "offset": 0, "total": 0, "hasMore": False}


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
