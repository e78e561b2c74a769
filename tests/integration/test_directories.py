"""Directories (API.md section 10): SCIM provisioning connections. Create (the token shown once,
stored only as its SHA-256), list, read, rotate the token, delete; who may see and change them;
their audit events; ``Idempotency-Key``; and a directory token refused outside SCIM.

Everything goes through the template's routes (``api.call``) and is checked against the stored
items and event rows, read with plain boto3.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from local.stack import Stack
from tests.conftest import Credential, Tenant, token_for
from tests.support.apigw import Api, Reply
from tests.support.clients import TIMESTAMP_RE, UUID_RE, Stored, assert_error, assert_success

DIRECTORIES = "/partner/v1/directories"
PARTNERS = "/partner/v1/partners"
ACCOUNTS = "/partner/v1/accounts"
CREDENTIALS = "/partner/v1/credentials"
EVENTS = "/partner/v1/events"
SCIM_CONFIG = "/scim/v2/ServiceProviderConfig"
SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_BASE_URL = "https://api.test.local/scim/v2"  # the test events' domainName, + /scim/v2
TOKEN_RE = re.compile(r"^scim_[A-Za-z0-9_-]{43}$")  # 32 random bytes, url-safe base64 unpadded
ETAG_RE = re.compile(r'^"[^"]+"$')
SHOWN = {"directoryId", "name", "partnerId", "scimBaseUrl", "createdAt", "updatedAt"}


# --- helpers -----------------------------------------------------------------------------------------


class Tables(Stored):
    """``Stored`` plus directory items and token items (these live outside any tenant partition)."""

    def directory(self, tenant_id: str, directory_id: str) -> dict[str, Any] | None:
        return self._get(self.tenants_table, f"TENANT#{tenant_id}", f"DIRECTORY#{directory_id}")

    def directories(self, tenant_id: str) -> list[dict[str, Any]]:
        return [
            i
            for i in self._partition(self.tenants_table, f"TENANT#{tenant_id}")
            if i["SK"].startswith("DIRECTORY#")
        ]

    def token_item(self, token: str) -> dict[str, Any] | None:
        return self._get(self.tenants_table, f"SCIMTOKEN#{sha256(token)}", "SCIMTOKEN")

    def everything(self) -> list[dict[str, Any]]:
        """Every item of the tenants table, of every tenant (a scan: tests hold a few hundred)."""
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {"TableName": self.tenants_table, "ConsistentRead": True}
        while True:
            page = self._ddb.scan(**params)
            items.extend(self._item(i) for i in page["Items"])
            if not page.get("LastEvaluatedKey"):
                return items
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def token_items(self) -> list[dict[str, Any]]:
        return [i for i in self.everything() if i["PK"].startswith("SCIMTOKEN#")]


@pytest.fixture
def tables(stack: Stack) -> Tables:
    return Tables(stack)


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_reply(api: Api, token: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Reply:
    return api.call("POST", DIRECTORIES, token=token, json_body=body, headers=headers)


def create_directory(api: Api, token: str, name: str = "Okta production", **fields: Any) -> dict[str, Any]:
    """Given-step helper: a directory through POST /partner/v1/directories; returns its data."""
    reply = create_reply(api, token, {"name": name, **fields})
    return assert_success(reply, 201, "Directory created successfully.")  # type: ignore[no-any-return]


def get_directory(api: Api, token: str, directory_id: str) -> Reply:
    return api.call("GET", f"{DIRECTORIES}/{directory_id}", token=token)


def rotate(api: Api, token: str, directory_id: str) -> Reply:
    return api.call("POST", f"{DIRECTORIES}/{directory_id}/rotate-token", token=token)


def delete(api: Api, token: str, directory_id: str) -> Reply:
    return api.call("DELETE", f"{DIRECTORIES}/{directory_id}", token=token)


def list_directories(api: Api, token: str, **query: str) -> dict[str, Any]:
    reply = api.call("GET", DIRECTORIES, token=token, query=query or None)
    return assert_success(reply, 200, "Directories retrieved successfully.")  # type: ignore[no-any-return]


def shown(data: dict[str, Any]) -> dict[str, Any]:
    """A directory as GET and the list show it: without its token."""
    return {k: v for k, v in data.items() if k != "token"}


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [i["directoryId"] for i in items]


def create_partner(api: Api, token: str, name: str, **fields: Any) -> dict[str, Any]:
    reply = api.call("POST", PARTNERS, token=token, json_body={"name": name, **fields})
    return assert_success(reply, 201, "Partner created successfully.")  # type: ignore[no-any-return]


def create_account(api: Api, token: str, name: str, **fields: Any) -> dict[str, Any]:
    reply = api.call("POST", ACCOUNTS, token=token, json_body={"name": name, "countryCode": "US", **fields})
    return assert_success(reply, 201, "Account created successfully.")  # type: ignore[no-any-return]


@dataclass
class Member:
    """A sub-partner with a credential of its own (issued by the root) and a token of it."""

    partner: dict[str, Any]
    token: str

    @property
    def id(self) -> str:
        return str(self.partner["partnerId"])


def member(api: Api, root: Tenant, name: str, **fields: Any) -> Member:
    """Given-step helper: a sub-partner of ``root`` and a token of a credential issued for it."""
    partner = create_partner(api, root.token, name, **fields)
    reply = api.call("POST", CREDENTIALS, token=root.token, json_body={"partnerId": partner["partnerId"]})
    data = assert_success(reply, 201, "Credential created successfully.")
    return Member(partner, token_for(api, Credential(data["clientId"], data["clientSecret"])))


def partner_actor(tenant: Tenant) -> dict[str, str]:
    return {"type": "partner", "clientId": tenant.credential.client_id, "partnerId": tenant.partner_id}


def scim_config(api: Api, token: str) -> Reply:
    return api.call("GET", SCIM_CONFIG, token=token)


def assert_scim_unauthorized(reply: Reply) -> None:
    assert reply.status == 401, reply.text
    assert reply.body["schemas"] == [SCIM_ERROR] and reply.body["status"] == "401"


def forget_cached_directories() -> None:
    """What the directory-token cache's 60 s lifetime does to a warm container."""
    from partner_api.auth import directories

    directories.forget_cached()


