"""The vendor docs' curl examples (seeds 000 and 001), typed against `make run` as a new user would.

The only adaptations are API.md's: the base URL, a real token, ids taken from earlier responses
and unique e-mail addresses. The pasted-curl tests run the seed text through bash and the real
``curl`` binary; the others use ``requests`` to look at headers and stored state too.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import (
    ISO_MS_Z,
    UUID_RE,
    LocalServer,
    Partner,
    assert_success,
    call,
    unique_email,
)

CLIENTS = "/partner/v1/clients"
CLIENT_KEYS = {"clientId", "name", "email", "status", "partnerId", "registeredAt", "updatedAt"}
USER_KEYS = CLIENT_KEYS - {"clientId"} | {"userId"}
SAMPLE_CLIENT_ID = "123e4567-e89b-12d3-a456-426614174000"
SAMPLE_USER_ID = "1a123288-24e8-4c6d-a847-501bab184f5a"

# Seed 000, copied as published.
SEED_000_LIST = r"""curl -X GET "{{baseUrl}}/partner/v1/clients?offset=0&limit=20" \
-H "Authorization: Bearer YOUR_DPOP_TOKEN"
"""
SEED_000_REGISTER = r"""curl -X POST "{{baseUrl}}/partner/v1/clients" \
-H "Content-Type: application/json" \
-H "Authorization: Bearer YOUR_DPOP_TOKEN" \
-d '{
"name": "John Doe",
"email": "john.doe@example.com"
}'
"""
SEED_000_GET = r"""curl -X GET "{{baseUrl}}/partner/v1/clients/123e4567-e89b-12d3-a456-426614174000" \
-H "Authorization: Bearer YOUR_DPOP_TOKEN"
"""
SEED_000_UPDATE = r"""curl -X PATCH "{{baseUrl}}/partner/v1/clients/123e4567-e89b-12d3-a456-426614174000" \
-H "Content-Type: application/json" \
-H "Authorization: Bearer YOUR_DPOP_TOKEN" \
-d '{
"name": "Jane Doe",
"email": "jane.doe@example.com",
"status": "suspended"
}'
"""
SEED_000_REMOVE = r"""curl -X DELETE "{{baseUrl}}/partner/v1/clients/123e4567-e89b-12d3-a456-426614174000" \
-H "Authorization: Bearer YOUR_DPOP_TOKEN"
"""

# Seed 001, copied as published.
SEED_001_REGISTER = r"""curl -X POST https://localhost:4401/partner/v1/register-user \
-H "Content-Type: application/json" \
-H "Authorization: Bearer YOUR_API_KEY" \
-d '{
"name": "John Doe",
"email": "johasdn.doe@example.com"
}'
"""
SEED_001_ALL = r"""curl -X GET https://localhost:4401/partner/v1/all-users \
-H "Authorization: Bearer YOUR_API_KEY"
"""
SEED_001_GET = r"""curl -X GET https://localhost:4401/partner/v1/get-user?userId \
-H "Authorization: Bearer YOUR_API_KEY"
"""
SEED_001_UPDATE = r"""curl -X PATCH https://localhost:4401/partner/v1/update-user \
-H "Content-Type: application/json" \
-H "Authorization: Bearer YOUR_API_KEY" \
-d '{
"userId": "1a123288-24e8-4c6d-a847-501bab184f5a",
"status": "suspended"
}'
"""
SEED_001_REMOVE = r"""curl -X DELETE https://localhost:4401/partner/v1/remove-user \
-H "Content-Type: application/json" \
-H "Authorization: Bearer YOUR_API_KEY" \
-d '{
"userId": "1a123288-24e8-4c6d-a847-501bab184f5a"
}'
"""


def adapt(command: str, **replacements: str) -> str:
    """API.md's adaptations: base URL and token from the environment, plus literal substitutions."""
    command = command.replace("{{baseUrl}}", "$BASE").replace("https://localhost:4401", "$BASE")
    command = command.replace("YOUR_DPOP_TOKEN", "$TOKEN").replace("YOUR_API_KEY", "$TOKEN")
    for old, new in replacements.items():
        assert old in command, (old, command)
        command = command.replace(old, new)
    return command


