"""SCIM 2.0 Users (API.md section 10): an identity provider, holding a directory's token, creates,
reads, filters, pages, replaces, patches and deletes the partner's clients under /scim/v2.

Everything goes through the template's routes (``api.call``) and is checked against the SCIM
bodies and headers, the clients as ``/partner/v1`` shows them, the stored items (plain boto3), the
audit events, and, for a removal, the webhook the real pipeline delivers.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from local.stack import Stack
from tests.conftest import Tenant
from tests.integration.test_directories import (
    SCIM_BASE_URL,
    SCIM_ERROR,
    create_account,
    create_directory,
    create_partner,
    rotate,
)
from tests.integration.test_directories import delete as delete_directory
from tests.integration.test_webhooks_api import Pump, Receiver, create_webhook, pipeline, verify
from tests.support.apigw import Api, Reply
from tests.support.clients import (
    TIMESTAMP_RE,
    UUID_RE,
    Stored,
    assert_success,
    patch,
    register,
    remove,
)

USERS = "/scim/v2/Users"
CLIENTS = "/partner/v1/clients"
ACCOUNTS = "/partner/v1/accounts"
EVENTS = "/partner/v1/events"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SCIM_JSON = "application/scim+json"
ETAG_RE = re.compile(r'^"[^"]+"$')


# --- helpers -----------------------------------------------------------------------------------------


def scim(
    api: Api,
    method: str,
    path: str,
    token: str | None,
    body: Any = None,
    *,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    content_type: str = SCIM_JSON,
) -> Reply:
    """A SCIM request as a provider sends it: a JSON (or raw text) body as ``application/scim+json``."""
    sent = dict(headers or {})
    raw = None
    if body is not None:
        raw = body if isinstance(body, str) else json.dumps(body)
        sent.setdefault("Content-Type", content_type)
    return api.call(method, path, token=token, body=raw, query=query, headers=sent)


def user(email: str, **fields: Any) -> dict[str, Any]:
    return {"schemas": [USER_SCHEMA], "userName": email, **fields}


def create_user(api: Api, token: str, email: str, **fields: Any) -> dict[str, Any]:
    """Given-step helper: a User created over SCIM; returns it as answered."""
    reply = scim(api, "POST", USERS, token, user(email, **fields))
    assert reply.status == 201, reply.text
    return reply.body  # type: ignore[no-any-return]


def get_user(api: Api, token: str | None, user_id: str, **query: str) -> Reply:
    return scim(api, "GET", f"{USERS}/{user_id}", token, query=query or None)


def list_users(api: Api, token: str, **query: str) -> dict[str, Any]:
    reply = scim(api, "GET", USERS, token, query=query or None)
    assert reply.status == 200, reply.text
    assert reply.header("Content-Type") == SCIM_JSON
    body = reply.body
    assert body["schemas"] == [LIST_RESPONSE]
    assert set(body) == {"schemas", "totalResults", "startIndex", "itemsPerPage", "Resources"}
    assert body["itemsPerPage"] == len(body["Resources"])
    return body  # type: ignore[no-any-return]


def found(api: Api, token: str, filter_text: str) -> list[str]:
    """The ids a filter finds, in the order listed."""
    return [r["id"] for r in list_users(api, token, filter=filter_text, count="200")["Resources"]]


def patch_user(
    api: Api,
    token: str | None,
    user_id: str,
    *operations: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> Reply:
    body = {"schemas": [PATCH_OP], "Operations": list(operations)}
    return scim(api, "PATCH", f"{USERS}/{user_id}", token, body, headers=headers)


def put_user(
    api: Api, token: str | None, user_id: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Reply:
    return scim(api, "PUT", f"{USERS}/{user_id}", token, body, headers=headers)


def delete_user(api: Api, token: str | None, user_id: str, headers: dict[str, str] | None = None) -> Reply:
    return scim(api, "DELETE", f"{USERS}/{user_id}", token, headers=headers)


def assert_scim_error(reply: Reply, status: int, scim_type: str | None = None) -> dict[str, Any]:
    """RFC 7644 section 3.12's error body, as ``application/scim+json``."""
    assert reply.status == status, reply.text
    assert reply.header("Content-Type") == SCIM_JSON
    body = reply.body
    assert set(body) <= {"schemas", "status", "scimType", "detail"}, body
    assert body["schemas"] == [SCIM_ERROR]
    assert body["status"] == str(status)
    assert isinstance(body["detail"], str) and body["detail"].strip()
    assert body.get("scimType") == scim_type, body
    for leak in ("Traceback", "botocore", "ClientError", "Exception", "-UsersTable", "-TenantsTable"):
        assert leak not in reply.text
    return body  # type: ignore[no-any-return]


def assert_unauthorized(reply: Reply) -> None:
    assert_scim_error(reply, 401)
    assert reply.header("WWW-Authenticate") == 'Bearer realm="scim"'


def client_of(api: Api, tenant: Tenant, client_id: str) -> dict[str, Any]:
    """The client as GET /partner/v1/clients/{id} shows it."""
    reply = api.call("GET", f"{CLIENTS}/{client_id}", token=tenant.token)
    return assert_success(reply, 200, "Client retrieved successfully.")  # type: ignore[no-any-return]


def seats_used(api: Api, tenant: Tenant, account_id: str) -> int:
    reply = api.call("GET", f"{ACCOUNTS}/{account_id}", token=tenant.token)
    return int(assert_success(reply, 200, "Account retrieved successfully.")["usage"]["SEATS"])


def events_about(api: Api, tenant: Tenant, resource_id: str) -> list[dict[str, Any]]:
    """The resource's events as GET /partner/v1/events lists them, oldest first."""
    reply = api.call("GET", EVENTS, token=tenant.token, query={"resourceId": resource_id})
    listed = assert_success(reply, 200, "Events retrieved successfully.")["events"]
    return sorted(listed, key=lambda e: e["eventId"])


def directory_actor(directory: dict[str, Any]) -> dict[str, str]:
    return {"type": "directory", "directoryId": directory["directoryId"], "partnerId": directory["partnerId"]}


def version_of(stored: Stored, tenant: Tenant, client_id: str) -> int:
    item = stored.client(tenant.partner_id, client_id)
    assert item is not None
    return int(item["version"])


@pytest.fixture
def directory(api: Api, tenant: Tenant) -> dict[str, Any]:
    """A directory of the tenant's root partner, with its token."""
    return create_directory(api, tenant.token)


@pytest.fixture
def token(directory: dict[str, Any]) -> str:
    return str(directory["token"])


@pytest.fixture
def stored(stack: Stack) -> Stored:
    return Stored(stack)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()


ADA = {
    "externalId": "00u1a2b3c4D5e6F7g8",
    "name": {"givenName": "Ada", "familyName": "Lovelace"},
    "displayName": "Ada Lovelace",
    "title": "Countess",
    "phoneNumbers": [{"value": "+44 20 7946 0000", "type": "work"}],
}


# --- the mapping, both ways --------------------------------------------------------------------------