# --- POST /partner/v1/directories --------------------------------------------------------------------


def test_create_shows_the_token_once_and_stores_only_its_hash(api: Api, tenant: Tenant, tables: Tables):
    # When the partner creates a directory
    reply = create_reply(
        api, tenant.token, {"name": "Okta production"}, headers={"x-request-id": "create-directory-1"}
    )

    # Then it answers the directory, its SCIM base URL, and a token shown this once, with an ETag
    data = assert_success(reply, 201, "Directory created successfully.")
    assert set(data) == SHOWN | {"token"}
    assert UUID_RE.match(data["directoryId"])
    assert (data["name"], data["partnerId"]) == ("Okta production", tenant.partner_id)
    assert data["scimBaseUrl"] == SCIM_BASE_URL
    assert TIMESTAMP_RE.match(data["createdAt"]) and data["updatedAt"] == data["createdAt"]
    token = data["token"]
    assert TOKEN_RE.match(token), token
    assert ETAG_RE.match(reply.header("ETag") or "")
    # And reading it back shows the same directory, the same ETag, and no token
    got = get_directory(api, tenant.token, data["directoryId"])
    assert assert_success(got, 200, "Directory retrieved successfully.") == shown(data)
    assert got.header("ETag") == reply.header("ETag")

    # And the directory item holds the token's SHA-256, never the token
    item = tables.directory(tenant.partner_id, data["directoryId"])
    assert item is not None
    assert item["tokenHash"] == sha256(token) and "token" not in item
    assert (item["partnerId"], item["partnerPath"], item["name"]) == (
        tenant.partner_id,
        [tenant.partner_id],
        "Okta production",
    )
    # And the token item, found by that hash alone, says whose directory it is
    assert tables.token_item(token) == {
        "PK": f"SCIMTOKEN#{sha256(token)}",
        "SK": "SCIMTOKEN",
        "directoryId": data["directoryId"],
        "tenantId": tenant.partner_id,
        "partnerId": tenant.partner_id,
        "partnerPath": [tenant.partner_id],
    }
    assert len(tables.token_items()) == 1
    # And the token is in no stored item, of any table, in clear
    assert token not in json.dumps(tables.everything())
    assert token not in json.dumps(tables.snapshot(tenant.partner_id))

    # And one directory.created event records it, by the partner's credential
    (event,) = tables.events(tenant.partner_id, "directory.created")
    assert event["resource"] == {"type": "directory", "id": data["directoryId"]}
    assert event["partnerId"] == tenant.partner_id
    assert event["actor"] == partner_actor(tenant)
    assert event["changes"] == {"name": {"from": None, "to": "Okta production"}}
    assert event["requestId"] == "create-directory-1"