class Shell:
    """Runs a pasted command with bash and the real curl; curl's status line comes from ~/.curlrc."""

    def __init__(self, server: LocalServer, token: str, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        # The command stays as pasted; the status code is appended by curl's own config file.
        (home / ".curlrc").write_text('write-out = "\\n%{http_code}"\n')
        self.env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "CURL_HOME": str(home), "HOME": str(home)}
        self.env |= {"BASE": server.base_url, "TOKEN": token}

    def run(self, command: str) -> tuple[int, dict[str, Any]]:
        done = subprocess.run(
            ["bash", "-c", command], env=self.env, capture_output=True, text=True, timeout=30, check=False
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        body, _, status = done.stdout.rpartition("\n")
        return int(status), json.loads(body)


@pytest.fixture
def shell(server: LocalServer, token: str, tmp_path: Path) -> Shell:
    if shutil.which("curl") is None:  # pragma: no cover - the environment promises curl
        pytest.fail("the curl binary is required for the pasted-example tests")
    return Shell(server, token, tmp_path / "home")


def partner_id_of(token: str) -> str:
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["partner_id"])


def assert_client(data: dict[str, Any], name: str, email: str, status: str, partner_id: str) -> None:
    assert set(data) == CLIENT_KEYS, data
    assert UUID_RE.match(data["clientId"]), data
    assert (data["name"], data["email"], data["status"]) == (name, email, status)
    assert data["partnerId"] == partner_id
    assert ISO_MS_Z.match(data["registeredAt"]), data
    assert ISO_MS_Z.match(data["updatedAt"]), data
    assert data["updatedAt"] >= data["registeredAt"]


def register(server: LocalServer, token: str, name: str, email: str) -> dict[str, Any]:
    reply = call(server, "POST", CLIENTS, token, json={"name": name, "email": email})
    return assert_success(reply, 201, "Client registered successfully.")  # type: ignore[no-any-return]


# ----------------------------------------------------------------------------- seed 000, pasted into bash


def test_seed_000_curl_examples_work_as_pasted(shell: Shell, token: str) -> None:
    partner_id = partner_id_of(token)
    john, jane = unique_email("john.doe"), unique_email("jane.doe")

    # Given the Register Client example
    status, body = shell.run(adapt(SEED_000_REGISTER, **{"john.doe@example.com": john}))
    # Then the client is registered, active, with ISO timestamps
    assert status == 201, body
    assert (body["success"], body["message"]) == (True, "Client registered successfully.")
    registered = body["data"]
    assert_client(registered, "John Doe", john, "active", partner_id)
    assert registered["registeredAt"] == registered["updatedAt"]
    client_id = registered["clientId"]

    # When the Get All Clients example runs
    status, body = shell.run(adapt(SEED_000_LIST))
    # Then it is a first page of at most 20 with consistent pagination fields
    assert status == 200, body
    assert (body["success"], body["message"]) == (True, "Clients retrieved successfully.")
    page = body["data"]["pagination"]
    assert (page["limit"], page["offset"]) == (20, 0)
    assert page["total"] >= 1
    assert len(body["data"]["clients"]) == min(page["total"], 20)
    assert page["hasMore"] is (page["total"] > 20)
    assert ("nextCursor" in page) is page["hasMore"]

    # When the Get Client by ID example runs with the new id
    status, body = shell.run(adapt(SEED_000_GET, **{SAMPLE_CLIENT_ID: client_id}))
    # Then it is the registered client, unchanged
    assert status == 200, body
    assert (body["success"], body["message"]) == (True, "Client retrieved successfully.")
    assert body["data"] == registered

    # When the Update Client example runs
    status, body = shell.run(
        adapt(SEED_000_UPDATE, **{SAMPLE_CLIENT_ID: client_id, "jane.doe@example.com": jane})
    )
    # Then the full client comes back with the new name, email and status
    assert status == 200, body
    assert (body["success"], body["message"]) == (True, "Client updated successfully.")
    assert_client(body["data"], "Jane Doe", jane, "suspended", partner_id)
    assert body["data"]["clientId"] == client_id
    assert body["data"]["registeredAt"] == registered["registeredAt"]

    # When the Remove Client example runs, twice
    status, body = shell.run(adapt(SEED_000_REMOVE, **{SAMPLE_CLIENT_ID: client_id}))
    again_status, again = shell.run(adapt(SEED_000_REMOVE, **{SAMPLE_CLIENT_ID: client_id}))
    # Then both answer the same 200 with the id and the removal time
    assert status == 200, body
    assert (body["success"], body["message"]) == (True, "Client removed successfully.")
    assert set(body["data"]) == {"clientId", "removedAt"}
    assert body["data"]["clientId"] == client_id
    assert ISO_MS_Z.match(body["data"]["removedAt"])
    assert (again_status, again) == (200, body)

    # And the client now reads as deleted
    status, body = shell.run(adapt(SEED_000_GET, **{SAMPLE_CLIENT_ID: client_id}))
    assert (status, body["data"]["status"]) == (200, "deleted")


