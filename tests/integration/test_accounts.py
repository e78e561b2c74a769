"""Accounts (API.md section 6): create, list, read, replace and patch accounts; the SEATS cap on the
clients that register into, activate in, are restored in or move into an account; the account's own
clients routes; what sub-partners and other tenants may see.

Everything goes through the template's routes (``api.call``) and is checked against the stored items
and event rows, read with plain boto3. The two races (registrations and activations against one cap)
call the clients logic from threads released together, as test_concurrency.py does: the handlers take
one request at a time per process.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from local.stack import Stack
from partner_api.errors import SeatLimitExceeded
from partner_api.logic import clients as client_logic
from partner_api.models.clients import ClientCreate, ClientPatch
from tests.conftest import Credential, Tenant, token_for
from tests.support.apigw import Api, Reply
from tests.support.clients import (
    CLIENTS,
    TIMESTAMP_RE,
    UUID_RE,
    Stored,
    assert_error,
    assert_success,
    patch,
    register,
    remove,
)
from tests.support.logic_callers import actor_of, on_threads, principal_of

ACCOUNTS = "/partner/v1/accounts"
PARTNERS = "/partner/v1/partners"
CREDENTIALS = "/partner/v1/credentials"
SEAT_LIMIT = "MAXIMUM_USERS_FOR_ACCOUNT_LIMIT_EXCEEDED"
ACCOUNT_KEYS = {
    "accountId",
    "name",
    "countryCode",
    "partnerId",
    "consumables",
    "usage",
    "status",
    "createdAt",
    "updatedAt",
}


# --- helpers -----------------------------------------------------------------------------------------


class Tables(Stored):
    """``Stored`` plus the accounts' items: the account, its seat counter and its name claim."""

    def account(self, tenant_id: str, account_id: str) -> dict[str, Any] | None:
        return self._get(self.tenants_table, f"TENANT#{tenant_id}", f"ACCOUNT#{account_id}")

    def seats(self, tenant_id: str, account_id: str) -> dict[str, Any] | None:
        return self._get(self.tenants_table, f"TENANT#{tenant_id}", f"SEATS#{account_id}")

    def name_owner(self, tenant_id: str, name: str) -> str | None:
        item = self._get(self.tenants_table, f"TENANT#{tenant_id}", f"ACCOUNTNAME#{name.lower()}")
        return item["accountId"] if item else None

    def accounts(self, tenant_id: str) -> list[dict[str, Any]]:
        return [
            i
            for i in self._partition(self.tenants_table, f"TENANT#{tenant_id}")
            if i["SK"].startswith("ACCOUNT#")
        ]

    def in_account(self, tenant_id: str, account_id: str) -> list[dict[str, Any]]:
        """The live clients whose accountId is ``account_id``."""
        return [
            c
            for c in self.clients(tenant_id)
            if c.get("accountId") == account_id and c["status"] != "deleted"
        ]


@pytest.fixture
def tables(stack: Stack) -> Tables:
    return Tables(stack)


def seats(cap: int) -> list[dict[str, Any]]:
    return [{"type": "SEATS", "attributes": {"cap": cap}}]


def create_account(api: Api, token: str, name: str, country: str = "US", **fields: Any) -> dict[str, Any]:
    """Given-step helper: an account through POST /partner/v1/accounts; returns its data."""
    reply = api.call(
        "POST", ACCOUNTS, token=token, json_body={"name": name, "countryCode": country, **fields}
    )
    return assert_success(reply, 201, "Account created successfully.")  # type: ignore[no-any-return]


def get_account(api: Api, token: str, account_id: str) -> Reply:
    return api.call("GET", f"{ACCOUNTS}/{account_id}", token=token)


def account_data(api: Api, token: str, account_id: str) -> dict[str, Any]:
    return assert_success(  # type: ignore[no-any-return]
        get_account(api, token, account_id), 200, "Account retrieved successfully."
    )


def used(api: Api, token: str, account_id: str) -> int:
    """The account's usage.SEATS as the API shows it."""
    return int(account_data(api, token, account_id)["usage"]["SEATS"])


def list_accounts(api: Api, token: str, **query: str) -> dict[str, Any]:
    reply = api.call("GET", ACCOUNTS, token=token, query=query or None)
    return assert_success(reply, 200, "Accounts retrieved successfully.")  # type: ignore[no-any-return]