def test_create_for_a_sub_partner_makes_it_the_owner(api: Api, tenant: Tenant, tables: Tables):
    # Given a sub-partner of the caller
    child = member(api, tenant, "Branch West")

    # When the root creates a directory for it
    data = create_directory(api, tenant.token, "West Entra", partnerId=child.id)

    # Then the sub-partner owns it, in the directory item and the token item alike
    assert data["partnerId"] == child.id
    item = tables.directory(tenant.partner_id, data["directoryId"])
    assert item is not None and item["partnerPath"] == [tenant.partner_id, child.id]
    token_item = tables.token_item(data["token"])
    assert token_item is not None
    assert (token_item["tenantId"], token_item["partnerId"], token_item["partnerPath"]) == (
        tenant.partner_id,
        child.id,
        [tenant.partner_id, child.id],
    )
    # And its event is the sub-partner's, by the root's credential
    (event,) = tables.events(tenant.partner_id, "directory.created")
    assert event["partnerId"] == child.id and event["actor"] == partner_actor(tenant)
    # And the sub-partner's own token sees it
    assert ids(list_directories(api, child.token)["directories"]) == [data["directoryId"]]


def test_create_by_a_sub_partner_is_its_own_by_default(api: Api, tenant: Tenant, tables: Tables):
    child = member(api, tenant, "Branch West")

    data = create_directory(api, child.token, "Own")

    assert data["partnerId"] == child.id
    token_item = tables.token_item(data["token"])
    assert token_item is not None and token_item["partnerPath"] == [tenant.partner_id, child.id]


def test_create_with_an_account_of_the_partner_or_a_descendant(api: Api, tenant: Tenant, tables: Tables):
    # Given an account of the partner, and one of its sub-partner
    own = create_account(api, tenant.token, "RetailAccount")
    child = create_partner(api, tenant.token, "Branch West")
    childs = create_account(api, tenant.token, "WestAccount", partnerId=child["partnerId"])

    # When directories are created with each
    first = create_directory(api, tenant.token, "Retail", accountId=own["accountId"])
    second = create_directory(api, tenant.token, "West", accountId=childs["accountId"])

    # Then each shows and stores its account, the token item too (a SCIM request needs it)
    for data, account in ((first, own), (second, childs)):
        assert set(data) == SHOWN | {"token", "accountId"}
        assert (data["accountId"], data["partnerId"]) == (account["accountId"], tenant.partner_id)
        got = get_directory(api, tenant.token, data["directoryId"])
        assert assert_success(got, 200, "Directory retrieved successfully.") == shown(data)
        item = tables.directory(tenant.partner_id, data["directoryId"])
        token_item = tables.token_item(data["token"])
        assert item is not None and item["accountId"] == account["accountId"]
        assert token_item is not None and token_item["accountId"] == account["accountId"]


def test_a_missing_name_is_missing_required_params(api: Api, tenant: Tenant, tables: Tables):
    for body in ({}, {"partnerId": tenant.partner_id}):
        reply = create_reply(api, tenant.token, body)
        assert_error(reply, 400, "MISSING_REQUIRED_PARAMS", field="name")
    assert tables.directories(tenant.partner_id) == [] and tables.token_items() == []


def test_an_unknown_field_is_invalid(api: Api, tenant: Tenant, tables: Tables):
    # A caller may not choose the token
    reply = create_reply(api, tenant.token, {"name": "Okta", "token": "scim_" + "a" * 43})

    assert_error(reply, 400, "INVALID_PARAMETER", field="token")
    assert tables.directories(tenant.partner_id) == [] and tables.token_items() == []


def test_malformed_partner_and_account_ids_are_invalid(api: Api, tenant: Tenant, tables: Tables):
    for field in ("partnerId", "accountId"):
        reply = create_reply(api, tenant.token, {"name": "Okta", field: "NOT-A-UUID"})
        assert_error(reply, 400, "INVALID_PARAMETER", field=field)
    assert tables.directories(tenant.partner_id) == []