# ----------------------------------------------------------------------------- seed 001, pasted into bash


def test_seed_001_curl_examples_work_as_pasted(shell: Shell, token: str) -> None:
    partner_id = partner_id_of(token)
    email = unique_email("johasdn.doe")

    # Given the Register User example
    status, body = shell.run(adapt(SEED_001_REGISTER, **{"johasdn.doe@example.com": email}))
    # Then the user is registered under a userId
    assert status == 201, body
    assert (body["success"], body["message"]) == (True, "User registered successfully.")
    user = body["data"]
    assert set(user) == USER_KEYS, user
    assert UUID_RE.match(user["userId"])
    assert (user["name"], user["email"], user["status"], user["partnerId"]) == (
        "John Doe",
        email,
        "active",
        partner_id,
    )
    assert ISO_MS_Z.match(user["registeredAt"]) and ISO_MS_Z.match(user["updatedAt"])
    user_id = user["userId"]

    # When the Retrieve All Users example runs
    status, body = shell.run(adapt(SEED_001_ALL))
    # Then it is the default first page, listing users (not clients)
    assert status == 200, body
    assert (body["success"], body["message"]) == (True, "Users retrieved successfully.")
    assert set(body["data"]) == {"users", "pagination"}
    page = body["data"]["pagination"]
    assert (page["limit"], page["offset"]) == (20, 0)
    assert len(body["data"]["users"]) == min(page["total"], 20)
    assert page["hasMore"] is (page["total"] > 20)
    assert all({"userId", "name", "email", "status"} <= set(u) for u in body["data"]["users"])
    assert all("clientId" not in u for u in body["data"]["users"])

    # When the Get Specific User example runs with the id filled in
    status, body = shell.run(adapt(SEED_001_GET, **{"get-user?userId": f"get-user?userId={user_id}"}))
    # Then it is the registered user
    assert status == 200, body
    assert (body["success"], body["message"]) == (True, "User retrieved successfully.")
    assert body["data"] == user

    # When the Update User example suspends the user
    status, body = shell.run(adapt(SEED_001_UPDATE, **{SAMPLE_USER_ID: user_id}))
    # Then only the status changed
    assert status == 200, body
    assert (body["success"], body["message"]) == (True, "User updated successfully.")
    assert body["data"]["status"] == "suspended"
    assert {k: v for k, v in body["data"].items() if k not in ("status", "updatedAt")} == {
        k: v for k, v in user.items() if k not in ("status", "updatedAt")
    }

    # When the Remove User example runs, twice (DELETE with a JSON body)
    status, body = shell.run(adapt(SEED_001_REMOVE, **{SAMPLE_USER_ID: user_id}))
    again_status, again = shell.run(adapt(SEED_001_REMOVE, **{SAMPLE_USER_ID: user_id}))
    # Then both answer the same 200 with the id and the removal time
    assert status == 200, body
    assert (body["success"], body["message"]) == (True, "User removed successfully.")
    assert set(body["data"]) == {"userId", "removedAt"}
    assert body["data"]["userId"] == user_id
    assert ISO_MS_Z.match(body["data"]["removedAt"])
    assert (again_status, again) == (200, body)


# ----------------------------------------------------------------------------- seed 000 over requests