def test_create_maps_every_attribute_onto_a_client_and_answers_the_user(
    api: Api, tenant: Tenant, token: str, stored: Stored
):
    # Given a User as a provider sends it, with attributes no client keeps (locale, the enterprise
    # extension, a phone type, the formatted name)
    sent = {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": "00u1a2b3c4D5e6F7g8",
        "userName": "Ada.Lovelace@Example.com",
        "name": {"givenName": "Ada", "familyName": "Lovelace", "formatted": "Countess Lovelace"},
        "displayName": "Ada L.",
        "title": "Countess",
        "emails": [{"value": "Ada.Lovelace@Example.com", "type": "work", "primary": True}],
        "phoneNumbers": [{"value": "+44 20 7946 0000", "type": "mobile"}],
        "active": True,
        "locale": "en-GB",
        "preferredLanguage": "en",
        ENTERPRISE: {"department": "Analytical Engines", "employeeNumber": "1815"},
    }

    # When it is created
    reply = scim(api, "POST", USERS, token, sent)

    # Then the answer is the User the client makes, as application/scim+json, with Location and ETag
    assert reply.status == 201, reply.text
    assert reply.header("Content-Type") == SCIM_JSON
    created = reply.body
    user_id = created["id"]
    assert UUID_RE.match(user_id)
    assert TIMESTAMP_RE.match(created["meta"]["created"])
    assert ETAG_RE.match(reply.header("ETag") or "")
    assert created == {
        "schemas": [USER_SCHEMA],
        "id": user_id,
        "externalId": "00u1a2b3c4D5e6F7g8",
        "userName": "Ada.Lovelace@Example.com",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "displayName": "Ada L.",
        "title": "Countess",
        "emails": [{"value": "Ada.Lovelace@Example.com", "type": "work", "primary": True}],
        "phoneNumbers": [{"value": "+44 20 7946 0000", "type": "work", "primary": True}],
        "active": True,
        "meta": {
            "resourceType": "User",
            "created": created["meta"]["created"],
            "lastModified": created["meta"]["created"],
            "location": f"{SCIM_BASE_URL}/Users/{user_id}",
            "version": reply.header("ETag"),
        },
    }
    assert reply.header("Location") == f"{SCIM_BASE_URL}/Users/{user_id}"

    # And the partner API shows the client: userName/emails -> email, givenName/familyName ->
    # firstName/lastName, displayName -> name, phoneNumbers[0] -> phone, externalId -> identifier
    got = api.call("GET", f"{CLIENTS}/{user_id}", token=tenant.token)
    assert assert_success(got, 200, "Client retrieved successfully.") == {
        "clientId": user_id,
        "name": "Ada L.",
        "email": "Ada.Lovelace@Example.com",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "phone": "+44 20 7946 0000",
        "title": "Countess",
        "identifier": "00u1a2b3c4D5e6F7g8",
        "status": "active",
        "partnerId": tenant.partner_id,
        "registeredAt": created["meta"]["created"],
        "updatedAt": created["meta"]["lastModified"],
    }
    assert got.header("ETag") == reply.header("ETag")

    # And what the mapping does not keep is stored nowhere
    item = stored.client(tenant.partner_id, user_id)
    assert item is not None
    for unkept in ("en-GB", "Analytical Engines", "1815", "locale", "department", "Countess Lovelace"):
        assert unkept not in json.dumps(item)
    assert stored.email_owner(tenant.partner_id, "ada.lovelace@example.com") == user_id

    # And reading the User back answers the same User
    again = get_user(api, token, user_id)
    assert again.status == 200 and again.header("Content-Type") == SCIM_JSON
    assert again.body == created


def test_a_user_created_inactive_is_an_inactive_client(api: Api, tenant: Tenant, token: str):
    created = create_user(api, token, "dormant@example.com", active=False)

    assert created["active"] is False
    assert client_of(api, tenant, created["id"])["status"] == "inactive"
    assert get_user(api, token, created["id"]).body["active"] is False


def test_a_user_created_inactive_is_registered_inactive_in_one_event(api: Api, tenant: Tenant, token: str):
    # Given a User the provider creates suspended
    created = create_user(api, token, "dormant@example.com", active=False)

    # Then the audit trail (and so every webhook) says it was registered inactive, not that an
    # active client was registered and then deactivated
    events = events_about(api, tenant, created["id"])
    assert [(e["type"], e["changes"]["status"]) for e in events] == [
        ("client.registered", {"from": None, "to": "inactive"})
    ]


def test_display_name_comes_from_the_name_parts_else_the_user_name(api: Api, tenant: Tenant, token: str):
    # Given Users without a displayName: one with both name parts, one formatted name, one bare
    parts = create_user(api, token, "ada@example.com", name={"givenName": "Ada", "familyName": "Lovelace"})
    formatted = create_user(api, token, "alan@example.com", name={"formatted": "Alan M. Turing"})
    bare = create_user(api, token, "grace@example.org")

    # Then each client is named by what there was, and the User shows that name
    names = [client_of(api, tenant, u["id"])["name"] for u in (parts, formatted, bare)]
    assert names == ["Ada Lovelace", "Alan M. Turing", "grace@example.org"]
    assert [u["displayName"] for u in (parts, formatted, bare)] == names
    # And a formatted name alone sets no name parts
    assert "name" not in formatted and "name" not in bare
    assert "firstName" not in client_of(api, tenant, formatted["id"])


def test_a_change_made_through_the_partner_api_shows_over_scim(api: Api, tenant: Tenant, token: str):
    # Given a client registered through the partner API, with API-only fields too
    client = register(
        api,
        tenant,
        "grace@example.org",
        "Grace Hopper",
        firstName="Grace",
        lastName="Hopper",
        title="Rear Admiral",
        phone="+1 555 0142",
        identifier="emp-1906",
        company="US Navy",
        metadata={"ship": "USS Hopper"},
    )

    # Then SCIM shows it mapped, without the API-only fields
    before = get_user(api, token, client["clientId"])
    assert before.status == 200, before.text
    shown = before.body
    assert {k: shown[k] for k in ("userName", "name", "displayName", "title", "externalId", "active")} == {
        "userName": "grace@example.org",
        "name": {"givenName": "Grace", "familyName": "Hopper"},
        "displayName": "Grace Hopper",
        "title": "Rear Admiral",
        "externalId": "emp-1906",
        "active": True,
    }
    assert shown["phoneNumbers"] == [{"value": "+1 555 0142", "type": "work", "primary": True}]
    assert "US Navy" not in before.text and "USS Hopper" not in before.text

    # When the partner changes it through the API
    changed = patch(
        api,
        tenant,
        client["clientId"],
        {
            "email": "g.hopper@example.org",
            "name": "Amazing Grace",
            "title": "Commodore",
            "status": "inactive",
        },
    )
    data = assert_success(changed, 200, "Client updated successfully.")

    # Then SCIM shows the change, its version the API's ETag
    after = get_user(api, token, client["clientId"]).body
    assert (after["userName"], after["displayName"], after["title"], after["active"]) == (
        "g.hopper@example.org",
        "Amazing Grace",
        "Commodore",
        False,
    )
    assert after["emails"] == [{"value": "g.hopper@example.org", "type": "work", "primary": True}]
    assert after["meta"]["version"] == changed.header("ETag") != shown["meta"]["version"]
    assert after["meta"]["lastModified"] == data["updatedAt"]
    assert after["meta"]["created"] == client["registeredAt"]


def test_answers_are_scim_json_and_plain_json_is_accepted(api: Api, token: str):
    # Given requests sent as application/json rather than application/scim+json
    created = scim(api, "POST", USERS, token, user("plain@example.com"), content_type="application/json")
    assert created.status == 201, created.text
    user_id = created.body["id"]
    patched = scim(
        api,
        "PATCH",
        f"{USERS}/{user_id}",
        token,
        {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "CTO"}]},
        content_type="application/json",
    )
    replaced = scim(
        api,
        "PUT",
        f"{USERS}/{user_id}",
        token,
        user("plain@example.com", title="CEO"),
        content_type="application/json",
    )

    # Then each is taken, and every answer, error or not, is application/scim+json
    assert (patched.status, patched.body["title"]) == (200, "CTO")
    assert (replaced.status, replaced.body["title"]) == (200, "CEO")
    answers = [
        created,
        patched,
        replaced,
        get_user(api, token, user_id),
        scim(api, "GET", USERS, token),
        scim(api, "GET", USERS, token, query={"filter": "userName zz 1"}),
        get_user(api, token, str(uuid.uuid4())),
        scim(api, "GET", USERS, None),
    ]
    assert [a.header("Content-Type") for a in answers] == [SCIM_JSON] * len(answers)