def test_an_invisible_partner_is_partner_not_found(
    api: Api, tenant: Tenant, other_tenant: Tenant, tables: Tables
):
    # Given another tenant's sub-partner, and two sibling sub-partners of the caller's tenant
    stranger = create_partner(api, other_tenant.token, "Their Branch")
    west = member(api, tenant, "Branch West")
    east = create_partner(api, tenant.token, "Branch East")

    # When directories are asked for partners the caller cannot see
    attempts = [
        (tenant.token, str(uuid.uuid4())),
        (tenant.token, other_tenant.partner_id),
        (tenant.token, stranger["partnerId"]),
        (west.token, east["partnerId"]),  # a sibling
        (west.token, tenant.partner_id),  # an ancestor
    ]
    for token, partner_id in attempts:
        reply = create_reply(api, token, {"name": "Okta", "partnerId": partner_id})
        # Then each is not found, and nothing is stored
        assert_error(reply, 404, "PARTNER_NOT_FOUND", field="partnerId")
    assert tables.directories(tenant.partner_id) == [] and tables.directories(other_tenant.partner_id) == []
    assert tables.token_items() == []
    assert tables.events(tenant.partner_id, "directory.created") == []


def test_an_account_the_directorys_partner_cannot_see_is_account_not_found(
    api: Api, tenant: Tenant, other_tenant: Tenant, tables: Tables
):
    # Given accounts of another tenant, of the root, and of two sibling sub-partners
    theirs = create_account(api, other_tenant.token, "TheirAccount")
    roots = create_account(api, tenant.token, "RootAccount")
    west = member(api, tenant, "Branch West")
    east = create_partner(api, tenant.token, "Branch East")
    easts = create_account(api, tenant.token, "EastAccount", partnerId=east["partnerId"])

    attempts = [
        (tenant.token, {}, theirs["accountId"]),
        (tenant.token, {}, str(uuid.uuid4())),
        # the root sees East's account, but West (the directory's partner) does not
        (tenant.token, {"partnerId": west.id}, easts["accountId"]),
        # an ancestor's account is not the directory's partner's either
        (tenant.token, {"partnerId": west.id}, roots["accountId"]),
        (west.token, {}, easts["accountId"]),
        (west.token, {}, roots["accountId"]),
    ]
    for token, owner, account_id in attempts:
        # When a directory is asked for with that account
        reply = create_reply(api, token, {"name": "Okta", **owner, "accountId": account_id})
        # Then it is not found, and nothing is stored
        assert_error(reply, 404, "ACCOUNT_NOT_FOUND", field="accountId")
    assert tables.directories(tenant.partner_id) == [] and tables.token_items() == []
    assert tables.events(tenant.partner_id, "directory.created") == []


# --- scopes ------------------------------------------------------------------------------------------


def test_a_read_only_token_lists_and_reads_but_changes_nothing(api: Api, tenant: Tenant, tables: Tables):
    # Given a directory and a clients:read-only token
    data = create_directory(api, tenant.token)
    reader = token_for(api, tenant.credential, scope="clients:read")

    # Then it may list and read directories
    assert ids(list_directories(api, reader)["directories"]) == [data["directoryId"]]
    got = get_directory(api, reader, data["directoryId"])
    assert assert_success(got, 200, "Directory retrieved successfully.") == shown(data)

    # And it may not create, rotate or delete one
    assert_error(create_reply(api, reader, {"name": "Nope"}), 403, "MISSING_SCOPES")
    assert_error(rotate(api, reader, data["directoryId"]), 403, "MISSING_SCOPES")
    assert_error(delete(api, reader, data["directoryId"]), 403, "MISSING_SCOPES")
    (item,) = tables.directories(tenant.partner_id)
    assert item["tokenHash"] == sha256(data["token"]) and "tokenRotatedAt" not in item
    assert len(tables.token_items()) == 1


def test_a_token_without_clients_read_cannot_list_or_read(api: Api, tenant: Tenant):
    data = create_directory(api, tenant.token)
    other = token_for(api, tenant.credential, scope="partners:write")

    assert_error(api.call("GET", DIRECTORIES, token=other), 403, "MISSING_SCOPES")
    assert_error(get_directory(api, other, data["directoryId"]), 403, "MISSING_SCOPES")


