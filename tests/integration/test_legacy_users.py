"""The legacy user routes of seed 001 (API.md section 4): the clients store under ``userId`` names."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.conftest import Tenant, token_for
from tests.support.apigw import Api, Reply
from tests.support.clients import (
    CLIENTS,
    REQUIRED_KEYS,
    TIMESTAMP_RE,
    UUID_RE,
    Stored,
    assert_error,
    assert_success,
    expected_counts,
    public_view,
    register,
)

REGISTER = "/partner/v1/register-user"
ALL = "/partner/v1/all-users"
GET = "/partner/v1/get-user"
UPDATE = "/partner/v1/update-user"
REMOVE = "/partner/v1/remove-user"
USER_KEYS = (REQUIRED_KEYS - {"clientId"}) | {"userId"}


@pytest.fixture
def stored(stack: Any) -> Stored:
    return Stored(stack)


def register_user(
    api: Api, tenant: Tenant, email: str, name: str = "Lee Gacy", **fields: Any
) -> dict[str, Any]:
    reply = api.call("POST", REGISTER, token=tenant.token, json_body={"name": name, "email": email, **fields})
    assert reply.status == 201, reply.text
    return reply.body["data"]  # type: ignore[no-any-return]


def get_user(api: Api, tenant: Tenant, user_id: str, **kwargs: Any) -> Reply:
    return api.call("GET", GET, token=tenant.token, query={"userId": user_id}, **kwargs)


def as_client(user: dict[str, Any]) -> dict[str, Any]:
    """A legacy user as the clients routes show it."""
    shown = {k: v for k, v in user.items() if k != "userId"}
    return {"clientId": user["userId"], **shown}


# --------------------------------------------------------------------------- POST /partner/v1/register-user


def test_register_user_answers_201_with_a_user_id(api: Api, tenant: Tenant, stored: Stored) -> None:
    # Given a tenant
    # When it registers a user through the legacy route
    reply = api.call(
        "POST", REGISTER, token=tenant.token, json_body={"name": "Lee Gacy", "email": "lee@example.com"}
    )

    # Then the user comes back under userId, never clientId, with only the set fields
    data = assert_success(reply, 201, "User registered successfully.")
    assert set(data) == USER_KEYS
    assert UUID_RE.match(data["userId"])
    assert (data["name"], data["email"], data["status"]) == ("Lee Gacy", "lee@example.com", "active")
    assert data["partnerId"] == tenant.partner_id
    assert TIMESTAMP_RE.match(data["registeredAt"])
    # and it is stored as a client: item, email claim, counters and one client.registered event
    assert public_view(stored.client(tenant.partner_id, data["userId"]) or {}) == as_client(data)
    assert stored.email_owner(tenant.partner_id, "lee@example.com") == data["userId"]
    assert stored.counts(tenant.partner_id, tenant.partner_id) == expected_counts(active=1)
    (event,) = stored.client_events(tenant.partner_id)
    assert event["type"] == "client.registered"
    assert event["resource"] == {"type": "client", "id": data["userId"]}


def test_a_legacy_user_is_a_client_and_a_client_is_a_legacy_user(api: Api, tenant: Tenant) -> None:
    # Given a user registered through the legacy route and a client through the clients route
    user = register_user(api, tenant, "legacy@example.com", title="Old School")
    client = register(api, tenant, "modern@example.com", title="New School")

    # When each is read through the other family of routes
    as_new = api.call("GET", f"{CLIENTS}/{user['userId']}", token=tenant.token)
    as_old = get_user(api, tenant, client["clientId"])

    # Then each is the same record under the other id name
    assert assert_success(as_new, 200, "Client retrieved successfully.") == as_client(user)
    assert as_client(assert_success(as_old, 200, "User retrieved successfully.")) == client


def test_register_user_with_a_taken_email_is_client_already_exists(
    api: Api, tenant: Tenant, stored: Stored, subtests: pytest.Subtests
) -> None:
    # Given a client registered through the clients route
    client = register(api, tenant, "taken@example.com")
    before = stored.snapshot(tenant.partner_id)
    for case, email in [("same case", "taken@example.com"), ("other case", "TAKEN@Example.COM")]:
        with subtests.test(case):
            # When the legacy route registers the same email
            reply = api.call("POST", REGISTER, token=tenant.token, json_body={"name": "Dup", "email": email})

            # Then it conflicts with the same code as the clients route, and nothing is written
            assert_error(reply, 409, "CLIENT_ALREADY_EXISTS", field="email")
            assert stored.snapshot(tenant.partner_id) == before
            assert stored.email_owner(tenant.partner_id, "taken@example.com") == client["clientId"]


def test_register_user_validates_like_register_client(
    api: Api, tenant: Tenant, stored: Stored, subtests: pytest.Subtests
) -> None:
    before = stored.snapshot(tenant.partner_id)
    for case, body, code, field in [
        ("missing email", {"name": "No Email"}, "MISSING_REQUIRED_PARAMS", "email"),
        ("blank email", {"name": "Blank", "email": "  "}, "MISSING_REQUIRED_PARAMS", "email"),
        ("bad email", {"name": "Bad", "email": "nope"}, "INVALID_PARAMETER", "email"),
        ("unknown field", {"name": "U", "email": "u@example.com", "age": 3}, "INVALID_PARAMETER", "age"),
        (
            "read-only userId",
            {"name": "U", "email": "u@example.com", "userId": str(uuid.uuid4())},
            "INVALID_PARAMETER",
            "userId",
        ),
    ]:
        with subtests.test(case):
            # When the legacy register gets an invalid body
            reply = api.call("POST", REGISTER, token=tenant.token, json_body=body)

            # Then it is refused as the clients route would, and nothing is written
            assert_error(reply, 400, code, field=field)
            assert stored.snapshot(tenant.partner_id) == before


def test_register_user_lists_every_missing_field_and_derives_the_name_like_register_client(
    api: Api, tenant: Tenant, stored: Stored
) -> None:
    # Given the tenant's stored state
    before = stored.snapshot(tenant.partner_id)

    # When the legacy register gets an empty body
    empty = api.call("POST", REGISTER, token=tenant.token, json_body={})

    # Then name and email are both reported in one reply, and nothing is written
    error = assert_error(empty, 400, "MISSING_REQUIRED_PARAMS")
    assert error["message"] == "Required parameter name, email is missing."
    assert error["details"] == [
        {"field": "name", "issue": "required"},
        {"field": "email", "issue": "required"},
    ]
    assert stored.snapshot(tenant.partner_id) == before

    # When it gets firstName and lastName without a name
    body = {"firstName": "Lee", "lastName": "Gacy", "email": "lee@example.com"}
    derived = api.call("POST", REGISTER, token=tenant.token, json_body=body)

    # Then the user is registered with the derived name
    data = assert_success(derived, 201, "User registered successfully.")
    assert data["name"] == "Lee Gacy"
    assert (stored.client(tenant.partner_id, data["userId"]) or {})["name"] == "Lee Gacy"


# --------------------------------------------------------------------------- GET /partner/v1/get-user


def test_get_user_returns_the_user_with_an_etag(api: Api, tenant: Tenant) -> None:
    # Given a registered user
    user = register_user(api, tenant, "get@example.com", company="Acme")

    # When it is read by userId
    reply = get_user(api, tenant, user["userId"])

    # Then it is the same user, with an ETag
    assert assert_success(reply, 200, "User retrieved successfully.") == user
    assert reply.header("ETag")


def test_get_user_errors(api: Api, tenant: Tenant, subtests: pytest.Subtests) -> None:
    for case, query, status, code in [
        ("unknown userId", {"userId": str(uuid.uuid4())}, 404, "CLIENT_NOT_FOUND"),
        ("no userId", None, 400, "MISSING_REQUIRED_PARAMS"),
        ("malformed userId", {"userId": "user-1"}, 400, "INVALID_PARAMETER"),
    ]:
        with subtests.test(case):
            # When get-user is asked for a user it cannot find or name
            reply = api.call("GET", GET, token=tenant.token, query=query)

            # Then it answers with the clients routes' codes
            assert_error(reply, status, code, field="userId" if status == 400 else None)


def test_get_user_shows_a_removed_user_as_deleted(api: Api, tenant: Tenant) -> None:
    # Given a removed user
    user = register_user(api, tenant, "was@example.com")
    removed = api.call("DELETE", REMOVE, token=tenant.token, json_body={"userId": user["userId"]})
    assert removed.status == 200, removed.text

    # When it is read
    data = assert_success(get_user(api, tenant, user["userId"]), 200, "User retrieved successfully.")

    # Then it is there, deleted
    assert data["status"] == "deleted"
    assert data["removedAt"] == removed.body["data"]["removedAt"]


# --------------------------------------------------------------------------- GET /partner/v1/all-users


def test_all_users_lists_users_under_user_ids(api: Api, tenant: Tenant) -> None:
    # Given two users, one from each family of routes, and a removed one
    first = register_user(api, tenant, "first@example.com")
    second = register(api, tenant, "second@example.com")
    gone = register_user(api, tenant, "gone@example.com")
    assert api.call("DELETE", REMOVE, token=tenant.token, json_body={"userId": gone["userId"]}).status == 200

    # When all users are listed
    reply = api.call("GET", ALL, token=tenant.token)

    # Then data.users holds the live ones, oldest first, each under userId
    data = assert_success(reply, 200, "Users retrieved successfully.")
    assert set(data) == {"users", "pagination"}
    assert [u["userId"] for u in data["users"]] == [first["userId"], second["clientId"]]
    assert all("clientId" not in u and set(u) == USER_KEYS for u in data["users"])
    assert data["users"][0] == first
    assert data["pagination"] == {"limit": 20, "offset": 0, "total": 2, "hasMore": False}


def test_all_users_pages_and_validates_like_the_clients_list(
    api: Api, tenant: Tenant, subtests: pytest.Subtests
) -> None:
    # Given three users
    ids = [register_user(api, tenant, f"u{i}@example.com")["userId"] for i in range(3)]

    with subtests.test("cursor walk"):
        # When they are walked two at a time
        page1 = assert_success(
            api.call("GET", ALL, token=tenant.token, query={"limit": "2"}),
            200,
            "Users retrieved successfully.",
        )
        cursor = page1["pagination"]["nextCursor"]
        page2 = assert_success(
            api.call("GET", ALL, token=tenant.token, query={"limit": "2", "cursor": cursor}),
            200,
            "Users retrieved successfully.",
        )

        # Then each comes once, in order, with the total on each page
        assert [u["userId"] for u in page1["users"] + page2["users"]] == ids
        assert page1["pagination"]["hasMore"] is True
        assert page2["pagination"]["hasMore"] is False
        assert "nextCursor" not in page2["pagination"]
        assert page1["pagination"]["total"] == page2["pagination"]["total"] == 3

    for limit in ("0", "101", "abc"):
        with subtests.test(f"limit={limit}"):
            reply = api.call("GET", ALL, token=tenant.token, query={"limit": limit})

            assert_error(reply, 400, "INVALID_PARAMETER", field="limit")


# --------------------------------------------------------------------------- PATCH /partner/v1/update-user


def test_update_user_changes_the_user_named_in_the_body(api: Api, tenant: Tenant, stored: Stored) -> None:
    # Given a registered user
    user = register_user(api, tenant, "upd@example.com", title="Clerk", metadata={"a": "1"})

    # When update-user names it in the body
    reply = api.call(
        "PATCH",
        UPDATE,
        token=tenant.token,
        json_body={"userId": user["userId"], "title": "Manager", "metadata": {"b": "2"}},
    )

    # Then the full updated user comes back under userId
    data = assert_success(reply, 200, "User updated successfully.")
    assert data == {
        **user,
        "title": "Manager",
        "metadata": {"a": "1", "b": "2"},
        "updatedAt": data["updatedAt"],
    }
    # and the store and the clients route agree, with one client.updated event
    assert public_view(stored.client(tenant.partner_id, user["userId"]) or {}) == as_client(data)
    (event,) = stored.events(tenant.partner_id, "client.updated", user["userId"])
    assert event["changes"]["title"] == {"from": "Clerk", "to": "Manager"}


def test_update_user_status_deleted_and_back_removes_and_restores(
    api: Api, tenant: Tenant, stored: Stored
) -> None:
    # Given a registered user
    user = register_user(api, tenant, "cycle@example.com")
    uid = user["userId"]

    # When update-user sets status deleted, then active
    removed = api.call("PATCH", UPDATE, token=tenant.token, json_body={"userId": uid, "status": "deleted"})
    removed_data = assert_success(removed, 200, "User updated successfully.")
    email_after_removal = stored.email_owner(tenant.partner_id, "cycle@example.com")
    restored = api.call("PATCH", UPDATE, token=tenant.token, json_body={"userId": uid, "status": "active"})

    # Then it was removed (email released) and is restored (email retaken), one event each
    assert removed_data["status"] == "deleted"
    assert email_after_removal is None
    assert assert_success(restored, 200, "User updated successfully.")["status"] == "active"
    assert stored.email_owner(tenant.partner_id, "cycle@example.com") == uid
    assert [e["type"] for e in stored.client_events(tenant.partner_id, uid)] == [
        "client.registered",
        "client.removed",
        "client.restored",
    ]
    assert stored.counts(tenant.partner_id, tenant.partner_id) == expected_counts(active=1)


def test_update_user_errors_change_nothing(
    api: Api, tenant: Tenant, stored: Stored, subtests: pytest.Subtests
) -> None:
    # Given two users and a stale ETag of the first
    user = register_user(api, tenant, "err@example.com")
    other = register_user(api, tenant, "other@example.com")
    stale = get_user(api, tenant, user["userId"]).header("ETag") or ""
    bumped = api.call(
        "PATCH", UPDATE, token=tenant.token, json_body={"userId": user["userId"], "title": "v2"}
    )
    assert bumped.status == 200, bumped.text
    uid = user["userId"]
    before = stored.snapshot(tenant.partner_id)
    for case, body, headers, status, code, field in [
        ("no userId", {"title": "X"}, None, 400, "MISSING_REQUIRED_PARAMS", "userId"),
        ("malformed userId", {"userId": "u-1", "title": "X"}, None, 400, "INVALID_PARAMETER", "userId"),
        ("unknown userId", {"userId": str(uuid.uuid4()), "title": "X"}, None, 404, "CLIENT_NOT_FOUND", None),
        ("read-only clientId", {"userId": uid, "clientId": uid}, None, 400, "INVALID_PARAMETER", "clientId"),
        (
            "read-only registeredAt",
            {"userId": uid, "registeredAt": "x"},
            None,
            400,
            "INVALID_PARAMETER",
            None,
        ),
        ("bad status", {"userId": uid, "status": "gone"}, None, 400, "INVALID_PARAMETER", "status"),
        (
            "another user's email",
            {"userId": uid, "email": "OTHER@example.com"},
            None,
            409,
            "CLIENT_ALREADY_EXISTS",
            "email",
        ),
        (
            "stale If-Match",
            {"userId": uid, "title": "v3"},
            {"If-Match": stale},
            412,
            "PRECONDITION_FAILED",
            None,
        ),
    ]:
        with subtests.test(case):
            # When update-user is called with a bad request
            reply = api.call("PATCH", UPDATE, token=tenant.token, json_body=body, headers=headers)

            # Then it answers with the clients routes' codes and nothing changes
            assert_error(reply, status, code, field=field)
            assert stored.snapshot(tenant.partner_id) == before
    assert stored.email_owner(tenant.partner_id, "other@example.com") == other["userId"]


# --------------------------------------------------------------------------- DELETE /partner/v1/remove-user


def test_remove_user_removes_once_and_answers_the_same_twice(
    api: Api, tenant: Tenant, stored: Stored
) -> None:
    # Given a registered user
    user = register_user(api, tenant, "bye@example.com")
    uid = user["userId"]

    # When remove-user is called twice with its id in the body
    first = api.call("DELETE", REMOVE, token=tenant.token, json_body={"userId": uid})
    after_first = stored.snapshot(tenant.partner_id)
    second = api.call("DELETE", REMOVE, token=tenant.token, json_body={"userId": uid})

    # Then both answer the same: the userId and the removal time
    data = assert_success(first, 200, "User removed successfully.")
    assert set(data) == {"userId", "removedAt"}
    assert data["userId"] == uid
    assert TIMESTAMP_RE.match(data["removedAt"])
    assert second.status == 200 and second.body == first.body
    # and the client is soft-deleted once: email released, counters moved, one client.removed event
    assert stored.snapshot(tenant.partner_id) == after_first
    assert (stored.client(tenant.partner_id, uid) or {})["status"] == "deleted"
    assert stored.email_owner(tenant.partner_id, "bye@example.com") is None
    assert stored.counts(tenant.partner_id, tenant.partner_id) == expected_counts(deleted=1)
    assert len(stored.events(tenant.partner_id, "client.removed", uid)) == 1
    # and the clients route sees it deleted
    assert api.call("GET", f"{CLIENTS}/{uid}", token=tenant.token).body["data"]["status"] == "deleted"


def test_remove_user_errors_change_nothing(
    api: Api, tenant: Tenant, stored: Stored, subtests: pytest.Subtests
) -> None:
    # Given a registered user
    register_user(api, tenant, "stay@example.com")
    before = stored.snapshot(tenant.partner_id)
    for case, body, status, code, field in [
        ("no body", None, 400, "MISSING_REQUIRED_PARAMS", "userId"),
        ("empty body", {}, 400, "MISSING_REQUIRED_PARAMS", "userId"),
        ("malformed userId", {"userId": "nope"}, 400, "INVALID_PARAMETER", "userId"),
        ("extra field", {"userId": str(uuid.uuid4()), "force": True}, 400, "INVALID_PARAMETER", "force"),
        ("unknown userId", {"userId": str(uuid.uuid4())}, 404, "CLIENT_NOT_FOUND", None),
    ]:
        with subtests.test(case):
            # When remove-user cannot name a user of the caller
            reply = api.call("DELETE", REMOVE, token=tenant.token, json_body=body)

            # Then it answers with the clients routes' codes and nothing changes
            assert_error(reply, status, code, field=field)
            assert stored.snapshot(tenant.partner_id) == before


# --------------------------------------------------------------------------- auth and isolation


def _legacy_routes(user_id: str) -> list[tuple[str, str, Any, dict[str, str] | None]]:
    return [
        ("POST", REGISTER, {"name": "A", "email": "a@example.com"}, None),
        ("GET", ALL, None, None),
        ("GET", GET, None, {"userId": user_id}),
        ("PATCH", UPDATE, {"userId": user_id, "title": "X"}, None),
        ("DELETE", REMOVE, {"userId": user_id}, None),
    ]


def test_legacy_routes_need_a_token_and_the_right_scope(
    api: Api, tenant: Tenant, stored: Stored, subtests: pytest.Subtests
) -> None:
    # Given a user and a token holding only clients:read
    user = register_user(api, tenant, "guarded@example.com")
    read_token = token_for(api, tenant.credential, scope="clients:read")
    before = stored.snapshot(tenant.partner_id)
    for method, path, body, query in _legacy_routes(user["userId"]):
        with subtests.test(f"{method} {path} without a token"):
            reply = api.call(method, path, json_body=body, query=query)

            assert_error(reply, 401, "NO_AUTHORIZATION_HEADER")
            assert stored.snapshot(tenant.partner_id) == before
        with subtests.test(f"{method} {path} with clients:read"):
            reply = api.call(method, path, token=read_token, json_body=body, query=query)

            if method == "GET":
                assert reply.status == 200, reply.text
            else:
                assert_error(reply, 403, "MISSING_SCOPES")
            assert stored.snapshot(tenant.partner_id) == before


def test_another_tenant_cannot_see_or_touch_a_legacy_user(
    api: Api, tenant: Tenant, other_tenant: Tenant, stored: Stored, subtests: pytest.Subtests
) -> None:
    # Given a user of one tenant
    user = register_user(api, tenant, "private@example.com")
    before = stored.snapshot(tenant.partner_id)
    for method, path, body, query in _legacy_routes(user["userId"])[2:]:
        with subtests.test(f"{method} {path}"):
            # When another tenant names it
            reply = api.call(method, path, token=other_tenant.token, json_body=body, query=query)

            # Then it does not exist for that tenant and nothing changes
            assert_error(reply, 404, "CLIENT_NOT_FOUND")
            assert stored.snapshot(tenant.partner_id) == before

    with subtests.test("all-users"):
        # When another tenant lists its users
        data = assert_success(
            api.call("GET", ALL, token=other_tenant.token), 200, "Users retrieved successfully."
        )

        # Then it sees none of the first tenant's
        assert data["users"] == []
        assert data["pagination"]["total"] == 0

    with subtests.test("same email in another tenant"):
        # When another tenant registers the same email through the legacy route
        theirs = register_user(api, other_tenant, "PRIVATE@example.com")

        # Then it may: uniqueness is per tenant
        assert stored.email_owner(other_tenant.partner_id, "private@example.com") == theirs["userId"]
        assert stored.email_owner(tenant.partner_id, "private@example.com") == user["userId"]