def put_account(
    api: Api, token: str, account_id: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Reply:
    return api.call("PUT", f"{ACCOUNTS}/{account_id}", token=token, json_body=body, headers=headers)


def patch_account(
    api: Api, token: str, account_id: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Reply:
    return api.call("PATCH", f"{ACCOUNTS}/{account_id}", token=token, json_body=body, headers=headers)


def account_clients(account_id: str) -> str:
    return f"{ACCOUNTS}/{account_id}/clients"


def join(api: Api, tenant: Tenant, account_id: str, email: str, **fields: Any) -> dict[str, Any]:
    """Given-step helper: register a client into an account through POST /partner/v1/clients."""
    return register(api, tenant, email, accountId=account_id, **fields)


def register_reply(api: Api, token: str, email: str, **fields: Any) -> Reply:
    return api.call("POST", CLIENTS, token=token, json_body={"name": "Jane Roe", "email": email, **fields})


def get_client(api: Api, token: str, client_id: str) -> dict[str, Any]:
    reply = api.call("GET", f"{CLIENTS}/{client_id}", token=token)
    return assert_success(reply, 200, "Client retrieved successfully.")  # type: ignore[no-any-return]


def ids(items: list[dict[str, Any]], key: str = "accountId") -> list[str]:
    return [i[key] for i in items]


def create_partner(api: Api, token: str, name: str, **fields: Any) -> dict[str, Any]:
    reply = api.call("POST", PARTNERS, token=token, json_body={"name": name, **fields})
    return assert_success(reply, 201, "Partner created successfully.")  # type: ignore[no-any-return]


@dataclass
class Member:
    """A sub-partner with a credential of its own (issued by the root) and a token of it."""

    partner: dict[str, Any]
    credential: Credential
    token: str

    @property
    def id(self) -> str:
        return str(self.partner["partnerId"])


def member(api: Api, root: Tenant, name: str) -> Member:
    """Given-step helper: a child of ``root`` and a token of a credential issued for it."""
    partner = create_partner(api, root.token, name)
    reply = api.call("POST", CREDENTIALS, token=root.token, json_body={"partnerId": partner["partnerId"]})
    data = assert_success(reply, 201, "Credential created successfully.")
    credential = Credential(data["clientId"], data["clientSecret"])
    return Member(partner, credential, token_for(api, credential))


# --- POST /partner/v1/accounts -------------------------------------------------------------------------


def test_create_answers_the_account_and_stores_it_with_its_seats_name_claim_and_event(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    # When a root partner creates an account with every field
    reply = api.call(
        "POST",
        ACCOUNTS,
        token=tenant.token,
        json_body={
            "name": "SignEmbedTestAccount",
            "company": "Acme Inc",
            "countryCode": "us",
            "identifier": "85932577000194",
            "consumables": [
                {"type": "SEATS", "attributes": {"cap": 10}},
                {"type": "KBA", "attributes": {"cap": 0}},
            ],
        },
        headers={"x-request-id": "create-account-1"},
    )

    # Then it answers the whole account, owned by the caller, with no seat used
    data = assert_success(reply, 201, "Account created successfully.")
    account_id = data["accountId"]
    assert UUID_RE.match(account_id)
    assert TIMESTAMP_RE.match(data["createdAt"]) and data["updatedAt"] == data["createdAt"]
    assert data == {
        "accountId": account_id,
        "name": "SignEmbedTestAccount",
        "company": "Acme Inc",
        "countryCode": "US",
        "identifier": "85932577000194",
        "partnerId": tenant.partner_id,
        "consumables": [
            {"type": "SEATS", "attributes": {"cap": 10}},
            {"type": "KBA", "attributes": {"cap": 0}},
        ],
        "usage": {"SEATS": 0},
        "status": "active",
        "createdAt": data["createdAt"],
        "updatedAt": data["createdAt"],
    }
    # with the ETag a GET of it shows
    assert reply.header("ETag")
    got = get_account(api, tenant.token, account_id)
    assert got.header("ETag") == reply.header("ETag")
    assert assert_success(got, 200, "Account retrieved successfully.") == data
    # and the store holds the account, its seat counter (0 used of 10) and its name claim
    item = tables.account(tenant.partner_id, account_id)
    assert item is not None
    assert {k: item[k] for k in ("name", "company", "countryCode", "identifier", "status")} == {
        "name": "SignEmbedTestAccount",
        "company": "Acme Inc",
        "countryCode": "US",
        "identifier": "85932577000194",
        "status": "active",
    }
    assert item["partnerPath"] == [tenant.partner_id] and item["partnerId"] == tenant.partner_id
    seat_item = tables.seats(tenant.partner_id, account_id)
    assert seat_item is not None and (seat_item["used"], seat_item["cap"]) == (0, 10)
    assert tables.name_owner(tenant.partner_id, "signembedtestaccount") == account_id
    # and one account.created event recording the new values
    (event,) = tables.events(tenant.partner_id, "account.created")
    assert event["resource"] == {"type": "account", "id": account_id}
    assert event["partnerId"] == tenant.partner_id
    assert event["actor"] == {
        "type": "partner",
        "clientId": tenant.credential.client_id,
        "partnerId": tenant.partner_id,
    }
    assert event["requestId"] == "create-account-1"
    assert event["changes"]["name"] == {"from": None, "to": "SignEmbedTestAccount"}
    assert event["changes"]["countryCode"] == {"from": None, "to": "US"}
    assert event["changes"]["consumables"]["to"] == data["consumables"]


def test_create_with_only_the_required_fields_takes_the_defaults(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    data = create_account(api, tenant.token, "Minimal", "de")

    assert set(data) == ACCOUNT_KEYS
    assert (data["countryCode"], data["consumables"], data["usage"], data["status"]) == (
        "DE",
        [],
        {"SEATS": 0},
        "active",
    )
    # and no SEATS consumable means a seat counter without a cap
    seat_item = tables.seats(tenant.partner_id, data["accountId"])
    assert seat_item is not None and seat_item["used"] == 0 and "cap" not in seat_item


def test_create_stores_the_older_consumable_names_normalized(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    data = create_account(
        api,
        tenant.token,
        "Aliases",
        consumables=[
            {"type": "SEAT", "attributes": {"cap": 4}},
            {"type": "PHONE_AUTH_ANNUAL", "attributes": {"cap": 100}},
            {"type": "KBA_ANNUAL", "attributes": {"cap": 7}},
        ],
    )

    assert data["consumables"] == [
        {"type": "SEATS", "attributes": {"cap": 4}},
        {"type": "PHONE_AUTH", "attributes": {"cap": 100}},
        {"type": "KBA", "attributes": {"cap": 7}},
    ]
    item = tables.account(tenant.partner_id, data["accountId"])
    assert item is not None and [c["type"] for c in item["consumables"]] == ["SEATS", "PHONE_AUTH", "KBA"]
    seat_item = tables.seats(tenant.partner_id, data["accountId"])
    assert seat_item is not None and seat_item["cap"] == 4


@pytest.mark.parametrize(
    "consumables",
    [
        [{"type": "SEATS", "attributes": {"cap": 1}}, {"type": "SEATS", "attributes": {"cap": 2}}],
        [{"type": "SEATS", "attributes": {"cap": 1}}, {"type": "SEAT", "attributes": {"cap": 2}}],
        [{"type": "KBA", "attributes": {"cap": 1}}, {"type": "KBA_ANNUAL", "attributes": {"cap": 2}}],
    ],
    ids=["same-type", "type-and-its-alias", "kba-and-its-alias"],
)
def test_create_refuses_a_consumable_type_given_twice(
    api: Api, tenant: Tenant, tables: Tables, consumables: list[dict[str, Any]]
) -> None:
    reply = api.call(
        "POST",
        ACCOUNTS,
        token=tenant.token,
        json_body={"name": "Twice", "countryCode": "US", "consumables": consumables},
    )

    assert_error(reply, 400, "INVALID_PARAMETER", field="consumables")
    assert tables.accounts(tenant.partner_id) == []


@pytest.mark.parametrize(
    "cap",
    [
        -1,
        1.5,
        "ten",
        None,
        [3],
        "3",
        True,
    ],
    ids=["negative", "fraction", "text", "null", "list", "digits-as-text", "boolean"],
)
def test_create_refuses_a_cap_that_is_not_a_non_negative_integer(
    api: Api, tenant: Tenant, tables: Tables, cap: Any
) -> None:
    reply = api.call(
        "POST",
        ACCOUNTS,
        token=tenant.token,
        json_body={"name": "BadCap", "countryCode": "US", "consumables": seats(cap)},
    )

    assert_error(reply, 400, "INVALID_PARAMETER", field="consumables.0.attributes.cap")
    assert tables.accounts(tenant.partner_id) == []


def test_create_refuses_an_unknown_consumable_type(api: Api, tenant: Tenant) -> None:
    reply = api.call(
        "POST",
        ACCOUNTS,
        token=tenant.token,
        json_body={
            "name": "Odd",
            "countryCode": "US",
            "consumables": [{"type": "SMS", "attributes": {"cap": 1}}],
        },
    )

    assert_error(reply, 400, "INVALID_PARAMETER", field="consumables.0.type")


@pytest.mark.parametrize("name", ["Acme Corp", "Acme-Corp", "Acme_Corp", "Açme"])
def test_create_refuses_a_name_with_anything_but_letters_and_digits(
    api: Api, tenant: Tenant, tables: Tables, name: str
) -> None:
    reply = api.call("POST", ACCOUNTS, token=tenant.token, json_body={"name": name, "countryCode": "US"})

    assert_error(reply, 400, "INVALID_PARAMETER", field="name")
    assert reply.body["details"] == [{"field": "name", "issue": "must be letters and digits only"}]
    assert tables.accounts(tenant.partner_id) == []


def test_a_name_taken_in_the_tenant_in_another_case_conflicts_and_nothing_is_stored(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    # Given an account named "Globex"
    first = create_account(api, tenant.token, "Globex")
    before = tables.snapshot(tenant.partner_id)

    # When another one is created as "GLOBEX"
    reply = api.call("POST", ACCOUNTS, token=tenant.token, json_body={"name": "GLOBEX", "countryCode": "FR"})

    # Then it conflicts on the name, and nothing was written
    assert_error(reply, 409, "ACCOUNT_ALREADY_EXISTS", field="name")
    assert tables.snapshot(tenant.partner_id) == before
    assert tables.name_owner(tenant.partner_id, "globex") == first["accountId"]
    assert ids(list_accounts(api, tenant.token)["accounts"]) == [first["accountId"]]


def test_the_same_name_in_another_tenant_is_fine(
    api: Api, tenant: Tenant, other_tenant: Tenant, tables: Tables
) -> None:
    mine = create_account(api, tenant.token, "Globex")

    theirs = create_account(api, other_tenant.token, "globex")

    assert theirs["accountId"] != mine["accountId"]
    assert tables.name_owner(tenant.partner_id, "Globex") == mine["accountId"]
    assert tables.name_owner(other_tenant.partner_id, "Globex") == theirs["accountId"]


def test_create_without_a_country_code_is_missing_a_required_parameter(api: Api, tenant: Tenant) -> None:
    for body in ({"name": "NoCountry"}, {"name": "NoCountry", "countryCode": "  "}):
        reply = api.call("POST", ACCOUNTS, token=tenant.token, json_body=body)
        assert_error(reply, 400, "MISSING_REQUIRED_PARAMS", field="countryCode")


@pytest.mark.parametrize("country", ["XX", "USA", "U", "12", "uk"])
def test_create_refuses_a_country_code_that_is_not_iso_alpha_2(
    api: Api, tenant: Tenant, tables: Tables, country: str
) -> None:
    reply = api.call(
        "POST", ACCOUNTS, token=tenant.token, json_body={"name": "Where", "countryCode": country}
    )

    assert_error(reply, 400, "INVALID_PARAMETER", field="countryCode")
    assert tables.accounts(tenant.partner_id) == []


def test_create_for_a_descendant_makes_it_the_owner(api: Api, tenant: Tenant, tables: Tables) -> None:
    # Given a sub-partner of the caller
    child = create_partner(api, tenant.token, "Branch West")

    # When the root creates an account for it
    data = create_account(api, tenant.token, "WestAccount", partnerId=child["partnerId"])

    # Then the sub-partner owns it
    assert data["partnerId"] == child["partnerId"]
    item = tables.account(tenant.partner_id, data["accountId"])
    assert item is not None and item["partnerPath"] == [tenant.partner_id, child["partnerId"]]
    (event,) = tables.events(tenant.partner_id, "account.created")
    assert event["partnerId"] == child["partnerId"]


def test_create_for_a_partner_of_another_tenant_is_not_found(
    api: Api, tenant: Tenant, other_tenant: Tenant, tables: Tables
) -> None:
    stranger = create_partner(api, other_tenant.token, "Their Branch")

    for partner_id in (stranger["partnerId"], other_tenant.partner_id, str(uuid.uuid4())):
        reply = api.call(
            "POST",
            ACCOUNTS,
            token=tenant.token,
            json_body={"name": "Foreign", "countryCode": "US", "partnerId": partner_id},
        )
        assert_error(reply, 404, "PARTNER_NOT_FOUND", field="partnerId")
    assert tables.accounts(tenant.partner_id) == []
    assert tables.accounts(other_tenant.partner_id) == []


def test_create_needs_the_accounts_write_scope(api: Api, tenant: Tenant, tables: Tables) -> None:
    reader = token_for(api, tenant.credential, scope="accounts:read")

    reply = api.call("POST", ACCOUNTS, token=reader, json_body={"name": "ReadOnly", "countryCode": "US"})

    assert_error(reply, 403, "MISSING_SCOPES")
    assert tables.accounts(tenant.partner_id) == []
    # while the read scope still lists accounts, and a clients-only token does not
    assert list_accounts(api, reader)["accounts"] == []
    clients_only = token_for(api, tenant.credential, scope="clients:read clients:write")
    assert_error(api.call("GET", ACCOUNTS, token=clients_only), 403, "MISSING_SCOPES")


# --- GET /partner/v1/accounts and /partner/v1/accounts/{accountId} -------------------------------------


def test_list_filters_by_q_on_name_or_company_case_insensitively(api: Api, tenant: Tenant) -> None:
    north = create_account(api, tenant.token, "NorthWind", company="Blue Ocean Ltd")
    south = create_account(api, tenant.token, "Southwind", company="Northern Lights")
    east = create_account(api, tenant.token, "Eastwood")

    found = list_accounts(api, tenant.token, q="NORTH")
    assert ids(found["accounts"]) == [north["accountId"], south["accountId"]]
    assert found["pagination"]["total"] == 2

    assert ids(list_accounts(api, tenant.token, q="ocean")["accounts"]) == [north["accountId"]]
    assert ids(list_accounts(api, tenant.token, q="WOOD")["accounts"]) == [east["accountId"]]
    nothing = list_accounts(api, tenant.token, q="zzz")
    assert nothing["accounts"] == [] and nothing["pagination"]["total"] == 0
    everything = list_accounts(api, tenant.token)
    assert ids(everything["accounts"]) == [north["accountId"], south["accountId"], east["accountId"]]


def test_walking_the_list_by_cursor_visits_every_account_once_in_creation_order(
    api: Api, tenant: Tenant
) -> None:
    # Given 25 accounts
    made = [create_account(api, tenant.token, f"Account{i:02d}")["accountId"] for i in range(25)]

    # When the list is walked 10 at a time by cursor
    seen: list[str] = []
    pages = []
    query = {"limit": "10"}
    while True:
        data = list_accounts(api, tenant.token, **query)
        pages.append(data["pagination"])
        seen += ids(data["accounts"])
        if not data["pagination"]["hasMore"]:
            assert "nextCursor" not in data["pagination"]
            break
        query = {"limit": "10", "cursor": data["pagination"]["nextCursor"]}

    # Then every account comes once, oldest first, in three pages that each count all 25
    assert seen == made
    assert [p["total"] for p in pages] == [25, 25, 25]
    assert [p["hasMore"] for p in pages] == [True, True, False]
    # and an offset page agrees
    assert ids(list_accounts(api, tenant.token, limit="5", offset="20")["accounts"]) == made[20:]


def test_the_list_shows_each_accounts_seats_in_use(api: Api, tenant: Tenant) -> None:
    full = create_account(api, tenant.token, "Busy", consumables=seats(5))
    quiet = create_account(api, tenant.token, "Quiet", consumables=seats(5))
    open_ = create_account(api, tenant.token, "Open")
    for i in range(3):
        join(api, tenant, full["accountId"], f"busy{i}@example.com")
    join(api, tenant, open_["accountId"], "open@example.com")

    listed = list_accounts(api, tenant.token)["accounts"]

    assert {a["accountId"]: a["usage"] for a in listed} == {
        full["accountId"]: {"SEATS": 3},
        quiet["accountId"]: {"SEATS": 0},
        open_["accountId"]: {"SEATS": 1},
    }


def test_get_of_an_unknown_or_foreign_account_is_not_found_and_a_malformed_id_is_invalid(
    api: Api, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = create_account(api, other_tenant.token, "Theirs")

    assert_error(get_account(api, tenant.token, theirs["accountId"]), 404, "ACCOUNT_NOT_FOUND")
    assert_error(get_account(api, tenant.token, str(uuid.uuid4())), 404, "ACCOUNT_NOT_FOUND")
    assert_error(get_account(api, tenant.token, "not-a-uuid"), 400, "INVALID_PARAMETER", field="accountId")
    assert_error(
        get_account(api, tenant.token, theirs["accountId"].upper()),
        400,
        "INVALID_PARAMETER",
        field="accountId",
    )


# --- PUT /partner/v1/accounts/{accountId} --------------------------------------------------------------


def test_put_replaces_the_mutable_fields_and_resets_the_omitted_ones(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    # Given an account with every optional field set
    account = create_account(
        api,
        tenant.token,
        "Initech",
        "gb",
        company="Initech Ltd",
        identifier="ID-1",
        consumables=[*seats(5), {"type": "KBA", "attributes": {"cap": 2}}],
        status="inactive",
    )
    account_id = account["accountId"]
    etag_before = get_account(api, tenant.token, account_id).header("ETag")

    # When it is replaced with only a new name and the same country code
    reply = put_account(
        api, tenant.token, account_id, {"name": "Initrode", "countryCode": "gb"}, {"x-request-id": "put-1"}
    )

    # Then the omitted fields are back to their defaults
    data = assert_success(reply, 200, "Account updated successfully.")
    assert data == {
        "accountId": account_id,
        "name": "Initrode",
        "countryCode": "GB",
        "partnerId": tenant.partner_id,
        "consumables": [],
        "usage": {"SEATS": 0},
        "status": "active",
        "createdAt": account["createdAt"],
        "updatedAt": data["updatedAt"],
    }
    assert data["updatedAt"] >= account["updatedAt"]
    assert reply.header("ETag") and reply.header("ETag") != etag_before
    assert account_data(api, tenant.token, account_id) == data
    # and the store agrees: no company, identifier or cap left, the name claim moved
    item = tables.account(tenant.partner_id, account_id)
    assert item is not None and "company" not in item and "identifier" not in item
    assert item["consumables"] == [] and item["status"] == "active"
    seat_item = tables.seats(tenant.partner_id, account_id)
    assert seat_item is not None and "cap" not in seat_item
    assert tables.name_owner(tenant.partner_id, "initrode") == account_id
    assert tables.name_owner(tenant.partner_id, "initech") is None
    # and one account.updated event records the changes
    (event,) = tables.events(tenant.partner_id, "account.updated", account_id)
    assert event["requestId"] == "put-1"
    assert event["changes"] == {
        "name": {"from": "Initech", "to": "Initrode"},
        "company": {"from": "Initech Ltd", "to": None},
        "identifier": {"from": "ID-1", "to": None},
        "consumables": {"from": account["consumables"], "to": []},
        "status": {"from": "inactive", "to": "active"},
    }


def test_put_with_another_country_code_is_refused_and_changes_nothing(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    account = create_account(api, tenant.token, "Hooli", "US", company="Hooli Inc")
    before = tables.snapshot(tenant.partner_id)

    reply = put_account(api, tenant.token, account["accountId"], {"name": "HooliXYZ", "countryCode": "CA"})

    assert_error(reply, 400, "INVALID_PARAMETER", field="countryCode")
    assert tables.snapshot(tenant.partner_id) == before
    # and a PUT without countryCode is missing it
    reply = put_account(api, tenant.token, account["accountId"], {"name": "HooliXYZ"})
    assert_error(reply, 400, "MISSING_REQUIRED_PARAMS", field="countryCode")
    assert tables.snapshot(tenant.partner_id) == before


def test_put_renaming_frees_the_old_name_and_takes_the_new_one(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    # Given accounts Alpha and Gamma
    alpha = create_account(api, tenant.token, "Alpha")
    gamma = create_account(api, tenant.token, "Gamma")

    # When Alpha is renamed Beta
    reply = put_account(api, tenant.token, alpha["accountId"], {"name": "Beta", "countryCode": "US"})
    assert_success(reply, 200, "Account updated successfully.")

    # Then a new account may take "alpha", and "BETA" is taken
    newcomer = create_account(api, tenant.token, "alpha")
    assert tables.name_owner(tenant.partner_id, "Alpha") == newcomer["accountId"]
    assert tables.name_owner(tenant.partner_id, "Beta") == alpha["accountId"]
    taken = api.call("POST", ACCOUNTS, token=tenant.token, json_body={"name": "BETA", "countryCode": "US"})
    assert_error(taken, 409, "ACCOUNT_ALREADY_EXISTS", field="name")

    # and renaming Gamma to another account's name (in another case) conflicts and changes nothing
    before = tables.snapshot(tenant.partner_id)
    reply = put_account(api, tenant.token, gamma["accountId"], {"name": "bEtA", "countryCode": "US"})
    assert_error(reply, 409, "ACCOUNT_ALREADY_EXISTS", field="name")
    assert tables.snapshot(tenant.partner_id) == before
    assert account_data(api, tenant.token, gamma["accountId"])["name"] == "Gamma"


def test_put_and_patch_with_a_stale_if_match_are_refused(api: Api, tenant: Tenant, tables: Tables) -> None:
    account = create_account(api, tenant.token, "Versioned", company="One")
    account_id = account["accountId"]
    stale = get_account(api, tenant.token, account_id).header("ETag")
    assert stale
    updated = patch_account(api, tenant.token, account_id, {"company": "Two"}, {"If-Match": stale})
    assert_success(updated, 200, "Account updated successfully.")
    before = tables.snapshot(tenant.partner_id)

    assert_error(
        put_account(
            api, tenant.token, account_id, {"name": "Versioned", "countryCode": "US"}, {"If-Match": stale}
        ),
        412,
        "PRECONDITION_FAILED",
    )
    assert_error(
        patch_account(api, tenant.token, account_id, {"company": "Three"}, {"If-Match": stale}),
        412,
        "PRECONDITION_FAILED",
    )
    assert tables.snapshot(tenant.partner_id) == before

    # while the current tag is accepted
    current = updated.header("ETag")
    assert current and current == get_account(api, tenant.token, account_id).header("ETag")
    reply = put_account(
        api, tenant.token, account_id, {"name": "Versioned", "countryCode": "US"}, {"If-Match": current}
    )
    assert "company" not in assert_success(reply, 200, "Account updated successfully.")


# --- PATCH /partner/v1/accounts/{accountId} ------------------------------------------------------------


def test_patch_changes_only_the_fields_sent(api: Api, tenant: Tenant, tables: Tables) -> None:
    account = create_account(
        api, tenant.token, "Umbrella", "JP", company="Umbrella Corp", identifier="U-1", consumables=seats(3)
    )
    account_id = account["accountId"]

    reply = patch_account(api, tenant.token, account_id, {"identifier": "U-2", "status": "inactive"})

    data = assert_success(reply, 200, "Account updated successfully.")
    assert data == {**account, "identifier": "U-2", "status": "inactive", "updatedAt": data["updatedAt"]}
    (event,) = tables.events(tenant.partner_id, "account.updated", account_id)
    assert event["changes"] == {
        "identifier": {"from": "U-1", "to": "U-2"},
        "status": {"from": "active", "to": "inactive"},
    }


def test_patch_with_null_company_removes_it(api: Api, tenant: Tenant, tables: Tables) -> None:
    account = create_account(api, tenant.token, "Soylent", company="Soylent Corp", identifier="S-1")

    reply = patch_account(api, tenant.token, account["accountId"], {"company": None})

    data = assert_success(reply, 200, "Account updated successfully.")
    assert "company" not in data and data["identifier"] == "S-1"
    item = tables.account(tenant.partner_id, account["accountId"])
    assert item is not None and "company" not in item
    (event,) = tables.events(tenant.partner_id, "account.updated", account["accountId"])
    assert event["changes"] == {"company": {"from": "Soylent Corp", "to": None}}


def test_patch_refuses_a_country_code_change_and_a_taken_name(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    account = create_account(api, tenant.token, "Cyberdyne", "US")
    create_account(api, tenant.token, "Tyrell")
    before = tables.snapshot(tenant.partner_id)

    assert_error(
        patch_account(api, tenant.token, account["accountId"], {"countryCode": "MX"}),
        400,
        "INVALID_PARAMETER",
        field="countryCode",
    )
    assert_error(
        patch_account(api, tenant.token, account["accountId"], {"name": "TYRELL", "company": "X"}),
        409,
        "ACCOUNT_ALREADY_EXISTS",
        field="name",
    )
    assert tables.snapshot(tenant.partner_id) == before

    # while the same country code (any case) and a change of case of its own name are fine
    reply = patch_account(api, tenant.token, account["accountId"], {"countryCode": "us", "name": "CYBERDYNE"})
    data = assert_success(reply, 200, "Account updated successfully.")
    assert (data["name"], data["countryCode"]) == ("CYBERDYNE", "US")
    assert tables.name_owner(tenant.partner_id, "cyberdyne") == account["accountId"]


def test_patch_of_an_unknown_account_is_not_found(api: Api, tenant: Tenant) -> None:
    missing = str(uuid.uuid4())
    assert_error(patch_account(api, tenant.token, missing, {"company": "X"}), 404, "ACCOUNT_NOT_FOUND")
    assert_error(
        put_account(api, tenant.token, missing, {"name": "X", "countryCode": "US"}), 404, "ACCOUNT_NOT_FOUND"
    )


# --- the SEATS cap, through the HTTP routes --------------------------------------------------------------


def test_registrations_fill_the_cap_and_the_next_one_is_refused_with_nothing_stored(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    # Given an account with 2 seats, both taken by registrations into it
    account_id = create_account(api, tenant.token, "TwoSeats", consumables=seats(2))["accountId"]
    first = join(api, tenant, account_id, "one@example.com")
    second = join(api, tenant, account_id, "two@example.com")
    assert first["accountId"] == second["accountId"] == account_id
    before = tables.snapshot(tenant.partner_id)

    # When a third client is registered into it
    reply = register_reply(api, tenant.token, "three@example.com", accountId=account_id)

    # Then it is refused, and no client, email claim or event was stored for it
    assert_error(reply, 403, SEAT_LIMIT, field="accountId")
    assert tables.snapshot(tenant.partner_id) == before
    assert tables.email_owner(tenant.partner_id, "three@example.com") is None
    assert len(tables.events(tenant.partner_id, "client.registered")) == 2
    assert used(api, tenant.token, account_id) == 2
    seat_item = tables.seats(tenant.partner_id, account_id)
    assert seat_item is not None and (seat_item["used"], seat_item["cap"]) == (2, 2)
    # and the email is still free for a registration outside the account
    assert "accountId" not in register(api, tenant, "three@example.com")


def test_deactivating_frees_a_seat_and_reactivating_needs_a_free_one(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    # Given a full account of 2 seats
    account_id = create_account(api, tenant.token, "Rotating", consumables=seats(2))["accountId"]
    one = join(api, tenant, account_id, "one@example.com")
    two = join(api, tenant, account_id, "two@example.com")

    # When one is deactivated, its seat is freed and taken by a new registration
    assert_success(
        patch(api, tenant, one["clientId"], {"status": "inactive"}), 200, "Client updated successfully."
    )
    assert used(api, tenant.token, account_id) == 1
    three = join(api, tenant, account_id, "three@example.com")
    assert used(api, tenant.token, account_id) == 2

    # Then re-activating it (or activating a suspended one) is refused and changes nothing
    assert_success(
        patch(api, tenant, two["clientId"], {"status": "suspended"}), 200, "Client updated successfully."
    )
    join(api, tenant, account_id, "four@example.com")
    before = tables.snapshot(tenant.partner_id)
    for client in (one, two):
        assert_error(patch(api, tenant, client["clientId"], {"status": "active"}), 403, SEAT_LIMIT)
    assert tables.snapshot(tenant.partner_id) == before
    assert get_client(api, tenant.token, one["clientId"])["status"] == "inactive"
    assert get_client(api, tenant.token, two["clientId"])["status"] == "suspended"
    assert get_client(api, tenant.token, three["clientId"])["status"] == "active"
    seat_item = tables.seats(tenant.partner_id, account_id)
    assert seat_item is not None and seat_item["used"] == 2
    # and a change that keeps the client inactive is still fine
    renamed = patch(api, tenant, one["clientId"], {"title": "Dormant"})
    assert assert_success(renamed, 200, "Client updated successfully.")["title"] == "Dormant"


def test_deleting_frees_a_seat_and_restoring_into_a_full_account_is_refused(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    # Given a full account of 2 seats
    account_id = create_account(api, tenant.token, "Churn", consumables=seats(2))["accountId"]
    one = join(api, tenant, account_id, "one@example.com")
    join(api, tenant, account_id, "two@example.com")

    # When one is deleted, its seat goes to a newcomer
    remove(api, tenant, one["clientId"])
    assert used(api, tenant.token, account_id) == 1
    join(api, tenant, account_id, "three@example.com")
    before = tables.snapshot(tenant.partner_id)

    # Then restoring the deleted one is refused, and it stays deleted with its email free
    assert_error(patch(api, tenant, one["clientId"], {"status": "active"}), 403, SEAT_LIMIT)
    assert tables.snapshot(tenant.partner_id) == before
    restored = get_client(api, tenant.token, one["clientId"])
    assert restored["status"] == "deleted" and restored["accountId"] == account_id
    assert tables.email_owner(tenant.partner_id, "one@example.com") is None
    assert used(api, tenant.token, account_id) == 2
    assert tables.events(tenant.partner_id, "client.restored") == []


def test_moving_a_client_into_a_full_account_is_refused_and_changes_nothing(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    # Given a full account, another account with a client, and a client in no account
    full = create_account(api, tenant.token, "Full", consumables=seats(1))["accountId"]
    other = create_account(api, tenant.token, "Other", consumables=seats(5))["accountId"]
    join(api, tenant, full, "seated@example.com")
    elsewhere = join(api, tenant, other, "elsewhere@example.com")
    loose = register(api, tenant, "loose@example.com")
    before = tables.snapshot(tenant.partner_id)

    # When either is moved into the full account
    for client in (loose, elsewhere):
        reply = patch(api, tenant, client["clientId"], {"accountId": full, "title": "Moved"})
        # Then it is refused and nothing changed
        assert_error(reply, 403, SEAT_LIMIT, field="accountId")
    assert tables.snapshot(tenant.partner_id) == before
    assert "accountId" not in get_client(api, tenant.token, loose["clientId"])
    assert get_client(api, tenant.token, elsewhere["clientId"])["accountId"] == other
    assert (used(api, tenant.token, full), used(api, tenant.token, other)) == (1, 1)


def test_moving_a_client_out_frees_its_seat_in_the_source_account(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    # Given two accounts of one seat each, the first one full
    source = create_account(api, tenant.token, "Source", consumables=seats(1))["accountId"]
    target = create_account(api, tenant.token, "Target", consumables=seats(1))["accountId"]
    mover = join(api, tenant, source, "mover@example.com")

    # When its client moves to the other account
    moved = assert_success(
        patch(api, tenant, mover["clientId"], {"accountId": target}), 200, "Client updated successfully."
    )

    # Then the seat moved with it
    assert moved["accountId"] == target
    assert (used(api, tenant.token, source), used(api, tenant.token, target)) == (0, 1)
    newcomer = join(api, tenant, source, "newcomer@example.com")
    # and leaving an account (accountId null) frees its seat too
    left = assert_success(
        patch(api, tenant, newcomer["clientId"], {"accountId": None}), 200, "Client updated successfully."
    )
    assert "accountId" not in left
    assert used(api, tenant.token, source) == 0
    seat_items = [tables.seats(tenant.partner_id, a) for a in (source, target)]
    assert [s["used"] for s in seat_items if s] == [0, 1]


def test_raising_the_cap_allows_more_and_lowering_it_keeps_the_seats_taken(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    # Given a full account of 1 seat
    account_id = create_account(api, tenant.token, "Elastic", consumables=seats(1))["accountId"]
    join(api, tenant, account_id, "c1@example.com")
    assert_error(register_reply(api, tenant.token, "c2@example.com", accountId=account_id), 403, SEAT_LIMIT)

    # When the cap is raised to 3, two more fit
    raised = patch_account(api, tenant.token, account_id, {"consumables": seats(3)})
    assert assert_success(raised, 200, "Account updated successfully.")["consumables"] == seats(3)
    c2 = join(api, tenant, account_id, "c2@example.com")
    join(api, tenant, account_id, "c3@example.com")
    assert_error(register_reply(api, tenant.token, "c4@example.com", accountId=account_id), 403, SEAT_LIMIT)

    # When it is lowered to 1, the three clients keep their seats but no new one is taken
    lowered = assert_success(
        patch_account(api, tenant.token, account_id, {"consumables": seats(1)}),
        200,
        "Account updated successfully.",
    )
    assert lowered["usage"] == {"SEATS": 3}
    listed = api.call("GET", account_clients(account_id), token=tenant.token).body["data"]["clients"]
    assert [c["status"] for c in listed] == ["active"] * 3
    assert_error(register_reply(api, tenant.token, "c4@example.com", accountId=account_id), 403, SEAT_LIMIT)
    seat_item = tables.seats(tenant.partner_id, account_id)
    assert seat_item is not None and (seat_item["used"], seat_item["cap"]) == (3, 1)
    # and freeing one seat is not enough to take one back while usage is above the cap
    patch(api, tenant, c2["clientId"], {"status": "inactive"})
    assert used(api, tenant.token, account_id) == 2
    assert_error(patch(api, tenant, c2["clientId"], {"status": "active"}), 403, SEAT_LIMIT)


def test_an_account_without_a_seats_consumable_is_unlimited(api: Api, tenant: Tenant, tables: Tables) -> None:
    # Given an account whose consumables do not include SEATS
    account_id = create_account(
        api, tenant.token, "Boundless", consumables=[{"type": "PHONE_AUTH", "attributes": {"cap": 0}}]
    )["accountId"]

    # When many clients register into it
    for i in range(6):
        join(api, tenant, account_id, f"many{i}@example.com")

    # Then all are seated, and usage counts them
    assert used(api, tenant.token, account_id) == 6

    # and dropping a SEATS cap (PATCH consumables []) lifts the limit on a capped account too
    capped = create_account(api, tenant.token, "Capped", consumables=seats(0))["accountId"]
    assert_error(register_reply(api, tenant.token, "x@example.com", accountId=capped), 403, SEAT_LIMIT)
    assert_success(
        patch_account(api, tenant.token, capped, {"consumables": []}), 200, "Account updated successfully."
    )
    seat_item = tables.seats(tenant.partner_id, capped)
    assert seat_item is not None and "cap" not in seat_item
    join(api, tenant, capped, "x@example.com")
    assert used(api, tenant.token, capped) == 1


def test_inactive_clients_in_the_account_do_not_count(api: Api, tenant: Tenant, tables: Tables) -> None:
    # Given an account of 1 seat whose first client was deactivated
    account_id = create_account(api, tenant.token, "Sleepy", consumables=seats(1))["accountId"]
    sleeper = join(api, tenant, account_id, "sleeper@example.com")
    patch(api, tenant, sleeper["clientId"], {"status": "inactive"})

    # When another registers, and an inactive client moves into the (now full) account
    join(api, tenant, account_id, "awake@example.com")
    drifter = register(api, tenant, "drifter@example.com")
    patch(api, tenant, drifter["clientId"], {"status": "inactive"})
    moved = patch(api, tenant, drifter["clientId"], {"accountId": account_id})

    # Then both are accepted: only the active client holds a seat
    assert assert_success(moved, 200, "Client updated successfully.")["accountId"] == account_id
    assert used(api, tenant.token, account_id) == 1
    assert len(tables.in_account(tenant.partner_id, account_id)) == 3
    seat_item = tables.seats(tenant.partner_id, account_id)
    assert seat_item is not None and seat_item["used"] == 1


# --- the SEATS cap under concurrency (logic level, threads) ----------------------------------------------


def test_ten_concurrent_registrations_into_three_free_seats_seat_exactly_three(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    # Given an account with 3 seats, none used
    account_id = create_account(api, tenant.token, "Contended", consumables=seats(3))["accountId"]
    caller = principal_of(tenant)

    # When 10 registrations of different clients into it run at once
    def attempt(i: int) -> Any:
        body = ClientCreate(name=f"Racer {i}", email=f"racer{i}@example.com", accountId=account_id)
        return client_logic.register(caller, actor_of(tenant, f"race-{i}"), body)

    results = on_threads(10, attempt, released_together=True)

    # Then exactly 3 succeed and 7 are refused for the cap
    won = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, SeatLimitExceeded)]
    assert (len(won), len(refused)) == (3, 7), [type(r).__name__ for r in results]
    # and the store holds exactly those 3 clients, 3 seats used, 3 events and 3 email claims
    seated = tables.in_account(tenant.partner_id, account_id)
    assert sorted(c["clientId"] for c in seated) == sorted(w["clientId"] for w in won)
    assert len(tables.clients(tenant.partner_id)) == 3
    seat_item = tables.seats(tenant.partner_id, account_id)
    assert seat_item is not None and (seat_item["used"], seat_item["cap"]) == (3, 3)
    events = tables.events(tenant.partner_id, "client.registered")
    assert sorted(e["resource"]["id"] for e in events) == sorted(w["clientId"] for w in won)
    assert len(tables.email_claims(tenant.partner_id)) == 3
    assert used(api, tenant.token, account_id) == 3


def test_ten_concurrent_activations_against_three_free_seats_activate_exactly_three(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    # Given 10 inactive clients in an account whose cap is then set to 3 (0 used)
    account_id = create_account(api, tenant.token, "Waking", consumables=seats(10))["accountId"]
    sleepers = [join(api, tenant, account_id, f"sleeper{i}@example.com")["clientId"] for i in range(10)]
    for client_id in sleepers:
        patch(api, tenant, client_id, {"status": "inactive"})
    assert_success(
        patch_account(api, tenant.token, account_id, {"consumables": seats(3)}),
        200,
        "Account updated successfully.",
    )
    assert used(api, tenant.token, account_id) == 0
    caller = principal_of(tenant)

    # When all 10 are activated at once
    def attempt(i: int) -> Any:
        return client_logic.update(
            caller, actor_of(tenant, f"wake-{i}"), sleepers[i], ClientPatch(status="active"), None
        )

    results = on_threads(10, attempt, released_together=True)

    # Then exactly 3 are active and 7 were refused for the cap
    won = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, SeatLimitExceeded)]
    assert (len(won), len(refused)) == (3, 7), [type(r).__name__ for r in results]
    stored = {c["clientId"]: c["status"] for c in tables.in_account(tenant.partner_id, account_id)}
    assert sorted(k for k, v in stored.items() if v == "active") == sorted(w["clientId"] for w in won)
    assert sorted(v for v in stored.values()) == ["active"] * 3 + ["inactive"] * 7
    seat_item = tables.seats(tenant.partner_id, account_id)
    assert seat_item is not None and (seat_item["used"], seat_item["cap"]) == (3, 3)
    wakes = [
        e
        for e in tables.events(tenant.partner_id, "client.updated")
        if e["changes"].get("status") == {"from": "inactive", "to": "active"}
    ]
    assert sorted(e["resource"]["id"] for e in wakes) == sorted(w["clientId"] for w in won)


# --- GET/POST /partner/v1/accounts/{accountId}/clients ----------------------------------------------------


def test_the_account_clients_list_shows_only_its_clients_with_the_clients_filters(
    api: Api, tenant: Tenant
) -> None:
    # Given an account with four clients (one inactive, one deleted), another account and a loose client
    account_id = create_account(api, tenant.token, "Listed")["accountId"]
    other_id = create_account(api, tenant.token, "Unlisted")["accountId"]
    ann = join(api, tenant, account_id, "ann@example.com", name="Ann Able")
    bob = join(api, tenant, account_id, "bob@example.com", name="Bob Baker")
    cid = join(api, tenant, account_id, "cid@example.com", name="Cid Carter")
    gone = join(api, tenant, account_id, "gone@example.com", name="Gone Away")
    join(api, tenant, other_id, "elsewhere@example.com", name="Ann Elsewhere")
    register(api, tenant, "loose@example.com", name="Ann Loose")
    patch(api, tenant, bob["clientId"], {"status": "inactive"})
    remove(api, tenant, gone["clientId"])
    path = account_clients(account_id)

    # Then the list shows its live clients, oldest first
    data = assert_success(api.call("GET", path, token=tenant.token), 200, "Clients retrieved successfully.")
    assert ids(data["clients"], "clientId") == [ann["clientId"], bob["clientId"], cid["clientId"]]
    assert data["pagination"]["total"] == 3
    assert all(c["accountId"] == account_id for c in data["clients"])

    # and the clients filters apply within the account
    def listed(**query: str) -> list[str]:
        reply = api.call("GET", path, token=tenant.token, query=query)
        return ids(assert_success(reply, 200, "Clients retrieved successfully.")["clients"], "clientId")

    assert listed(status="inactive") == [bob["clientId"]]
    assert listed(status="deleted") == [gone["clientId"]]
    assert listed(q="ANN") == [ann["clientId"]]
    assert listed(q="cid@EXAMPLE") == [cid["clientId"]]
    assert_error(
        api.call("GET", path, token=tenant.token, query={"status": "asleep"}), 400, "INVALID_PARAMETER"
    )

    # and a cursor walk two at a time visits each once
    first = api.call("GET", path, token=tenant.token, query={"limit": "2"}).body["data"]
    assert first["pagination"]["hasMore"] is True and first["pagination"]["total"] == 3
    rest = api.call(
        "GET", path, token=tenant.token, query={"limit": "2", "cursor": first["pagination"]["nextCursor"]}
    ).body["data"]
    assert rest["pagination"]["hasMore"] is False
    assert ids(first["clients"] + rest["clients"], "clientId") == [
        ann["clientId"],
        bob["clientId"],
        cid["clientId"],
    ]


def test_the_clients_of_an_unknown_account_are_not_found(api: Api, tenant: Tenant) -> None:
    reply = api.call("GET", account_clients(str(uuid.uuid4())), token=tenant.token)
    assert_error(reply, 404, "ACCOUNT_NOT_FOUND")
    assert_error(
        api.call("GET", account_clients("nope"), token=tenant.token),
        400,
        "INVALID_PARAMETER",
        field="accountId",
    )


def test_adding_a_new_email_registers_a_client_in_the_account(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    account_id = create_account(api, tenant.token, "Joinable", consumables=seats(2))["accountId"]

    reply = api.call(
        "POST",
        account_clients(account_id),
        token=tenant.token,
        json_body={"name": "New Comer", "email": "new@example.com", "title": "CTO"},
    )

    data = assert_success(reply, 201, "Client registered successfully.")
    assert (data["accountId"], data["status"], data["title"]) == (account_id, "active", "CTO")
    assert data["partnerId"] == tenant.partner_id
    assert reply.header("ETag")
    stored = tables.client(tenant.partner_id, data["clientId"])
    assert stored is not None and stored["accountId"] == account_id
    assert tables.email_owner(tenant.partner_id, "new@example.com") == data["clientId"]
    (event,) = tables.events(tenant.partner_id, "client.registered")
    assert event["resource"]["id"] == data["clientId"]
    assert used(api, tenant.token, account_id) == 1
    # and a body accountId equal to the path's is accepted
    again = api.call(
        "POST",
        account_clients(account_id),
        token=tenant.token,
        json_body={"name": "Second", "email": "second@example.com", "accountId": account_id},
    )
    assert assert_success(again, 201, "Client registered successfully.")["accountId"] == account_id


def test_adding_a_body_without_email_or_name_lists_both_and_stores_nothing(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    # Given an account
    account_id = create_account(api, tenant.token, "Listed", consumables=seats(1))["accountId"]
    before = tables.snapshot(tenant.partner_id)

    # When it is sent an empty body, and a new email with only a first name
    empty = api.call("POST", account_clients(account_id), token=tenant.token, json_body={})
    half = api.call(
        "POST",
        account_clients(account_id),
        token=tenant.token,
        json_body={"email": "half@example.com", "firstName": "Half"},
    )

    # Then the first lists name and email, the second the name, and nothing is written
    error = assert_error(empty, 400, "MISSING_REQUIRED_PARAMS")
    assert error["details"] == [
        {"field": "name", "issue": "required"},
        {"field": "email", "issue": "required"},
    ]
    assert assert_error(half, 400, "MISSING_REQUIRED_PARAMS")["details"] == [
        {"field": "name", "issue": "required"}
    ]
    assert tables.snapshot(tenant.partner_id) == before


def test_adding_an_existing_email_updates_that_client_and_moves_it_into_the_account(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    # Given a client in another account, and an account with a free seat
    source = create_account(api, tenant.token, "Before", consumables=seats(1))["accountId"]
    target = create_account(api, tenant.token, "After", consumables=seats(1))["accountId"]
    existing = join(api, tenant, source, "Known.Person@example.com", name="Known Person")

    # When the account adds the email in another case, with new fields
    reply = api.call(
        "POST",
        account_clients(target),
        token=tenant.token,
        json_body={"email": "known.person@EXAMPLE.com", "title": "VP", "name": "Known P. Erson"},
    )

    # Then that client is updated and moved: no new client, email kept as it was
    data = assert_success(reply, 200, "Client updated successfully.")
    assert data["clientId"] == existing["clientId"]
    assert (data["accountId"], data["title"], data["name"]) == (target, "VP", "Known P. Erson")
    assert data["email"] == "Known.Person@example.com"
    assert [c["clientId"] for c in tables.clients(tenant.partner_id)] == [existing["clientId"]]
    assert (used(api, tenant.token, source), used(api, tenant.token, target)) == (0, 1)
    (event,) = tables.events(tenant.partner_id, "client.updated", existing["clientId"])
    assert event["changes"]["accountId"] == {"from": source, "to": target}
    assert len(tables.events(tenant.partner_id, "client.registered")) == 1


def test_adding_an_existing_email_into_a_full_account_is_refused(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    account_id = create_account(api, tenant.token, "Packed", consumables=seats(1))["accountId"]
    join(api, tenant, account_id, "seated@example.com")
    outsider = register(api, tenant, "outsider@example.com")
    before = tables.snapshot(tenant.partner_id)

    reply = api.call(
        "POST",
        account_clients(account_id),
        token=tenant.token,
        json_body={"email": "OUTSIDER@example.com", "title": "Hopeful"},
    )
    assert_error(reply, 403, SEAT_LIMIT)
    new = api.call(
        "POST",
        account_clients(account_id),
        token=tenant.token,
        json_body={"name": "N", "email": "n@example.com"},
    )
    assert_error(new, 403, SEAT_LIMIT)

    assert tables.snapshot(tenant.partner_id) == before
    assert get_client(api, tenant.token, outsider["clientId"]) == outsider


def test_adding_a_client_that_needs_no_new_seat_into_a_full_account_is_fine(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    # Given a full account of 1 seat, and an inactive client outside it
    account_id = create_account(api, tenant.token, "Snug", consumables=seats(1))["accountId"]
    seated = join(api, tenant, account_id, "seated@example.com")
    dormant = register(api, tenant, "dormant@example.com")
    patch(api, tenant, dormant["clientId"], {"status": "inactive"})

    # When the account adds its own seated client again, and the inactive one
    again = api.call(
        "POST", account_clients(account_id), token=tenant.token, json_body={"email": "SEATED@example.com"}
    )
    moved = api.call(
        "POST", account_clients(account_id), token=tenant.token, json_body={"email": "dormant@example.com"}
    )

    # Then both answer the existing client, and still only one seat is used
    assert assert_success(again, 200, "Client updated successfully.")["clientId"] == seated["clientId"]
    data = assert_success(moved, 200, "Client updated successfully.")
    assert (data["clientId"], data["accountId"], data["status"]) == (
        dormant["clientId"],
        account_id,
        "inactive",
    )
    assert used(api, tenant.token, account_id) == 1
    seat_item = tables.seats(tenant.partner_id, account_id)
    assert seat_item is not None and seat_item["used"] == 1


def test_adding_the_email_of_a_deleted_client_registers_a_new_one(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    account_id = create_account(api, tenant.token, "Fresh", consumables=seats(1))["accountId"]
    old = join(api, tenant, account_id, "reused@example.com")
    remove(api, tenant, old["clientId"])

    reply = api.call(
        "POST",
        account_clients(account_id),
        token=tenant.token,
        json_body={"name": "Second Life", "email": "Reused@example.com"},
    )

    data = assert_success(reply, 201, "Client registered successfully.")
    assert data["clientId"] != old["clientId"] and data["accountId"] == account_id
    assert get_client(api, tenant.token, old["clientId"])["status"] == "deleted"
    assert tables.email_owner(tenant.partner_id, "reused@example.com") == data["clientId"]
    assert used(api, tenant.token, account_id) == 1


def test_adding_with_a_body_account_id_other_than_the_path_is_invalid(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    account_id = create_account(api, tenant.token, "PathOne")["accountId"]
    other_id = create_account(api, tenant.token, "PathTwo")["accountId"]
    before = tables.snapshot(tenant.partner_id)

    reply = api.call(
        "POST",
        account_clients(account_id),
        token=tenant.token,
        json_body={"name": "Confused", "email": "confused@example.com", "accountId": other_id},
    )

    assert_error(reply, 400, "INVALID_PARAMETER", field="accountId")
    assert tables.snapshot(tenant.partner_id) == before


def test_adding_the_email_of_a_client_the_caller_cannot_see_conflicts(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    # Given sibling sub-partners A and B, B with a client, A with an account
    a = member(api, tenant, "Branch A")
    b = member(api, tenant, "Branch B")
    theirs = register(api, tenant, "shared@example.com", partnerId=b.id)
    account_id = create_account(api, a.token, "AAccount")["accountId"]
    before = tables.snapshot(tenant.partner_id)

    # When A adds that email to its account
    reply = api.call(
        "POST",
        account_clients(account_id),
        token=a.token,
        json_body={"name": "Grabbed", "email": "SHARED@example.com"},
    )

    # Then it conflicts, and B's client is untouched
    assert_error(reply, 409, "CLIENT_ALREADY_EXISTS", field="email")
    assert tables.snapshot(tenant.partner_id) == before
    assert get_client(api, tenant.token, theirs["clientId"]) == theirs


def test_removing_a_client_from_the_account_frees_its_seat_and_keeps_it_active(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    account_id = create_account(api, tenant.token, "Leaving", consumables=seats(1))["accountId"]
    leaver = join(api, tenant, account_id, "leaver@example.com")

    reply = api.call(
        "DELETE",
        f"{account_clients(account_id)}/{leaver['clientId']}",
        token=tenant.token,
        headers={"x-request-id": "leave-1"},
    )

    data = assert_success(reply, 200, "Client removed from the account successfully.")
    assert data["clientId"] == leaver["clientId"] and data["status"] == "active"
    assert "accountId" not in data
    assert reply.header("ETag")
    assert get_client(api, tenant.token, leaver["clientId"]) == data
    stored = tables.client(tenant.partner_id, leaver["clientId"])
    assert stored is not None and "accountId" not in stored
    assert used(api, tenant.token, account_id) == 0
    seat_item = tables.seats(tenant.partner_id, account_id)
    assert seat_item is not None and seat_item["used"] == 0
    (event,) = tables.events(tenant.partner_id, "client.updated", leaver["clientId"])
    assert event["requestId"] == "leave-1"
    assert event["changes"] == {"accountId": {"from": account_id, "to": None}}
    # and the freed seat can be taken
    join(api, tenant, account_id, "next@example.com")


def test_removing_a_client_that_is_not_in_the_account_or_from_an_unknown_account_is_not_found(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    account_id = create_account(api, tenant.token, "Strict")["accountId"]
    other_id = create_account(api, tenant.token, "Elsewhere")["accountId"]
    elsewhere = join(api, tenant, other_id, "elsewhere@example.com")
    loose = register(api, tenant, "loose@example.com")
    before = tables.snapshot(tenant.partner_id)

    for client_id in (elsewhere["clientId"], loose["clientId"], str(uuid.uuid4())):
        reply = api.call("DELETE", f"{account_clients(account_id)}/{client_id}", token=tenant.token)
        assert_error(reply, 404, "CLIENT_NOT_FOUND")
    reply = api.call(
        "DELETE", f"{account_clients(str(uuid.uuid4()))}/{elsewhere['clientId']}", token=tenant.token
    )
    assert_error(reply, 404, "ACCOUNT_NOT_FOUND")
    assert tables.snapshot(tenant.partner_id) == before


# --- isolation across siblings and tenants ------------------------------------------------------------------


def test_accounts_of_a_sibling_or_another_tenant_are_invisible(
    api: Api, tenant: Tenant, other_tenant: Tenant, tables: Tables
) -> None:
    # Given sibling sub-partners A and B, each with an account, and another tenant's account
    a = member(api, tenant, "Branch A")
    b = member(api, tenant, "Branch B")
    mine = create_account(api, a.token, "AOwn", consumables=seats(5))
    siblings = create_account(api, b.token, "BOwn", consumables=seats(5))
    foreign = create_account(api, other_tenant.token, "Foreign", consumables=seats(5))
    b_client = join(api, tenant, siblings["accountId"], "bclient@example.com")
    foreign_client = join(api, other_tenant, foreign["accountId"], "fclient@example.com")
    assert mine["partnerId"] == a.id and siblings["partnerId"] == b.id
    before = (tables.snapshot(tenant.partner_id), tables.snapshot(other_tenant.partner_id))

    # Then A sees only its own account
    assert ids(list_accounts(api, a.token)["accounts"]) == [mine["accountId"]]
    # and every route on the others answers ACCOUNT_NOT_FOUND, to A and to the other tenant alike
    for token, account_id, client_id in (
        (a.token, siblings["accountId"], b_client["clientId"]),
        (a.token, foreign["accountId"], foreign_client["clientId"]),
        (other_tenant.token, siblings["accountId"], b_client["clientId"]),
    ):
        path = f"{ACCOUNTS}/{account_id}"
        for reply in (
            api.call("GET", path, token=token),
            api.call("PUT", path, token=token, json_body={"name": "Taken", "countryCode": "US"}),
            api.call("PATCH", path, token=token, json_body={"company": "Taken"}),
            api.call("GET", f"{path}/clients", token=token),
            api.call(
                "POST", f"{path}/clients", token=token, json_body={"name": "X", "email": "x@example.com"}
            ),
            api.call("DELETE", f"{path}/clients/{client_id}", token=token),
        ):
            assert_error(reply, 404, "ACCOUNT_NOT_FOUND")
    assert (tables.snapshot(tenant.partner_id), tables.snapshot(other_tenant.partner_id)) == before
    assert ids(list_accounts(api, other_tenant.token)["accounts"]) == [foreign["accountId"]]


def test_a_sub_partner_cannot_see_its_ancestors_accounts_and_a_root_sees_its_descendants(
    api: Api, tenant: Tenant
) -> None:
    a = member(api, tenant, "Branch A")
    roots = create_account(api, tenant.token, "RootOwn")
    for_a = create_account(api, tenant.token, "ForA", partnerId=a.id)
    by_a = create_account(api, a.token, "ByA")

    # A sub-partner sees its own subtree's accounts only
    assert ids(list_accounts(api, a.token)["accounts"]) == [for_a["accountId"], by_a["accountId"]]
    assert_error(get_account(api, a.token, roots["accountId"]), 404, "ACCOUNT_NOT_FOUND")
    # and cannot create one for its root
    reply = api.call(
        "POST",
        ACCOUNTS,
        token=a.token,
        json_body={"name": "Upward", "countryCode": "US", "partnerId": tenant.partner_id},
    )
    assert_error(reply, 404, "PARTNER_NOT_FOUND", field="partnerId")
    # while the root sees all three
    assert ids(list_accounts(api, tenant.token)["accounts"]) == [
        roots["accountId"],
        for_a["accountId"],
        by_a["accountId"],
    ]
    assert account_data(api, tenant.token, by_a["accountId"])["partnerId"] == a.id
    patched = patch_account(api, tenant.token, by_a["accountId"], {"company": "Set By Root"})
    assert assert_success(patched, 200, "Account updated successfully.")["company"] == "Set By Root"
    # and account names are unique across the whole tenant
    taken = api.call("POST", ACCOUNTS, token=a.token, json_body={"name": "rootown", "countryCode": "US"})
    assert_error(taken, 409, "ACCOUNT_ALREADY_EXISTS", field="name")


def test_a_client_cannot_be_registered_or_moved_into_an_invisible_account(
    api: Api, tenant: Tenant, other_tenant: Tenant, tables: Tables
) -> None:
    a = member(api, tenant, "Branch A")
    b = member(api, tenant, "Branch B")
    siblings = create_account(api, b.token, "BOwn")["accountId"]
    foreign = create_account(api, other_tenant.token, "Foreign")["accountId"]
    a_client = register(api, tenant, "aclient@example.com", partnerId=a.id)
    before = tables.snapshot(tenant.partner_id)

    # Another tenant's account, to the root; a sibling's or another tenant's, to A
    for token, account_id in ((tenant.token, foreign), (a.token, siblings), (a.token, foreign)):
        reply = register_reply(api, token, "newbie@example.com", accountId=account_id)
        assert_error(reply, 404, "ACCOUNT_NOT_FOUND", field="accountId")
        moved = api.call(
            "PATCH", f"{CLIENTS}/{a_client['clientId']}", token=token, json_body={"accountId": account_id}
        )
        assert_error(moved, 404, "ACCOUNT_NOT_FOUND", field="accountId")
    assert tables.snapshot(tenant.partner_id) == before
    assert tables.email_owner(tenant.partner_id, "newbie@example.com") is None