# --- GET /partner/v1/directories ---------------------------------------------------------------------


def test_list_shows_the_tenants_directories_oldest_first_without_tokens(
    api: Api, tenant: Tenant, other_tenant: Tenant
):
    # Given three directories of the tenant and one of another tenant
    made = [create_directory(api, tenant.token, name) for name in ("First", "Second", "Third")]
    theirs = create_directory(api, other_tenant.token, "Theirs")

    # When the tenant lists its directories
    reply = api.call("GET", DIRECTORIES, token=tenant.token)

    # Then they are its own, oldest first, as GET shows them, and no token or hash is in the answer
    data = assert_success(reply, 200, "Directories retrieved successfully.")
    assert data["directories"] == [shown(d) for d in made]
    assert data["pagination"] == {"limit": 20, "offset": 0, "total": 3, "hasMore": False}
    for d in [*made, theirs]:
        assert d["token"] not in reply.text and sha256(d["token"]) not in reply.text
    assert "tokenHash" not in reply.text and "scim_" not in reply.text
    # And the other tenant sees only its own
    assert ids(list_directories(api, other_tenant.token)["directories"]) == [theirs["directoryId"]]


def test_list_pages_by_limit_offset_and_cursor(api: Api, tenant: Tenant):
    made = [create_directory(api, tenant.token, f"Directory {i}")["directoryId"] for i in range(5)]

    first = list_directories(api, tenant.token, limit="2")
    second = list_directories(api, tenant.token, limit="2", offset="2")
    last = list_directories(api, tenant.token, limit="2", offset="4")

    assert (ids(first["directories"]), ids(second["directories"]), ids(last["directories"])) == (
        made[:2],
        made[2:4],
        made[4:],
    )
    assert (first["pagination"]["total"], first["pagination"]["hasMore"]) == (5, True)
    assert (last["pagination"]["total"], last["pagination"]["hasMore"]) == (5, False)
    # And walking by cursor visits each once, in the same order
    walked, page = [], first
    while True:
        walked += ids(page["directories"])
        if not page["pagination"]["hasMore"]:
            break
        page = list_directories(api, tenant.token, limit="2", cursor=page["pagination"]["nextCursor"])
    assert walked == made


def test_a_sub_partners_token_lists_and_reads_only_its_subtrees_directories(api: Api, tenant: Tenant):
    # Given directories of the root, of West, of West's child, and of West's sibling East
    west = member(api, tenant, "Branch West")
    west_one = create_partner(api, tenant.token, "Branch West One", parent={"partnerId": west.id})
    east = create_partner(api, tenant.token, "Branch East")
    root_dir = create_directory(api, tenant.token, "Root")
    west_dir = create_directory(api, tenant.token, "West", partnerId=west.id)
    west_one_dir = create_directory(api, tenant.token, "West One", partnerId=west_one["partnerId"])
    east_dir = create_directory(api, tenant.token, "East", partnerId=east["partnerId"])

    # When West lists directories
    listed = list_directories(api, west.token)

    # Then it sees its own and its child's, and the root sees all four
    assert ids(listed["directories"]) == [west_dir["directoryId"], west_one_dir["directoryId"]]
    assert listed["pagination"]["total"] == 2
    everything = [root_dir, west_dir, west_one_dir, east_dir]
    assert ids(list_directories(api, tenant.token)["directories"]) == ids(everything)
    # And West reads, rotates and deletes none outside its subtree
    for outside in (root_dir, east_dir):
        assert_error(get_directory(api, west.token, outside["directoryId"]), 404, "DIRECTORY_NOT_FOUND")
        assert_error(rotate(api, west.token, outside["directoryId"]), 404, "DIRECTORY_NOT_FOUND")
        assert_error(delete(api, west.token, outside["directoryId"]), 404, "DIRECTORY_NOT_FOUND")
    got = get_directory(api, west.token, west_one_dir["directoryId"])
    assert assert_success(got, 200, "Directory retrieved successfully.") == shown(west_one_dir)
    # (and West's attempts changed nothing)
    assert ids(list_directories(api, tenant.token)["directories"]) == ids(everything)


# --- GET /partner/v1/directories/{directoryId} -------------------------------------------------------