def test_a_taken_user_name_is_a_uniqueness_conflict(api: Api, tenant: Tenant, token: str, stored: Stored):
    # Given one client made over SCIM and one through the API
    first = create_user(api, token, "ada@example.com")
    register(api, tenant, "grace@example.org")
    before = stored.clients(tenant.partner_id)

    # When a User is created with either email, in any case
    for email in ("ada@example.com", "ADA@Example.COM", "Grace@Example.org"):
        reply = scim(api, "POST", USERS, token, user(email))

        # Then it is 409 uniqueness, and nothing is stored
        assert_scim_error(reply, 409, "uniqueness")
    assert stored.clients(tenant.partner_id) == before
    assert stored.email_owner(tenant.partner_id, "ada@example.com") == first["id"]


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ({"schemas": [USER_SCHEMA], "name": {"givenName": "No", "familyName": "Username"}}, "invalidValue"),
        (user("not-an-email"), "invalidValue"),
        (user("ada@example.com", active="yes"), "invalidValue"),
        (user("ada@example.com", name="Ada Lovelace"), "invalidValue"),
        (user("ada@example.com", emails="ada@example.com"), "invalidValue"),
        (user("ada@example.com", phoneNumbers=[{"value": "call me maybe"}]), "invalidValue"),
        ("{not json", "invalidSyntax"),
    ],
)
def test_an_invalid_user_is_refused_and_stores_nothing(
    api: Api, tenant: Tenant, token: str, stored: Stored, body: Any, scim_type: str
):
    reply = scim(api, "POST", USERS, token, body)

    assert_scim_error(reply, 400, scim_type)
    assert stored.clients(tenant.partner_id) == []


# --- filters -----------------------------------------------------------------------------------------


@pytest.fixture
def people(api: Api, tenant: Tenant, token: str) -> dict[str, dict[str, Any]]:
    """Three Users over SCIM, a client the partner registered, and one removed (never listed)."""
    ada = create_user(api, token, "ada@example.com", **ADA)
    grace = create_user(
        api,
        token,
        "grace@example.org",
        externalId="ext-grace",
        name={"givenName": "Grace", "familyName": "Hopper"},
        title="Rear Admiral",
    )
    alan = create_user(
        api,
        token,
        "alan@example.com",
        externalId="EXT-Alan",
        name={"givenName": "Alan", "familyName": "Turing"},
        active=False,
    )
    api_made = register(api, tenant, "edsger@example.net", "Edsger Dijkstra", lastName="Dijkstra")
    gone = create_user(api, token, "gone@example.com", title="Former")
    remove(api, tenant, gone["id"])
    return {
        "ada": ada,
        "grace": grace,
        "alan": alan,
        "edsger": get_user(api, token, api_made["clientId"]).body,
        "gone": gone,
    }


def test_each_filter_operator_selects_what_it_says(api: Api, token: str, people: dict[str, dict[str, Any]]):
    ada, grace, alan, edsger = (people[n]["id"] for n in ("ada", "grace", "alan", "edsger"))
    everyone = [ada, grace, alan, edsger]  # oldest first; the removed one never
    cases = {
        'userName eq "ada@example.com"': [ada],
        'userName ne "ada@example.com"': [grace, alan, edsger],
        'userName co "example.com"': [ada, alan],
        'userName sw "GR"': [grace],
        'userName ew ".net"': [edsger],
        "title pr": [ada, grace],
        "name.givenName pr": [ada, grace, alan],
        'name.familyName gt "L"': [ada, alan],
        'name.familyName ge "Lovelace"': [ada, alan],
        'name.familyName lt "Hopper"': [edsger],
        'name.familyName le "Hopper"': [grace, edsger],
        "active eq false": [alan],
        "active eq true": [ada, grace, edsger],
        "active ne true": [alan],
        'userName co "example" and active eq true': [ada, grace, edsger],
        'userName sw "ada" or userName sw "alan"': [ada, alan],
        'not (userName sw "ada")': [grace, alan, edsger],
        'title pr and not (title eq "countess")': [grace],
        'userName sw "alan" or userName sw "grace" and active eq false': [alan],  # and binds tighter
        '(userName sw "alan" or userName sw "grace") and active eq true': [grace],
        'emails[value eq "grace@example.org"]': [grace],
        'emails[type eq "work" and value co "alan"]': [alan],
        'emails.value eq "EDSGER@example.net"': [edsger],
        'emails[type eq "work"].value sw "ada"': [ada],
        'displayName eq "ADA LOVELACE"': [ada],
        'phoneNumbers.value eq "+44 20 7946 0000"': [ada],
        'externalId eq "ext-grace"': [grace],
        'meta.lastModified gt "2000-01-01T00:00:00Z"': everyone,
        'meta.lastModified lt "2000-01-01T00:00:00Z"': [],
        'meta.created le "2999-12-31T23:59:59+02:00"': everyone,
        f'id eq "{ada}"': [ada],
        'userName eq "nobody@example.com"': [],
    }
    for text, expected in cases.items():
        assert found(api, token, text) == expected, text


def test_user_name_is_case_insensitive_and_external_id_case_exact(
    api: Api, token: str, people: dict[str, dict[str, Any]]
):
    ada, alan = people["ada"]["id"], people["alan"]["id"]

    assert found(api, token, 'userName eq "ADA@EXAMPLE.COM"') == [ada]
    assert found(api, token, 'USERNAME Eq "Ada@Example.com"') == [ada]  # names and operators too
    assert found(api, token, 'externalId eq "EXT-Alan"') == [alan]
    assert found(api, token, 'externalId eq "ext-alan"') == []
    assert found(api, token, 'externalId eq "00u1a2b3c4d5e6f7g8"') == []


def test_a_removed_client_is_found_by_no_filter(api: Api, token: str, people: dict[str, dict[str, Any]]):
    gone = people["gone"]

    assert found(api, token, 'userName eq "gone@example.com"') == []
    assert found(api, token, 'title eq "Former"') == []
    assert gone["id"] not in [r["id"] for r in list_users(api, token)["Resources"]]


def test_last_modified_compares_as_an_instant(api: Api, token: str, people: dict[str, dict[str, Any]]):
    # Given Ada changed after the others were made
    ada = people["ada"]["id"]
    changed = patch_user(api, token, ada, {"op": "replace", "path": "title", "value": "Analyst"})
    assert changed.status == 200, changed.text
    users = {u["id"]: u["meta"]["lastModified"] for u in list_users(api, token)["Resources"]}
    mark = users[people["edsger"]["id"]]  # the newest of the others

    # Then gt/ge/lt/le on meta.lastModified compare instants, whatever the zone they are written in
    newer = found(api, token, f'meta.lastModified gt "{mark}"')
    assert newer == [i for i, at in users.items() if at > mark]
    assert people["edsger"]["id"] not in newer
    assert found(api, token, f'meta.lastModified ge "{mark}"') == [i for i, at in users.items() if at >= mark]
    assert found(api, token, f'meta.lastModified lt "{mark}"') == [i for i, at in users.items() if at < mark]
    assert found(api, token, f'meta.lastModified le "{mark}"') == [i for i, at in users.items() if at <= mark]
    shifted = mark.replace("Z", "+00:00")
    assert found(api, token, f'meta.lastModified ge "{shifted}"') == [
        i for i, at in users.items() if at >= mark
    ]


INVALID_FILTERS = [
    "userName eq",
    'userName zz "ada@example.com"',
    'nickName eq "ada"',
    'urn:example:schema:userName eq "ada"',
    "active gt true",
    'active eq "true"',
    "name.givenName eq 5",
    'meta.lastModified gt "yesterday"',
    'meta.lastModified gt "2026-13-45T99:99:99Z"',
    'userName eq "unterminated',
    '(userName eq "ada@example.com"',
    'userName eq "ada@example.com" and',
    'emails[value eq "ada@example.com"',
    'emails[type eq "work" and emails[value eq "x"]]',
    'userName co "a" xor userName co "b"',
    'userName eq "\\x"',
    "userName pr pr",
    '"ada@example.com"',
    'userName eq "a"\x00',
    "userName eq null and",
]