def test_register_client_is_active_and_readable_with_an_etag(server: LocalServer, token: str) -> None:
    # Given a new e-mail address
    email = unique_email("john.doe")

    # When the demo partner registers a client with it
    reply = call(server, "POST", CLIENTS, token, json={"name": "John Doe", "email": email})

    # Then it is 201, active, owned by the caller
    data = assert_success(reply, 201, "Client registered successfully.")
    assert_client(data, "John Doe", email, "active", partner_id_of(token))
    # and it reads back identically, with an ETag
    got = call(server, "GET", f"{CLIENTS}/{data['clientId']}", token)
    assert assert_success(got, 200, "Client retrieved successfully.") == data
    assert got.headers.get("ETag")


def test_list_first_page_matches_the_seed_shape(server: LocalServer, new_partner: Any) -> None:
    # Given an empty tenant that registers two clients
    tenant: Partner = new_partner("Seed List Partner")
    first = register(server, tenant.token, "John Doe", unique_email("john"))
    second = register(server, tenant.token, "Jane Doe", unique_email("jane"))

    # When it runs the seed's list request
    reply = call(server, "GET", f"{CLIENTS}?offset=0&limit=20", tenant.token)

    # Then both clients come back, oldest first, with exact pagination and no cursor
    data = assert_success(reply, 200, "Clients retrieved successfully.")
    assert data == {
        "clients": [first, second],
        "pagination": {"limit": 20, "offset": 0, "total": 2, "hasMore": False},
    }


def test_list_pages_by_limit_offset_and_cursor(server: LocalServer, new_partner: Any) -> None:
    # Given a tenant with two clients
    tenant: Partner = new_partner("Seed Paging Partner")
    first = register(server, tenant.token, "First One", unique_email("first"))
    second = register(server, tenant.token, "Second One", unique_email("second"))

    # When it asks for one item per page
    page_one = assert_success(
        call(server, "GET", f"{CLIENTS}?offset=0&limit=1", tenant.token),
        200,
        "Clients retrieved successfully.",
    )
    by_offset = assert_success(
        call(server, "GET", f"{CLIENTS}?offset=1&limit=1", tenant.token),
        200,
        "Clients retrieved successfully.",
    )

    # Then the first page says there is more and hands out a cursor
    assert page_one["clients"] == [first]
    pagination = page_one["pagination"]
    assert {k: pagination[k] for k in ("limit", "offset", "total", "hasMore")} == {
        "limit": 1,
        "offset": 0,
        "total": 2,
        "hasMore": True,
    }
    assert isinstance(pagination["nextCursor"], str) and pagination["nextCursor"]
    # and the second page by offset is the other client, with nothing after it
    assert by_offset == {
        "clients": [second],
        "pagination": {"limit": 1, "offset": 1, "total": 2, "hasMore": False},
    }
    # and following the cursor reaches the same second client
    by_cursor = assert_success(
        call(server, "GET", CLIENTS, tenant.token, params={"limit": 1, "cursor": pagination["nextCursor"]}),
        200,
        "Clients retrieved successfully.",
    )
    assert by_cursor["clients"] == [second]
    assert by_cursor["pagination"]["hasMore"] is False
    assert "nextCursor" not in by_cursor["pagination"]


def test_update_changes_name_email_and_status_and_frees_the_old_email(
    server: LocalServer, token: str
) -> None:
    # Given a registered client
    old_email, new_email = unique_email("john.doe"), unique_email("jane.doe")
    client = register(server, token, "John Doe", old_email)
    path = f"{CLIENTS}/{client['clientId']}"

    # When the seed's update (name, email, status suspended) is sent
    reply = call(
        server, "PATCH", path, token, json={"name": "Jane Doe", "email": new_email, "status": "suspended"}
    )

    # Then the full, updated client comes back (not the seed's stale sample)
    data = assert_success(reply, 200, "Client updated successfully.")
    assert_client(data, "Jane Doe", new_email, "suspended", client["partnerId"])
    assert (data["clientId"], data["registeredAt"]) == (client["clientId"], client["registeredAt"])
    # and it is stored: GET agrees, the list still shows a suspended client
    assert assert_success(call(server, "GET", path, token), 200, "Client retrieved successfully.") == data
    listed = assert_success(
        call(server, "GET", CLIENTS, token, params={"q": new_email}), 200, "Clients retrieved successfully."
    )
    assert listed["clients"] == [data]
    # and the old address is free again while the new one is taken
    register(server, token, "John Again", old_email)
    duplicate = call(server, "POST", CLIENTS, token, json={"name": "Someone", "email": new_email})
    assert duplicate.status_code == 409, duplicate.text