def test_another_tenants_or_an_unknown_directory_is_not_found(
    api: Api, tenant: Tenant, other_tenant: Tenant, tables: Tables
):
    theirs = create_directory(api, other_tenant.token, "Theirs")

    for directory_id in (theirs["directoryId"], str(uuid.uuid4())):
        assert_error(get_directory(api, tenant.token, directory_id), 404, "DIRECTORY_NOT_FOUND")
        assert_error(rotate(api, tenant.token, directory_id), 404, "DIRECTORY_NOT_FOUND")
        assert_error(delete(api, tenant.token, directory_id), 404, "DIRECTORY_NOT_FOUND")

    # And theirs is untouched
    item = tables.directory(other_tenant.partner_id, theirs["directoryId"])
    assert item is not None and item["version"] == 1 and item["tokenHash"] == sha256(theirs["token"])
    assert tables.token_item(theirs["token"]) is not None


def test_a_malformed_directory_id_is_invalid(api: Api, tenant: Tenant):
    for bad in ("NOT-A-UUID", str(uuid.uuid4()).upper()):
        assert_error(get_directory(api, tenant.token, bad), 400, "INVALID_PARAMETER", field="directoryId")
        assert_error(rotate(api, tenant.token, bad), 400, "INVALID_PARAMETER", field="directoryId")
        assert_error(delete(api, tenant.token, bad), 400, "INVALID_PARAMETER", field="directoryId")


# --- POST /partner/v1/directories/{directoryId}/rotate-token -----------------------------------------


def test_rotating_issues_a_new_token_and_drops_the_old_ones_item(api: Api, tenant: Tenant, tables: Tables):
    # Given a directory and its ETag
    created = create_reply(api, tenant.token, {"name": "Okta"})
    data = assert_success(created, 201, "Directory created successfully.")
    old = data["token"]

    # When its token is rotated
    reply = api.call(
        "POST",
        f"{DIRECTORIES}/{data['directoryId']}/rotate-token",
        token=tenant.token,
        headers={"x-request-id": "rotate-directory-1"},
    )

    # Then a new token is shown once, with when it was rotated, and a new ETag
    rotated = assert_success(reply, 200, "Directory token rotated successfully.")
    assert set(rotated) == SHOWN | {"token", "tokenRotatedAt"}
    new = rotated["token"]
    assert TOKEN_RE.match(new) and new != old
    assert TIMESTAMP_RE.match(rotated["tokenRotatedAt"]) and rotated["updatedAt"] == rotated["tokenRotatedAt"]
    assert rotated["tokenRotatedAt"] >= data["createdAt"]
    assert {k: rotated[k] for k in ("directoryId", "name", "partnerId", "scimBaseUrl", "createdAt")} == {
        k: data[k] for k in ("directoryId", "name", "partnerId", "scimBaseUrl", "createdAt")
    }
    assert ETAG_RE.match(reply.header("ETag") or "") and reply.header("ETag") != created.header("ETag")
    got = get_directory(api, tenant.token, data["directoryId"])
    assert assert_success(got, 200, "Directory retrieved successfully.") == shown(rotated)
    assert got.header("ETag") == reply.header("ETag")

    # And the old token's item is gone, the new one's is there, and the directory holds its hash
    assert tables.token_item(old) is None
    assert tables.token_item(new) == {
        "PK": f"SCIMTOKEN#{sha256(new)}",
        "SK": "SCIMTOKEN",
        "directoryId": data["directoryId"],
        "tenantId": tenant.partner_id,
        "partnerId": tenant.partner_id,
        "partnerPath": [tenant.partner_id],
    }
    assert len(tables.token_items()) == 1
    item = tables.directory(tenant.partner_id, data["directoryId"])
    assert item is not None and item["tokenHash"] == sha256(new) and item["version"] == 2
    everything = json.dumps(tables.everything())
    assert old not in everything and new not in everything

    # And one directory.token_rotated event records it, with neither token
    (event,) = tables.events(tenant.partner_id, "directory.token_rotated")
    assert event["resource"] == {"type": "directory", "id": data["directoryId"]}
    assert (event["partnerId"], event["actor"]) == (tenant.partner_id, partner_actor(tenant))
    assert event["requestId"] == "rotate-directory-1"
    assert old not in json.dumps(event) and new not in json.dumps(event)