def test_an_invalid_filter_is_invalid_filter(api: Api, token: str):
    create_user(api, token, "ada@example.com", **ADA)

    # Each is 400 invalidFilter in SCIM's error body (never a 500, never a page)
    wrong = {}
    for text in INVALID_FILTERS:
        reply = scim(api, "GET", USERS, token, query={"filter": text})
        if (reply.status, (reply.body or {}).get("scimType")) != (400, "invalidFilter"):
            wrong[text] = reply.text
        else:
            assert_scim_error(reply, 400, "invalidFilter")
    assert wrong == {}


def test_an_over_long_filter_is_refused_not_failed(api: Api, token: str):
    text = " or ".join(f'userName eq "user{i}@example.com"' for i in range(40))
    assert len(text) > 1000

    reply = scim(api, "GET", USERS, token, query={"filter": text})

    assert_scim_error(reply, 400, reply.body.get("scimType"))
    assert reply.body["scimType"] in ("invalidFilter", "invalidValue")


# --- paging ------------------------------------------------------------------------------------------


@pytest.fixture
def seven(api: Api, token: str) -> list[str]:
    return [create_user(api, token, f"user{n}@example.com")["id"] for n in range(1, 8)]


def test_pages_by_start_index_and_count(api: Api, token: str, seven: list[str]):
    # When the seven Users are read three at a time
    pages = [list_users(api, token, startIndex=str(start), count="3") for start in (1, 4, 7)]

    # Then each page says where it starts, how many it holds, and that there are seven in all
    assert [(p["startIndex"], p["itemsPerPage"], p["totalResults"]) for p in pages] == [
        (1, 3, 7),
        (4, 3, 7),
        (7, 1, 7),
    ]
    # And together they are every User once, oldest first
    assert [r["id"] for p in pages for r in p["Resources"]] == seven
    # And a page of them all, by default, agrees
    everything = list_users(api, token)
    assert (everything["startIndex"], everything["totalResults"]) == (1, 7)
    assert [r["id"] for r in everything["Resources"]] == seven


def test_start_index_beyond_the_end_count_zero_and_below_one(api: Api, token: str, seven: list[str]):
    beyond = list_users(api, token, startIndex="8", count="3")
    assert (beyond["startIndex"], beyond["itemsPerPage"], beyond["totalResults"], beyond["Resources"]) == (
        8,
        0,
        7,
        [],
    )
    # count=0: how many there are, and none of them
    counted = list_users(api, token, count="0")
    assert (counted["totalResults"], counted["itemsPerPage"], counted["Resources"]) == (7, 0, [])
    counted = list_users(api, token, count="0", filter='userName sw "user"')
    assert (counted["totalResults"], counted["itemsPerPage"], counted["Resources"]) == (7, 0, [])
    # startIndex below 1 counts as 1
    for below in ("0", "-5"):
        page = list_users(api, token, startIndex=below, count="2")
        assert page["startIndex"] == 1
        assert [r["id"] for r in page["Resources"]] == seven[:2]


def test_a_filtered_list_pages_the_same_way(api: Api, token: str, seven: list[str]):
    first = list_users(api, token, filter='userName sw "user"', startIndex="1", count="4")
    rest = list_users(api, token, filter='userName sw "user"', startIndex="5", count="4")

    assert (first["totalResults"], first["itemsPerPage"], rest["startIndex"], rest["itemsPerPage"]) == (
        7,
        4,
        5,
        3,
    )
    assert [r["id"] for r in first["Resources"] + rest["Resources"]] == seven


@pytest.mark.parametrize(
    "query",
    [{"count": "abc"}, {"startIndex": "abc"}, {"count": "-1"}, {"count": "1.5"}],
)
def test_a_paging_parameter_that_is_not_a_count_is_invalid_value(api: Api, token: str, query: dict[str, str]):
    assert_scim_error(scim(api, "GET", USERS, token, query=query), 400, "invalidValue")


def test_count_above_200_counts_as_200(api: Api, tenant: Tenant, token: str):
    # Given 201 clients (made through the API: the directory sees its partner's clients)
    made = [register(api, tenant, f"bulk{n:03}@example.com")["clientId"] for n in range(201)]

    # Then the ServiceProviderConfig says 200 at most
    config = scim(api, "GET", "/scim/v2/ServiceProviderConfig", token).body
    assert config["filter"] == {"supported": True, "maxResults": 200}

    # And a page asked for with more holds 200, listed or filtered, and says there are 201
    for query in ({"count": "1000"}, {"count": "201", "filter": 'userName sw "bulk"'}):
        page = list_users(api, token, **query)
        assert (page["totalResults"], page["itemsPerPage"], page["startIndex"]) == (201, 200, 1), query
        assert [r["id"] for r in page["Resources"]] == made[:200], query
    last = list_users(api, token, startIndex="201", count="1000")
    assert [r["id"] for r in last["Resources"]] == made[200:]


# --- attributes and excludedAttributes ---------------------------------------------------------------


def test_attributes_choose_what_a_list_and_a_get_return(api: Api, token: str):
    ada = create_user(api, token, "ada@example.com", **ADA)
    user_id = ada["id"]

    listed = list_users(api, token, attributes="userName")["Resources"]
    assert listed == [{"schemas": [USER_SCHEMA], "id": user_id, "userName": "ada@example.com"}]
    got = get_user(api, token, user_id, attributes="name.givenName,emails.value,USERNAME")
    assert got.status == 200, got.text
    assert got.body == {
        "schemas": [USER_SCHEMA],
        "id": user_id,
        "userName": "ada@example.com",
        "name": {"givenName": "Ada"},
        "emails": [{"value": "ada@example.com"}],
    }
    # A name may carry the schema's URN; id and schemas come back whatever is asked
    got = get_user(api, token, user_id, attributes=f"{USER_SCHEMA}:displayName,meta.version")
    assert got.body == {
        "schemas": [USER_SCHEMA],
        "id": user_id,
        "displayName": "Ada Lovelace",
        "meta": {"version": ada["meta"]["version"]},
    }


def test_excluded_attributes_leave_out_all_but_id_and_schemas(api: Api, token: str):
    ada = create_user(api, token, "ada@example.com", **ADA)
    user_id = ada["id"]
    expected = {k: v for k, v in ada.items() if k not in ("emails", "meta", "phoneNumbers")}
    expected["name"] = {"givenName": "Ada"}

    for reply_body in (
        get_user(api, token, user_id, excludedAttributes="emails,meta,name.familyName,phoneNumbers").body,
        list_users(api, token, excludedAttributes="emails,meta,name.familyName,phoneNumbers")["Resources"][0],
    ):
        assert reply_body == expected
    kept = get_user(api, token, user_id, excludedAttributes="id,schemas,userName").body
    assert (kept["id"], kept["schemas"]) == (user_id, [USER_SCHEMA]) and "userName" not in kept


# --- PATCH -------------------------------------------------------------------------------------------


def test_patch_applies_rfc_operations_with_paths(
    api: Api, tenant: Tenant, token: str, directory: dict[str, Any]
):
    # Given a User
    ada = create_user(api, token, "ada@example.com", **ADA)

    # When a PatchOp adds, replaces and removes by path
    reply = patch_user(
        api,
        token,
        ada["id"],
        {"op": "add", "path": "title", "value": "Director"},
        {"op": "replace", "path": "name.familyName", "value": "King"},
        {"op": "replace", "path": "displayName", "value": "Ada King"},
        {"op": "replace", "path": "phoneNumbers", "value": [{"value": "+44 20 7946 0001", "type": "work"}]},
        {"op": "replace", "path": "externalId", "value": "emp-1815"},
        {"op": "remove", "path": "name.givenName"},
    )

    # Then the answer is the changed User, with its new version
    assert reply.status == 200, reply.text
    assert reply.header("Content-Type") == SCIM_JSON
    patched = reply.body
    assert {k: patched.get(k) for k in ("title", "name", "displayName", "externalId", "phoneNumbers")} == {
        "title": "Director",
        "name": {"familyName": "King"},
        "displayName": "Ada King",
        "externalId": "emp-1815",
        "phoneNumbers": [{"value": "+44 20 7946 0001", "type": "work", "primary": True}],
    }
    assert reply.header("ETag") == patched["meta"]["version"] != ada["meta"]["version"]
    assert get_user(api, token, ada["id"]).body == patched
    # And the client changed to match
    client = client_of(api, tenant, ada["id"])
    assert {k: client.get(k) for k in ("title", "firstName", "lastName", "name", "identifier", "phone")} == {
        "title": "Director",
        "firstName": None,
        "lastName": "King",
        "name": "Ada King",
        "identifier": "emp-1815",
        "phone": "+44 20 7946 0001",
    }
    # And one client.updated event records every change, by the directory
    updated = [e for e in events_about(api, tenant, ada["id"]) if e["type"] == "client.updated"]
    assert len(updated) == 1
    assert updated[0]["actor"] == directory_actor(directory)
    assert updated[0]["changes"] == {
        "title": {"from": "Countess", "to": "Director"},
        "firstName": {"from": "Ada", "to": None},
        "lastName": {"from": "Lovelace", "to": "King"},
        "name": {"from": "Ada Lovelace", "to": "Ada King"},
        "identifier": {"from": "00u1a2b3c4D5e6F7g8", "to": "emp-1815"},
        "phone": {"from": "+44 20 7946 0000", "to": "+44 20 7946 0001"},
    }