def test_delete_soft_removes_once_and_repeats_the_same_answer(server: LocalServer, token: str) -> None:
    # Given a registered client
    email = unique_email("gone")
    client = register(server, token, "Gone Soon", email)
    path = f"{CLIENTS}/{client['clientId']}"

    # When it is deleted twice
    first = assert_success(call(server, "DELETE", path, token), 200, "Client removed successfully.")
    second = assert_success(call(server, "DELETE", path, token), 200, "Client removed successfully.")

    # Then both answers carry the id and the same removal time
    assert set(first) == {"clientId", "removedAt"}
    assert first["clientId"] == client["clientId"]
    assert ISO_MS_Z.match(first["removedAt"])
    assert second == first
    # and the record is kept, marked deleted, and gone from the default list
    got = assert_success(call(server, "GET", path, token), 200, "Client retrieved successfully.")
    assert got["status"] == "deleted"
    listed = assert_success(
        call(server, "GET", CLIENTS, token, params={"q": email}), 200, "Clients retrieved successfully."
    )
    assert listed["clients"] == []
    assert listed["pagination"]["total"] == 0


# ----------------------------------------------------------------------------- seed 001 over requests


def test_legacy_user_routes_share_the_clients_store(server: LocalServer, new_partner: Any) -> None:
    # Given an empty tenant that registers a user through the legacy route
    tenant: Partner = new_partner("Seed Legacy Partner")
    email = unique_email("johasdn.doe")
    reply = call(
        server, "POST", "/partner/v1/register-user", tenant.token, json={"name": "John Doe", "email": email}
    )
    user = assert_success(reply, 201, "User registered successfully.")
    user_id = user["userId"]

    # When it lists all users
    listed = assert_success(
        call(server, "GET", "/partner/v1/all-users", tenant.token), 200, "Users retrieved successfully."
    )
    # Then the one user is there, with the seed's pagination block
    assert listed == {
        "users": [user],
        "pagination": {"limit": 20, "offset": 0, "total": 1, "hasMore": False},
    }

    # When it reads the user by id through both route families
    legacy = call(server, "GET", "/partner/v1/get-user", tenant.token, params={"userId": user_id})
    modern = call(server, "GET", f"{CLIENTS}/{user_id}", tenant.token)
    # Then both show the same record under their own id name
    assert assert_success(legacy, 200, "User retrieved successfully.") == user
    as_client = assert_success(modern, 200, "Client retrieved successfully.")
    assert as_client == {"clientId": user_id, **{k: v for k, v in user.items() if k != "userId"}}

    # When the user is suspended, then removed with a JSON body on DELETE
    updated = assert_success(
        call(
            server,
            "PATCH",
            "/partner/v1/update-user",
            tenant.token,
            json={"userId": user_id, "status": "suspended"},
        ),
        200,
        "User updated successfully.",
    )
    assert (updated["userId"], updated["status"], updated["email"]) == (user_id, "suspended", email)
    removed = assert_success(
        call(server, "DELETE", "/partner/v1/remove-user", tenant.token, json={"userId": user_id}),
        200,
        "User removed successfully.",
    )
    assert set(removed) == {"userId", "removedAt"}
    assert removed["userId"] == user_id
    assert ISO_MS_Z.match(removed["removedAt"])

    # Then the record reads as deleted and the list is empty
    after = call(server, "GET", "/partner/v1/get-user", tenant.token, params={"userId": user_id})
    assert assert_success(after, 200, "User retrieved successfully.")["status"] == "deleted"
    empty = assert_success(
        call(server, "GET", "/partner/v1/all-users", tenant.token), 200, "Users retrieved successfully."
    )
    assert empty == {"users": [], "pagination": {"limit": 20, "offset": 0, "total": 0, "hasMore": False}}