def test_rotating_keeps_the_directorys_account(api: Api, tenant: Tenant, tables: Tables):
    account = create_account(api, tenant.token, "RetailAccount")
    data = create_directory(api, tenant.token, accountId=account["accountId"])

    rotated = assert_success(
        rotate(api, tenant.token, data["directoryId"]), 200, "Directory token rotated successfully."
    )

    assert rotated["accountId"] == account["accountId"]
    token_item = tables.token_item(rotated["token"])
    assert token_item is not None and token_item["accountId"] == account["accountId"]


def test_after_rotation_scim_refuses_the_old_token_and_takes_the_new_one(api: Api, tenant: Tenant):
    # Given a directory
    data = create_directory(api, tenant.token)

    # When its token is rotated
    reply = rotate(api, tenant.token, data["directoryId"])
    new = assert_success(reply, 200, "Directory token rotated successfully.")["token"]

    # Then SCIM refuses the old token and takes the new one
    assert_scim_unauthorized(scim_config(api, data["token"]))
    assert scim_config(api, new).status == 200


def test_after_rotation_a_container_that_used_the_old_token_refuses_it_at_once(api: Api, tenant: Tenant):
    # Given a directory whose token SCIM has just taken (a warm container knows it)
    data = create_directory(api, tenant.token)
    assert scim_config(api, data["token"]).status == 200

    # When its token is rotated
    reply = rotate(api, tenant.token, data["directoryId"])
    new = assert_success(reply, 200, "Directory token rotated successfully.")["token"]

    # Then (API.md section 10: "the old one stops working at once", where a deleted directory's
    # token stops "within 60 s") the same container refuses the old token without waiting
    assert_scim_unauthorized(scim_config(api, data["token"]))
    assert scim_config(api, new).status == 200


# --- DELETE /partner/v1/directories/{directoryId} ----------------------------------------------------


def test_deleting_removes_the_directory_and_its_token_item_once(api: Api, tenant: Tenant, tables: Tables):
    # Given two directories
    data = create_directory(api, tenant.token, "To delete")
    kept = create_directory(api, tenant.token, "Kept")

    # When one is deleted (twice)
    reply = api.call(
        "DELETE",
        f"{DIRECTORIES}/{data['directoryId']}",
        token=tenant.token,
        headers={"x-request-id": "delete-directory-1"},
    )
    again = delete(api, tenant.token, data["directoryId"])

    # Then the first answers the directory (no token), and the second finds nothing
    deleted = assert_success(reply, 200, "Directory deleted successfully.")
    assert set(deleted) == SHOWN and "token" not in reply.text
    assert {k: deleted[k] for k in ("directoryId", "name", "partnerId", "createdAt")} == {
        k: data[k] for k in ("directoryId", "name", "partnerId", "createdAt")
    }
    assert_error(again, 404, "DIRECTORY_NOT_FOUND")
    # And it is gone: not readable, not listed, not rotatable
    assert_error(get_directory(api, tenant.token, data["directoryId"]), 404, "DIRECTORY_NOT_FOUND")
    assert_error(rotate(api, tenant.token, data["directoryId"]), 404, "DIRECTORY_NOT_FOUND")
    assert ids(list_directories(api, tenant.token)["directories"]) == [kept["directoryId"]]
    # And so are its item and its token's item; the other directory's stay
    assert tables.directory(tenant.partner_id, data["directoryId"]) is None
    assert tables.token_item(data["token"]) is None
    assert tables.directory(tenant.partner_id, kept["directoryId"]) is not None
    assert tables.token_item(kept["token"]) is not None
    # And exactly one directory.deleted event records it
    (event,) = tables.events(tenant.partner_id, "directory.deleted")
    assert event["resource"] == {"type": "directory", "id": data["directoryId"]}
    assert (event["partnerId"], event["actor"]) == (tenant.partner_id, partner_actor(tenant))
    assert event["requestId"] == "delete-directory-1"


def test_after_deletion_scim_refuses_the_token(api: Api, tenant: Tenant):
    # Given a directory whose token has been used on SCIM, and one whose token has not
    used = create_directory(api, tenant.token, "Used")
    fresh = create_directory(api, tenant.token, "Fresh")
    assert scim_config(api, used["token"]).status == 200

    # When both are deleted
    for data in (used, fresh):
        assert delete(api, tenant.token, data["directoryId"]).status == 200

    # Then SCIM refuses the unused one's token at once, and the used one's within 60 s
    assert_scim_unauthorized(scim_config(api, fresh["token"]))
    forget_cached_directories()
    assert_scim_unauthorized(scim_config(api, used["token"]))