def test_patch_takes_oktas_value_only_replaces(api: Api, tenant: Tenant, token: str):
    ada = create_user(api, token, "ada@example.com", **ADA)

    # Okta deactivates with a value-only replace
    reply = patch_user(api, token, ada["id"], {"op": "replace", "value": {"active": False}})
    assert reply.status == 200, reply.text
    assert reply.body["active"] is False
    assert client_of(api, tenant, ada["id"])["status"] == "inactive"

    # and sends nested objects, a complex attribute keeping the sub-attributes it does not name
    reply = patch_user(
        api,
        token,
        ada["id"],
        {"op": "replace", "value": {"name": {"givenName": "Augusta"}, "title": "Analyst", "active": True}},
    )
    assert reply.status == 200, reply.text
    assert (reply.body["name"], reply.body["title"], reply.body["active"]) == (
        {"givenName": "Augusta", "familyName": "Lovelace"},
        "Analyst",
        True,
    )
    client = client_of(api, tenant, ada["id"])
    assert (client["firstName"], client["lastName"], client["title"], client["status"]) == (
        "Augusta",
        "Lovelace",
        "Analyst",
        "active",
    )


def test_patch_takes_entras_forms(api: Api, tenant: Tenant, token: str, stored: Stored):
    ada = create_user(api, token, "ada@example.com", **ADA)

    # "Replace" with a capital R, and booleans as strings
    reply = patch_user(api, token, ada["id"], {"op": "Replace", "path": "active", "value": "False"})
    assert (reply.status, reply.body["active"]) == (200, False), reply.text
    assert client_of(api, tenant, ada["id"])["status"] == "inactive"
    reply = patch_user(api, token, ada["id"], {"op": "Replace", "path": "active", "value": "True"})
    assert (reply.status, reply.body["active"]) == (200, True), reply.text
    assert client_of(api, tenant, ada["id"])["status"] == "active"

    # value-only operations with dotted keys, and "Add"
    reply = patch_user(
        api,
        token,
        ada["id"],
        {"op": "Replace", "value": {"name.givenName": "Augusta", "name.familyName": "King"}},
        {"op": "Add", "path": "title", "value": "Analyst"},
    )
    assert reply.status == 200, reply.text
    assert (reply.body["name"], reply.body["title"]) == (
        {"givenName": "Augusta", "familyName": "King"},
        "Analyst",
    )
    client = client_of(api, tenant, ada["id"])
    assert (client["firstName"], client["lastName"], client["title"]) == ("Augusta", "King", "Analyst")

    # the work email's value: userName and the client's email follow it
    reply = patch_user(
        api,
        token,
        ada["id"],
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "augusta@example.com"},
    )
    assert reply.status == 200, reply.text
    assert reply.body["userName"] == "augusta@example.com"
    assert reply.body["emails"] == [{"value": "augusta@example.com", "type": "work", "primary": True}]
    assert client_of(api, tenant, ada["id"])["email"] == "augusta@example.com"
    # and the old email is free, the new one taken
    assert stored.email_owner(tenant.partner_id, "ada@example.com") is None
    assert stored.email_owner(tenant.partner_id, "augusta@example.com") == ada["id"]
    assert_scim_error(scim(api, "POST", USERS, token, user("augusta@example.com")), 409, "uniqueness")
    assert create_user(api, token, "ada@example.com")["id"] != ada["id"]


def test_patch_of_attributes_not_kept_is_accepted_and_changes_nothing(
    api: Api, tenant: Tenant, token: str, stored: Stored
):
    ada = create_user(api, token, "ada@example.com", **ADA)
    version = version_of(stored, tenant, ada["id"])

    reply = patch_user(
        api,
        token,
        ada["id"],
        {"op": "Add", "path": f"{ENTERPRISE}:department", "value": "Analytical Engines"},
        {"op": "replace", "value": {"nickName": "Enchantress"}},
    )

    assert reply.status == 200, reply.text
    assert ENTERPRISE not in reply.body and "nickName" not in reply.body
    assert "Analytical Engines" not in reply.text and "Enchantress" not in reply.text
    assert reply.body == get_user(api, token, ada["id"]).body
    assert version_of(stored, tenant, ada["id"]) == version
    assert [e["type"] for e in events_about(api, tenant, ada["id"])] == ["client.registered"]


def test_patch_remove_title_clears_it(api: Api, tenant: Tenant, token: str):
    ada = create_user(api, token, "ada@example.com", **ADA)

    reply = patch_user(api, token, ada["id"], {"op": "remove", "path": "title"})

    assert reply.status == 200, reply.text
    assert "title" not in reply.body
    assert "title" not in client_of(api, tenant, ada["id"])
    (updated,) = [e for e in events_about(api, tenant, ada["id"]) if e["type"] == "client.updated"]
    assert updated["changes"] == {"title": {"from": "Countess", "to": None}}


def operations(*ops: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(ops)}


REFUSED_PATCHES: list[tuple[Any, str]] = [
    (operations({"op": "move", "path": "title", "value": "x"}), "invalidSyntax"),
    (operations({"path": "title", "value": "x"}), "invalidSyntax"),
    (operations({"op": "replace", "path": "title"}), "invalidSyntax"),
    (operations({"op": "replace", "path": "shoeSize", "value": "9"}), "invalidPath"),
    (operations({"op": "replace", "path": "name.nickname", "value": "x"}), "invalidPath"),
    (operations({"op": "replace", "path": "emails[value zz 1]", "value": "x"}), "invalidPath"),
    (operations({"op": "replace", "value": {"shoeSize": "9"}}), "invalidPath"),
    (operations({"op": "replace", "path": "id", "value": str(uuid.uuid4())}), "mutability"),
    (operations({"op": "remove", "path": "id"}), "mutability"),
    (operations({"op": "remove", "path": "userName"}), "mutability"),
    (operations({"op": "replace", "path": "meta.created", "value": "2000-01-01T00:00:00Z"}), "mutability"),
    (operations({"op": "remove"}), "noTarget"),
    (operations({"op": "remove", "path": 'emails[type eq "home"]'}), "noTarget"),
    (operations({"op": "replace", "path": "active", "value": "perhaps"}), "invalidValue"),
    (operations({"op": "replace", "path": "userName", "value": "not-an-email"}), "invalidValue"),
    (operations({"op": "replace", "path": "title", "value": 42}), "invalidValue"),
    ("this is not JSON", "invalidSyntax"),
    ({"schemas": [PATCH_OP]}, "invalidSyntax"),
    ({"schemas": [PATCH_OP], "Operations": []}, "invalidSyntax"),
    ({"schemas": [PATCH_OP], "Operations": "replace title"}, "invalidSyntax"),
    ({"schemas": [PATCH_OP], "Operations": ["replace"]}, "invalidSyntax"),
]


def test_a_patch_the_protocol_refuses_is_400_and_changes_nothing(
    api: Api, tenant: Tenant, token: str, stored: Stored
):
    # Given a User
    ada = create_user(api, token, "ada@example.com", **ADA)
    before = stored.snapshot(tenant.partner_id)

    # When malformed PatchOps, or ones naming what cannot be changed, are sent
    wrong = {}
    for body, scim_type in REFUSED_PATCHES:
        reply = scim(api, "PATCH", f"{USERS}/{ada['id']}", token, body)
        # Then each is 400 with the scimType saying why
        if (reply.status, (reply.body or {}).get("scimType")) != (400, scim_type):
            wrong[json.dumps(body)] = (scim_type, reply.text)
        else:
            assert_scim_error(reply, 400, scim_type)
    assert wrong == {}
    # And the client, its email and its events are as they were
    assert stored.snapshot(tenant.partner_id) == before


def test_a_patch_that_fails_part_way_applies_none_of_its_operations(
    api: Api, tenant: Tenant, token: str, stored: Stored
):
    ada = create_user(api, token, "ada@example.com", **ADA)
    before = stored.client(tenant.partner_id, ada["id"])

    reply = patch_user(
        api,
        token,
        ada["id"],
        {"op": "replace", "path": "title", "value": "Director"},
        {"op": "replace", "path": "shoeSize", "value": "9"},
    )

    assert_scim_error(reply, 400, "invalidPath")
    assert stored.client(tenant.partner_id, ada["id"]) == before


# --- PUT ---------------------------------------------------------------------------------------------


def test_put_replaces_the_user_clearing_what_it_leaves_out(api: Api, tenant: Tenant, token: str):
    # Given a client registered through the API, with fields SCIM does not manage
    client = register(
        api,
        tenant,
        "ada@example.com",
        "Ada Lovelace",
        firstName="Ada",
        lastName="Lovelace",
        title="Countess",
        phone="+44 20 7946 0000",
        identifier="emp-1815",
        company="Analytical Engines Ltd",
        metadata={"crm": "42"},
    )

    # When the provider PUTs a User with fewer attributes
    reply = put_user(
        api,
        token,
        client["clientId"],
        user("ada@example.com", name={"givenName": "Augusta", "familyName": "King"}, active=False),
    )

    # Then the mapped attributes it left out are cleared, and what SCIM does not manage is kept
    assert reply.status == 200, reply.text
    replaced = reply.body
    assert {
        k: replaced.get(k) for k in ("name", "displayName", "active", "title", "externalId", "phoneNumbers")
    } == {
        "name": {"givenName": "Augusta", "familyName": "King"},
        "displayName": "Augusta King",
        "active": False,
        "title": None,
        "externalId": None,
        "phoneNumbers": None,
    }
    assert reply.header("ETag") == replaced["meta"]["version"]
    after = client_of(api, tenant, client["clientId"])
    assert {
        k: after.get(k) for k in ("name", "firstName", "lastName", "status", "title", "phone", "identifier")
    } == {
        "name": "Augusta King",
        "firstName": "Augusta",
        "lastName": "King",
        "status": "inactive",
        "title": None,
        "phone": None,
        "identifier": None,
    }
    assert (after["company"], after["metadata"]) == ("Analytical Engines Ltd", {"crm": "42"})


def test_put_to_another_clients_email_is_a_uniqueness_conflict(
    api: Api, tenant: Tenant, token: str, stored: Stored
):
    ada = create_user(api, token, "ada@example.com")
    create_user(api, token, "grace@example.org")
    before = stored.client(tenant.partner_id, ada["id"])

    reply = put_user(api, token, ada["id"], user("GRACE@example.org"))

    assert_scim_error(reply, 409, "uniqueness")
    assert stored.client(tenant.partner_id, ada["id"]) == before


# --- ETags -------------------------------------------------------------------------------------------


def test_the_etag_is_the_version_everywhere(api: Api, tenant: Tenant, token: str):
    created = scim(api, "POST", USERS, token, user("ada@example.com"))
    got = get_user(api, token, created.body["id"])

    assert ETAG_RE.match(created.header("ETag") or "")
    assert created.header("ETag") == got.header("ETag") == created.body["meta"]["version"]
    assert got.body["meta"]["version"] == created.header("ETag")
    api_get = api.call("GET", f"{CLIENTS}/{created.body['id']}", token=tenant.token)
    assert api_get.header("ETag") == created.header("ETag")


def test_if_none_match_answers_304_while_current(api: Api, token: str):
    created = scim(api, "POST", USERS, token, user("ada@example.com"))
    user_id, current = created.body["id"], created.header("ETag") or ""

    for offered in (current, f"W/{current}", f'"stale", {current}', "*"):
        reply = scim(api, "GET", f"{USERS}/{user_id}", token, headers={"If-None-Match": offered})
        assert reply.status == 304, (offered, reply.text)
        assert reply.text == ""
        assert reply.header("ETag") == current

    # After a change, the old ETag is stale: the User comes back whole, with the new ETag
    changed = patch_user(api, token, user_id, {"op": "replace", "path": "title", "value": "CTO"})
    reply = scim(api, "GET", f"{USERS}/{user_id}", token, headers={"If-None-Match": current})
    assert reply.status == 200, reply.text
    assert reply.body["title"] == "CTO"
    assert reply.header("ETag") == changed.header("ETag") != current


def test_a_stale_if_match_is_412_and_changes_nothing(api: Api, tenant: Tenant, token: str, stored: Stored):
    # Given a User changed since the provider read it
    created = scim(api, "POST", USERS, token, user("ada@example.com", title="Countess"))
    user_id, stale = created.body["id"], created.header("ETag") or ""
    changed = patch_user(api, token, user_id, {"op": "replace", "path": "title", "value": "Analyst"})
    assert changed.status == 200, changed.text
    before = stored.snapshot(tenant.partner_id)

    # When PUT, PATCH and DELETE are sent with the stale ETag
    condition = {"If-Match": stale}
    replies = [
        put_user(api, token, user_id, user("ada@example.com", title="Director"), headers=condition),
        patch_user(
            api, token, user_id, {"op": "replace", "path": "title", "value": "Director"}, headers=condition
        ),
        delete_user(api, token, user_id, headers=condition),
    ]

    # Then each is 412 and nothing is changed: not the client, not its events
    for reply in replies:
        assert_scim_error(reply, 412)
    assert stored.snapshot(tenant.partner_id) == before
    assert get_user(api, token, user_id).body["title"] == "Analyst"


def test_a_current_if_match_lets_each_write_through(api: Api, tenant: Tenant, token: str):
    created = scim(api, "POST", USERS, token, user("ada@example.com"))
    user_id = created.body["id"]

    replaced = put_user(
        api,
        token,
        user_id,
        user("ada@example.com", title="Director"),
        headers={"If-Match": created.header("ETag") or ""},
    )
    assert (replaced.status, replaced.body["title"]) == (200, "Director"), replaced.text
    patched = patch_user(
        api,
        token,
        user_id,
        {"op": "replace", "path": "title", "value": "Analyst"},
        headers={"If-Match": replaced.header("ETag") or ""},
    )
    assert (patched.status, patched.body["title"]) == (200, "Analyst"), patched.text
    deleted = delete_user(api, token, user_id, headers={"If-Match": patched.header("ETag") or ""})
    assert deleted.status == 204, deleted.text
    assert client_of(api, tenant, user_id)["status"] == "deleted"


# --- DELETE ------------------------------------------------------------------------------------------