# --- audit events through the API --------------------------------------------------------------------


def test_each_change_is_an_event_the_events_api_lists(api: Api, tenant: Tenant):
    # Given a directory created, rotated and deleted
    data = create_directory(api, tenant.token)
    rotated = rotate(api, tenant.token, data["directoryId"])
    assert rotated.status == 200, rotated.text
    assert delete(api, tenant.token, data["directoryId"]).status == 200

    # Then GET /partner/v1/events lists one event of each type, about the directory, by the credential
    found = {}
    for event_type in ("directory.created", "directory.token_rotated", "directory.deleted"):
        reply = api.call("GET", EVENTS, token=tenant.token, query={"type": event_type})
        (event,) = assert_success(reply, 200, "Events retrieved successfully.")["events"]
        assert event["type"] == event_type
        assert event["resource"] == {"type": "directory", "id": data["directoryId"]}
        assert (event["partnerId"], event["actor"]) == (tenant.partner_id, partner_actor(tenant))
        found[event_type] = event
    assert found["directory.created"]["changes"] == {"name": {"from": None, "to": "Okta production"}}
    # And in that order, without any token
    everything = api.call("GET", EVENTS, token=tenant.token, query={"resourceId": data["directoryId"]})
    listed = assert_success(everything, 200, "Events retrieved successfully.")["events"]
    assert sorted(e["type"] for e in listed) == sorted(found)
    assert "scim_" not in everything.text


# --- Idempotency-Key ---------------------------------------------------------------------------------


def test_a_create_retried_with_its_idempotency_key_replays_the_same_directory_and_token(
    api: Api, tenant: Tenant, tables: Tables
):
    # Given a create sent twice with one Idempotency-Key
    key = {"Idempotency-Key": "create-directory-okta"}
    first = create_reply(api, tenant.token, {"name": "Okta"}, headers=key)
    second = create_reply(api, tenant.token, {"name": "Okta"}, headers=key)

    # Then the second replays the first: the same directory and the same (working) token
    assert first.status == second.status == 201, (first.text, second.text)
    assert second.body == first.body
    assert first.header("Idempotent-Replayed") is None and second.header("Idempotent-Replayed") == "true"
    assert second.header("ETag") == first.header("ETag")
    # And one directory, one token item and one event exist
    (item,) = tables.directories(tenant.partner_id)
    assert item["directoryId"] == first.body["data"]["directoryId"]
    assert item["tokenHash"] == sha256(second.body["data"]["token"])
    assert len(tables.token_items()) == 1
    assert len(tables.events(tenant.partner_id, "directory.created")) == 1
    # And the same key with another body is a reuse, creating nothing
    reused = create_reply(api, tenant.token, {"name": "Entra"}, headers=key)
    assert_error(reused, 422, "IDEMPOTENCY_KEY_REUSED")
    assert len(tables.directories(tenant.partner_id)) == 1


# --- a directory token outside SCIM ------------------------------------------------------------------


def test_a_directory_token_is_refused_on_the_partner_api(api: Api, tenant: Tenant):
    # Given a directory's token
    data = create_directory(api, tenant.token)

    # Then no /partner/v1 route takes it, the directories' own included
    for method, path in (
        ("GET", "/partner/v1/clients"),
        ("GET", DIRECTORIES),
        ("GET", f"{DIRECTORIES}/{data['directoryId']}"),
        ("POST", f"{DIRECTORIES}/{data['directoryId']}/rotate-token"),
    ):
        assert_error(api.call(method, path, token=data["token"]), 401, "INVALID_ACCESS_TOKEN")
    reply = api.call(
        "POST", "/partner/v1/clients", token=data["token"], json_body={"name": "X", "email": "x@example.com"}
    )
    assert_error(reply, 401, "INVALID_ACCESS_TOKEN")
    # And the directory's token is unchanged by the attempt
    got = get_directory(api, tenant.token, data["directoryId"])
    assert "tokenRotatedAt" not in assert_success(got, 200, "Directory retrieved successfully.")