def test_delete_removes_the_client_as_the_partner_api_does(
    api: Api, tenant: Tenant, token: str, directory: dict[str, Any], stored: Stored
):
    # Given a User
    ada = create_user(api, token, "ada@example.com", **ADA)

    # When it is deleted
    reply = delete_user(api, token, ada["id"])

    # Then the answer is 204 without a body, and the client is soft-deleted, its email freed
    assert reply.status == 204, reply.text
    assert reply.text == ""
    client = client_of(api, tenant, ada["id"])
    assert client["status"] == "deleted" and TIMESTAMP_RE.match(client["removedAt"])
    assert stored.email_owner(tenant.partner_id, "ada@example.com") is None
    # And over SCIM it is gone: 404 to GET, PUT, PATCH and DELETE, absent from every list
    assert_scim_error(get_user(api, token, ada["id"]), 404)
    assert_scim_error(put_user(api, token, ada["id"], user("ada@example.com")), 404)
    assert_scim_error(patch_user(api, token, ada["id"], {"op": "replace", "value": {"active": True}}), 404)
    assert_scim_error(delete_user(api, token, ada["id"]), 404)
    assert list_users(api, token)["totalResults"] == 0
    # And its removal is one client.removed event, by the directory
    (removed,) = [e for e in events_about(api, tenant, ada["id"]) if e["type"] == "client.removed"]
    assert removed["actor"] == directory_actor(directory)
    # And the email can be provisioned again, as a new User
    again = create_user(api, token, "ada@example.com")
    assert again["id"] != ada["id"]


def test_an_unknown_user_is_404_in_scims_body(api: Api, token: str):
    create_user(api, token, "ada@example.com")
    for user_id in (str(uuid.uuid4()), "not-a-uuid", "00000000-0000-0000-0000-00000000000Z"):
        assert_scim_error(get_user(api, token, user_id), 404)
        assert_scim_error(put_user(api, token, user_id, user("x@example.com")), 404)
        assert_scim_error(patch_user(api, token, user_id, {"op": "replace", "value": {"title": "x"}}), 404)
        assert_scim_error(delete_user(api, token, user_id), 404)


# --- seats -------------------------------------------------------------------------------------------


def test_an_account_directory_is_bound_by_the_seats_cap(api: Api, tenant: Tenant, stored: Stored):
    # Given a directory bound to an account of 2 seats
    account = create_account(
        api, tenant.token, "TwoSeats", consumables=[{"type": "SEATS", "attributes": {"cap": 2}}]
    )
    account_id = account["accountId"]
    directory = create_directory(api, tenant.token, "Okta (retail)", accountId=account_id)
    token = directory["token"]

    # When the provider creates two Users, then a third
    first = create_user(api, token, "one@example.com")
    second = create_user(api, token, "two@example.com")
    before = stored.snapshot(tenant.partner_id)
    third = scim(api, "POST", USERS, token, user("three@example.com"))

    # Then the two are clients of the account, and the third is 403 naming the cap, storing nothing
    assert [client_of(api, tenant, u["id"])["accountId"] for u in (first, second)] == [account_id] * 2
    assert seats_used(api, tenant, account_id) == 2
    body = assert_scim_error(third, 403)
    assert "cap" in body["detail"] and "SEATS" in body["detail"]
    assert stored.snapshot(tenant.partner_id) == before
    assert stored.email_owner(tenant.partner_id, "three@example.com") is None

    # When one is deactivated, its seat is free for another
    off = patch_user(api, token, first["id"], {"op": "replace", "value": {"active": False}})
    assert (off.status, off.body["active"]) == (200, False), off.text
    assert seats_used(api, tenant, account_id) == 1
    third_again = create_user(api, token, "three@example.com")
    assert client_of(api, tenant, third_again["id"])["accountId"] == account_id
    assert seats_used(api, tenant, account_id) == 2

    # And reactivating the first while the account is full is 403, leaving it inactive
    for attempt in (
        patch_user(api, token, first["id"], {"op": "Replace", "path": "active", "value": "True"}),
        put_user(api, token, first["id"], user("one@example.com", active=True)),
    ):
        assert "cap" in assert_scim_error(attempt, 403)["detail"]
    assert client_of(api, tenant, first["id"])["status"] == "inactive"
    assert get_user(api, token, first["id"]).body["active"] is False
    assert seats_used(api, tenant, account_id) == 2


def test_a_user_created_inactive_in_a_full_account_takes_no_seat(api: Api, tenant: Tenant):
    # Given a directory of a full account (1 seat, taken)
    account = create_account(
        api, tenant.token, "OneSeat", consumables=[{"type": "SEATS", "attributes": {"cap": 1}}]
    )
    token = create_directory(api, tenant.token, accountId=account["accountId"])["token"]
    create_user(api, token, "one@example.com")

    # When the provider creates a suspended User (active: false)
    reply = scim(api, "POST", USERS, token, user("suspended@example.com", active=False))

    # Then it is created inactive, holding no seat ("SEATS cap bounds what the provider can
    # create or activate": an inactive client is neither)
    assert reply.status == 201, reply.text
    assert reply.body["active"] is False
    client = client_of(api, tenant, reply.body["id"])
    assert (client["status"], client["accountId"]) == ("inactive", account["accountId"])
    assert seats_used(api, tenant, account["accountId"]) == 1


# --- who sees what -----------------------------------------------------------------------------------


def assert_out_of_reach(api: Api, token: str, client_id: str, email: str) -> None:
    """A client a directory may not manage: 404 to every User route, found by no list or filter."""
    assert_scim_error(get_user(api, token, client_id), 404)
    assert_scim_error(put_user(api, token, client_id, user(email, title="Taken")), 404)
    assert_scim_error(patch_user(api, token, client_id, {"op": "replace", "value": {"active": False}}), 404)
    assert_scim_error(delete_user(api, token, client_id), 404)
    assert client_id not in [r["id"] for r in list_users(api, token, count="200")["Resources"]]
    assert found(api, token, f'userName eq "{email}"') == []
    assert found(api, token, f'emails[value eq "{email}"]') == []
    assert found(api, token, f'userName co "{email.split("@")[0]}"') == []


def test_another_tenants_clients_are_out_of_reach(
    api: Api, tenant: Tenant, other_tenant: Tenant, token: str, stored: Stored
):
    # Given a client of another tenant
    theirs = register(api, other_tenant, "theirs@example.com", title="Theirs")
    before = stored.snapshot(other_tenant.partner_id)

    # Then this tenant's directory can neither see nor change it
    assert_out_of_reach(api, token, theirs["clientId"], "theirs@example.com")
    assert stored.snapshot(other_tenant.partner_id) == before
    # And the same email is free in this tenant
    assert create_user(api, token, "theirs@example.com")["id"] != theirs["clientId"]


def test_a_sub_partners_directory_reaches_only_its_subtree(api: Api, tenant: Tenant, stored: Stored):
    # Given sibling sub-partners West and East, West's child, and a client of each and of the root
    west = create_partner(api, tenant.token, "Branch West")
    east = create_partner(api, tenant.token, "Branch East")
    west_child = create_partner(api, tenant.token, "West One", parent={"partnerId": west["partnerId"]})
    roots = register(api, tenant, "root@example.com")
    easts = register(api, tenant, "east@example.com", partnerId=east["partnerId"])
    wests = register(api, tenant, "west@example.com", partnerId=west["partnerId"])
    childs = register(api, tenant, "westone@example.com", partnerId=west_child["partnerId"])
    directory = create_directory(api, tenant.token, "West Okta", partnerId=west["partnerId"])
    token = directory["token"]
    before = stored.snapshot(tenant.partner_id)

    # Then West's directory sees West's and its child's clients, by list and by userName
    assert [r["id"] for r in list_users(api, token)["Resources"]] == [wests["clientId"], childs["clientId"]]
    assert found(api, token, 'userName eq "westone@example.com"') == [childs["clientId"]]
    # And neither its sibling's nor its parent's, even by userName
    assert_out_of_reach(api, token, easts["clientId"], "east@example.com")
    assert_out_of_reach(api, token, roots["clientId"], "root@example.com")
    assert stored.snapshot(tenant.partner_id) == before

    # And what it creates belongs to West, by the directory
    made = create_user(api, token, "new.west@example.com")
    assert client_of(api, tenant, made["id"])["partnerId"] == west["partnerId"]
    (registered,) = events_about(api, tenant, made["id"])
    assert registered["partnerId"] == west["partnerId"]
    assert registered["actor"] == directory_actor(directory)


def test_an_account_directory_reaches_only_the_accounts_clients(api: Api, tenant: Tenant, stored: Stored):
    # Given two accounts of the partner, a client in each, and one in none
    retail = create_account(api, tenant.token, "Retail")["accountId"]
    wholesale = create_account(api, tenant.token, "Wholesale")["accountId"]
    inside = register(api, tenant, "inside@example.com", accountId=retail)
    other_account = register(api, tenant, "wholesale@example.com", accountId=wholesale)
    no_account = register(api, tenant, "unplaced@example.com")
    token = create_directory(api, tenant.token, "Retail Okta", accountId=retail)["token"]
    before = stored.snapshot(tenant.partner_id)

    # Then the directory sees only the account's client
    assert [r["id"] for r in list_users(api, token)["Resources"]] == [inside["clientId"]]
    assert get_user(api, token, inside["clientId"]).status == 200
    # And the partner's other clients are out of its reach
    assert_out_of_reach(api, token, other_account["clientId"], "wholesale@example.com")
    assert_out_of_reach(api, token, no_account["clientId"], "unplaced@example.com")
    assert stored.snapshot(tenant.partner_id) == before


# --- tokens ------------------------------------------------------------------------------------------


def every_route(api: Api, token: str | None, user_id: str) -> list[Reply]:
    """One request to each User route with ``token``."""
    return [
        scim(api, "GET", USERS, token),
        scim(api, "GET", USERS, token, query={"filter": 'userName eq "ada@example.com"'}),
        get_user(api, token, user_id),
        scim(api, "POST", USERS, token, user("someone.new@example.com")),
        put_user(api, token, user_id, user("ada@example.com", title="Hijacked")),
        patch_user(api, token, user_id, {"op": "replace", "path": "title", "value": "Hijacked"}),
        delete_user(api, token, user_id),
    ]


def test_after_rotation_the_old_token_is_refused_at_once_and_the_new_one_works(
    api: Api, tenant: Tenant, directory: dict[str, Any], token: str, stored: Stored
):
    # Given a User the old token made and read (this container has the token's standing cached)
    ada = create_user(api, token, "ada@example.com", title="Countess")
    assert get_user(api, token, ada["id"]).status == 200
    assert list_users(api, token)["totalResults"] == 1

    # When the token is rotated
    reply = rotate(api, tenant.token, directory["directoryId"])
    new = assert_success(reply, 200, "Directory token rotated successfully.")["token"]
    before = stored.snapshot(tenant.partner_id)

    # Then every User route refuses the old token, with no cache cleared in between, changing nothing
    for refused in every_route(api, token, ada["id"]):
        assert_unauthorized(refused)
    assert stored.snapshot(tenant.partner_id) == before

    # And the new token works
    assert get_user(api, new, ada["id"]).body["title"] == "Countess"
    assert [r["id"] for r in list_users(api, new)["Resources"]] == [ada["id"]]
    patched = patch_user(api, new, ada["id"], {"op": "replace", "path": "title", "value": "Analyst"})
    assert (patched.status, patched.body["title"]) == (200, "Analyst")


def test_after_the_directory_is_deleted_its_token_is_refused_and_its_clients_stay(
    api: Api, tenant: Tenant, directory: dict[str, Any], token: str, stored: Stored
):
    # Given a User the token made and read
    ada = create_user(api, token, "ada@example.com", title="Countess")
    assert get_user(api, token, ada["id"]).status == 200

    # When the directory is deleted
    assert delete_directory(api, tenant.token, directory["directoryId"]).status == 200
    before = stored.snapshot(tenant.partner_id)

    # Then every User route refuses its token, changing nothing
    for refused in every_route(api, token, ada["id"]):
        assert_unauthorized(refused)
    assert stored.snapshot(tenant.partner_id) == before
    # And the client it made stays
    assert client_of(api, tenant, ada["id"])["status"] == "active"


def test_only_a_directory_token_is_taken(api: Api, tenant: Tenant, token: str):
    ada = create_user(api, token, "ada@example.com")

    # A partner access token, no Authorization, another scheme, an unknown directory token
    for credential in (tenant.token, None, "scim_" + "A" * 43):
        for refused in every_route(api, credential, ada["id"]):
            assert_unauthorized(refused)
    for header in (f"Basic {token}", token, f"Bearer {token[:-1]}", "Bearer"):
        refused = scim(api, "GET", USERS, None, headers={"Authorization": header})
        assert_unauthorized(refused)
    assert client_of(api, tenant, ada["id"]).get("title") is None


# --- audit events and webhooks -----------------------------------------------------------------------


def test_every_change_is_an_event_by_the_directory(
    api: Api, tenant: Tenant, directory: dict[str, Any], token: str
):
    # Given a User created, updated, deactivated and deleted over SCIM
    created = scim(api, "POST", USERS, token, user("ada@example.com", title="Countess"))
    user_id = created.body["id"]
    updated = patch_user(api, token, user_id, {"op": "replace", "path": "title", "value": "Analyst"})
    deactivated = patch_user(api, token, user_id, {"op": "Replace", "path": "active", "value": "False"})
    deleted = delete_user(api, token, user_id)
    assert [r.status for r in (created, updated, deactivated, deleted)] == [201, 200, 200, 204]

    # Then GET /partner/v1/events lists one event for each, by the directory, for its request
    events = events_about(api, tenant, user_id)
    assert [(e["type"], e["changes"].get("title"), e["changes"].get("status")) for e in events] == [
        ("client.registered", {"from": None, "to": "Countess"}, {"from": None, "to": "active"}),
        ("client.updated", {"from": "Countess", "to": "Analyst"}, None),
        ("client.updated", None, {"from": "active", "to": "inactive"}),
        ("client.removed", None, {"from": "inactive", "to": "deleted"}),
    ]
    for event, reply in zip(events, (created, updated, deactivated, deleted), strict=True):
        assert (
            event["actor"]
            == directory_actor(directory)
            == {
                "type": "directory",
                "directoryId": directory["directoryId"],
                "partnerId": tenant.partner_id,
            }
        )
        assert event["partnerId"] == tenant.partner_id
        assert event["resource"] == {"type": "client", "id": user_id}
        assert event["requestId"] == reply.header("x-request-id")


def test_a_scim_delete_delivers_a_client_removed_webhook(
    api: Api, stack: Stack, tenant: Tenant, directory: dict[str, Any], token: str, receiver: Receiver
):
    # Given a webhook hearing client.removed, and a User the directory made
    webhook = create_webhook(api, tenant, receiver.url, events=["client.removed"])
    pump: Pump = pipeline(stack)
    ada = create_user(api, token, "ada@example.com")
    pump()
    assert receiver.requests == []

    # When the provider deletes the User and the pipeline runs
    assert delete_user(api, token, ada["id"]).status == 204
    pump()

    # Then the webhook gets the client.removed event, signed, by the directory
    (request,) = receiver.requests
    (removed,) = [e for e in events_about(api, tenant, ada["id"]) if e["type"] == "client.removed"]
    assert request.headers["webhook-id"] == removed["eventId"]
    delivered = verify(webhook["secret"], request)
    assert delivered == {"type": "client.removed", "timestamp": removed["occurredAt"], "data": removed}
    assert delivered["data"]["actor"] == directory_actor(directory)
    assert delivered["data"]["resource"] == {"type": "client", "id": ada["id"]}


# --- methods -----------------------------------------------------------------------------------------


def test_an_undeclared_method_is_405_with_allow_in_scims_body(api: Api, token: str):
    ada = create_user(api, token, "ada@example.com")

    for method, path, allow in (
        ("POST", f"{USERS}/{ada['id']}", "DELETE, GET, PATCH, PUT"),
        ("DELETE", USERS, "GET, POST"),
        ("PUT", USERS, "GET, POST"),
        ("PATCH", "/scim/v2/ServiceProviderConfig", "GET"),
    ):
        reply = scim(api, method, path, token, {} if method != "DELETE" else None)
        body = assert_scim_error(reply, 405)
        assert reply.header("Allow") == allow, (method, path)
        assert method in body["detail"]
    assert get_user(api, token, ada["id"]).status == 200
