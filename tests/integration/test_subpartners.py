"""Sub-partners (API.md section 5): create, list, read, change and remove partners of the caller's
subtree; what a sub-partner's credential may see; the client report; the welcome email.

Everything goes through the template's routes (``api.call``) and is checked against the stored
items and event rows, read with plain boto3. The one race (a partner's removal against a client
registration for it) runs the logic functions on threads, as test_concurrency.py does.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from local.run import GatewayResponses, InProcessRunner
from local.stack import Stack
from local.triggers import Triggers
from partner_api.errors import PartnerNotEmpty, PartnerNotFound
from partner_api.models.clients import ClientCreate
from tests.conftest import Credential, Tenant, shared_session, token_for
from tests.support.apigw import Api, Reply
from tests.support.clients import (
    CLIENTS,
    STATUSES,
    TIMESTAMP_RE,
    UUID_RE,
    Stored,
    assert_error,
    assert_success,
    register,
)
from tests.support.logic_callers import actor_of, on_threads, principal_of

PARTNERS = "/partner/v1/partners"
CREDENTIALS = "/partner/v1/credentials"
REPORT = "/partner/v1/reports/clients"
EVENTS = "/partner/v1/events"
WEBHOOKS = "/partner/v1/webhooks"
# Always present in a partner; billingId, domains, contact and parent only when set / visible.
PARTNER_KEYS = {
    "partnerId",
    "name",
    "reference",
    "status",
    "active",
    "hasVerificationPhrase",
    "createdAt",
    "updatedAt",
}
CONTACT = {"firstName": "Jane", "lastName": "Doe", "email": "jane.doe@west.example"}
WELCOME_SENDER = "welcome@example.com"


# --- helpers -----------------------------------------------------------------------------------------


class Tables(Stored):
    """``Stored`` plus the partner tree's items: partner records, counters, reference claims."""

    def partner(self, tenant_id: str, partner_id: str) -> dict[str, Any] | None:
        return self._get(self.tenants_table, f"TENANT#{tenant_id}", f"PARTNER#{partner_id}")

    def counter(self, tenant_id: str, partner_id: str) -> dict[str, Any] | None:
        return self._get(self.tenants_table, f"TENANT#{tenant_id}", f"COUNTS#{partner_id}")

    def children(self, tenant_id: str, partner_id: str) -> int:
        return int((self.counter(tenant_id, partner_id) or {}).get("children", 0))

    def reference_owner(self, tenant_id: str, reference: str) -> str | None:
        item = self._get(self.tenants_table, f"TENANT#{tenant_id}", f"REFERENCE#{reference.lower()}")
        return item["partnerId"] if item else None

    def partner_events(self, tenant_id: str, event_type: str, partner_id: str) -> list[dict[str, Any]]:
        return self.events(tenant_id, event_type, partner_id)


@pytest.fixture
def tables(stack: Stack) -> Tables:
    return Tables(stack)


def create_partner(api: Api, token: str, name: str, **fields: Any) -> dict[str, Any]:
    """Given-step helper: a sub-partner through POST /partner/v1/partners; returns its data."""
    reply = api.call("POST", PARTNERS, token=token, json_body={"name": name, **fields})
    return assert_success(reply, 201, "Partner created successfully.")  # type: ignore[no-any-return]


def under(parent_id: str) -> dict[str, Any]:
    return {"parent": {"partnerId": parent_id}}


def list_partners(api: Api, token: str, **query: str) -> dict[str, Any]:
    reply = api.call("GET", PARTNERS, token=token, query=query or None)
    return assert_success(reply, 200, "Partners retrieved successfully.")  # type: ignore[no-any-return]


def ids(items: list[dict[str, Any]], key: str = "partnerId") -> list[str]:
    return [i[key] for i in items]


def get_partner(api: Api, token: str, partner_id: str) -> Reply:
    return api.call("GET", f"{PARTNERS}/{partner_id}", token=token)


def patch_partner(
    api: Api, token: str, partner_id: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Reply:
    return api.call("PATCH", f"{PARTNERS}/{partner_id}", token=token, json_body=body, headers=headers)


def delete_partner(api: Api, token: str, partner_id: str) -> Reply:
    return api.call("DELETE", f"{PARTNERS}/{partner_id}", token=token)


@dataclass
class Member:
    """A sub-partner with a credential of its own (issued by the root) and a token of it."""

    partner: dict[str, Any]
    credential: Credential
    token: str

    @property
    def id(self) -> str:
        return str(self.partner["partnerId"])


def member(api: Api, root: Tenant, partner: dict[str, Any]) -> Member:
    reply = api.call("POST", CREDENTIALS, token=root.token, json_body={"partnerId": partner["partnerId"]})
    data = assert_success(reply, 201, "Credential created successfully.")
    assert data["partnerId"] == partner["partnerId"]
    credential = Credential(data["clientId"], data["clientSecret"])
    return Member(partner, credential, token_for(api, credential))


@dataclass
class Family:
    """Root R with children A and B (created in that order) and A's child A1, each with a token."""

    root: Tenant
    a: Member
    b: Member
    a1: Member


@pytest.fixture
def family(api: Api, tenant: Tenant) -> Family:
    a = create_partner(api, tenant.token, "Branch A", reference="branch-a")
    b = create_partner(api, tenant.token, "Branch B", reference="branch-b")
    a1 = create_partner(api, tenant.token, "Branch A One", reference="branch-a1", **under(a["partnerId"]))
    return Family(tenant, member(api, tenant, a), member(api, tenant, b), member(api, tenant, a1))


def forget_standing() -> None:
    """What the standing cache's 60 s lifetime does to a warm container."""
    from partner_api.auth import tokens

    tokens.forget_standing()


def hold_writes_until_both_read(monkeypatch: pytest.MonkeyPatch, targets: list[str]) -> None:
    """Make each thread's first transaction (through any of ``targets``) wait until every thread has
    reached its own: all reads are done before any write. Later calls pass straight through."""
    barrier = threading.Barrier(len(targets))
    local = threading.local()
    for target in targets:
        module_name, name = target.rsplit(".", 1)
        real = getattr(__import__(module_name, fromlist=[name]), name)

        def held(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
            if not getattr(local, "called", False):
                local.called = True
                barrier.wait(timeout=60)
            return _real(*args, **kwargs)

        monkeypatch.setattr(target, held)


Pump = Callable[[], int]


def pipeline(stack: Stack) -> Pump:
    """The template's stream and queue triggers with the real handlers, run in process."""
    runner = InProcessRunner(GatewayResponses({}))
    return Triggers(stack, runner.call, session=shared_session()).pump


@pytest.fixture
def outbox(stack: Stack) -> list[Any]:
    """moto's record of the emails SES sent."""
    from moto.ses.models import ses_backends

    return ses_backends[stack.account_id][stack.region].sent_messages  # type: ignore[no-any-return]


# --- POST /partner/v1/partners ---------------------------------------------------------------------


def test_create_answers_the_new_partner_and_stores_it_with_its_counter_and_event(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    # Given a root partner with no children yet
    assert tables.children(tenant.partner_id, tenant.partner_id) == 0

    # When it creates a sub-partner with a contact
    reply = api.call(
        "POST",
        PARTNERS,
        token=tenant.token,
        json_body={
            "name": "Acme West",
            "billingId": "BILL-1",
            "domains": ["west.example"],
            "contact": CONTACT,
        },
        headers={"x-request-id": "create-west"},
    )

    # Then it answers 201 with the partner, its parent, its reference defaulting to its id
    data = assert_success(reply, 201, "Partner created successfully.")
    partner_id = data["partnerId"]
    assert UUID_RE.match(partner_id)
    assert set(data) == PARTNER_KEYS | {"parent", "contact", "billingId", "domains"}
    assert data["name"] == "Acme West" and data["reference"] == partner_id
    assert (data["status"], data["active"], data["hasVerificationPhrase"]) == ("active", True, False)
    assert data["parent"] == {"partnerId": tenant.partner_id, "name": "Acme Partner"}
    assert data["contact"] == {**CONTACT, "active": True}
    assert (data["billingId"], data["domains"]) == ("BILL-1", ["west.example"])
    assert TIMESTAMP_RE.match(data["createdAt"]) and data["updatedAt"] == data["createdAt"]
    etag = reply.header("ETag")
    assert etag and etag == get_partner(api, tenant.token, partner_id).header("ETag")
    # and the partner item sits below the root, one level deep
    item = tables.partner(tenant.partner_id, partner_id) or {}
    assert item["path"] == [tenant.partner_id, partner_id] and item["depth"] == 1
    assert (item["tenantId"], item["status"], item["name"]) == (tenant.partner_id, "active", "Acme West")
    # its reference is claimed, it has a zeroed counter, and the root counts one live child
    assert tables.reference_owner(tenant.partner_id, partner_id) == partner_id
    counter = tables.counter(tenant.partner_id, partner_id) or {}
    assert counter["path"] == item["path"] and counter["children"] == 0
    assert all(counter[f"{s}_{st}"] == 0 for s in ("own", "tree") for st in STATUSES)
    assert "closed" not in counter
    assert tables.children(tenant.partner_id, tenant.partner_id) == 1
    # and one partner.created event records it
    (event,) = tables.partner_events(tenant.partner_id, "partner.created", partner_id)
    assert event["partnerId"] == partner_id and event["requestId"] == "create-west"
    assert event["actor"]["partnerId"] == tenant.partner_id
    assert event["changes"]["name"] == {"from": None, "to": "Acme West"}


def test_parent_may_be_named_by_id_or_by_name_in_any_case(api: Api, tenant: Tenant, tables: Tables) -> None:
    # Given a sub-partner "West Region"
    west = create_partner(api, tenant.token, "West Region")

    # When two partners are created under it, by id and by name in another case
    by_id = create_partner(api, tenant.token, "Seattle", **under(west["partnerId"]))
    by_name = create_partner(api, tenant.token, "Portland", parent={"name": "wEST rEGION"})

    # Then both are its children, two levels below the root
    for child in (by_id, by_name):
        assert child["parent"] == {"partnerId": west["partnerId"], "name": "West Region"}
        item = tables.partner(tenant.partner_id, child["partnerId"]) or {}
        assert item["path"] == [tenant.partner_id, west["partnerId"], child["partnerId"]]
        assert item["depth"] == 2
    assert tables.children(tenant.partner_id, west["partnerId"]) == 2
    assert tables.children(tenant.partner_id, tenant.partner_id) == 1


def test_an_ambiguous_parent_name_is_invalid(api: Api, tenant: Tenant, tables: Tables) -> None:
    # Given two partners named "Twin" (in different places of the tree)
    first = create_partner(api, tenant.token, "Twin")
    nested = create_partner(api, tenant.token, "TWIN", **under(first["partnerId"]))
    before = tables.snapshot(tenant.partner_id)

    # When a partner names "twin" as its parent
    reply = api.call(
        "POST", PARTNERS, token=tenant.token, json_body={"name": "X", "parent": {"name": "twin"}}
    )

    # Then it is refused and nothing is stored
    assert_error(reply, 400, "INVALID_PARAMETER", field="parent.name")
    assert tables.snapshot(tenant.partner_id) == before
    # and once one twin is removed, the name points at the other
    assert delete_partner(api, tenant.token, nested["partnerId"]).status == 200
    child = create_partner(api, tenant.token, "X", parent={"name": "twin"})
    assert child["parent"] == {"partnerId": first["partnerId"], "name": "Twin"}


def test_an_unknown_or_foreign_parent_is_partner_not_found(
    api: Api, tenant: Tenant, other_tenant: Tenant, tables: Tables
) -> None:
    # Given a partner in another tenant
    foreign = create_partner(api, other_tenant.token, "Elsewhere")
    before = tables.snapshot(tenant.partner_id)

    # When the tenant names as parent an unknown id, an unknown name, or the other tenant's partners
    parents = [
        {"partnerId": str(uuid.uuid4())},
        {"name": "Nobody"},
        {"partnerId": foreign["partnerId"]},
        {"partnerId": other_tenant.partner_id},
        {"name": "Elsewhere"},
    ]
    replies = [
        api.call("POST", PARTNERS, token=tenant.token, json_body={"name": "Lost", "parent": parent})
        for parent in parents
    ]

    # Then each is 404 PARTNER_NOT_FOUND, and nothing is stored
    for reply in replies:
        assert_error(reply, 404, "PARTNER_NOT_FOUND")
    assert tables.snapshot(tenant.partner_id) == before
    assert tables.children(other_tenant.partner_id, foreign["partnerId"]) == 0


def test_a_sub_partner_cannot_create_under_a_sibling_subtree_or_an_ancestor(
    api: Api, family: Family, tables: Tables
) -> None:
    # Given B's child B1
    b1 = create_partner(api, family.root.token, "Branch B One", **under(family.b.id))
    before = tables.snapshot(family.root.partner_id)

    # When A names B1, B or the root as the parent of a new partner, by id or by name
    replies = [
        api.call("POST", PARTNERS, token=family.a.token, json_body={"name": "Sneaky", **under(parent)})
        for parent in (b1["partnerId"], family.b.id, family.root.partner_id)
    ] + [
        api.call(
            "POST", PARTNERS, token=family.a.token, json_body={"name": "Sneaky", "parent": {"name": name}}
        )
        for name in ("Branch B One", "branch b", "Acme Partner")
    ]

    # Then each is not found, and nothing is stored
    for reply in replies:
        assert_error(reply, 404, "PARTNER_NOT_FOUND")
    assert tables.snapshot(family.root.partner_id) == before
    # while under itself and its own child it may create (parent shown as seen by A)
    own = create_partner(api, family.a.token, "A Two")
    assert own["parent"] == {"partnerId": family.a.id, "name": "Branch A"}
    deeper = create_partner(api, family.a.token, "A One One", **under(family.a1.id))
    # and a name it shares with a partner it cannot see is not ambiguous to it
    create_partner(api, family.root.token, "A One One", **under(b1["partnerId"]))
    named = create_partner(api, family.a.token, "Leaf", parent={"name": "a one one"})
    assert named["parent"] == {"partnerId": deeper["partnerId"], "name": "A One One"}
    assert (tables.partner(family.root.partner_id, deeper["partnerId"]) or {})["path"] == [
        family.root.partner_id,
        family.a.id,
        family.a1.id,
        deeper["partnerId"],
    ]


def test_sub_partners_nest_five_levels_below_the_root_and_no_deeper(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    # Given a chain root -> 1 -> 2 -> 3 -> 4 -> 5
    parent = tenant.partner_id
    chain = []
    for level in range(1, 6):
        created = create_partner(api, tenant.token, f"Level {level}", **under(parent))
        chain.append(created["partnerId"])
        parent = created["partnerId"]
    deepest = tables.partner(tenant.partner_id, chain[-1]) or {}
    assert deepest["depth"] == 5 and deepest["path"] == [tenant.partner_id, *chain]
    before = tables.snapshot(tenant.partner_id)

    # When a sixth level is asked for (by id, and by name)
    by_id = api.call("POST", PARTNERS, token=tenant.token, json_body={"name": "Level 6", **under(chain[-1])})
    by_name = api.call(
        "POST", PARTNERS, token=tenant.token, json_body={"name": "Level 6", "parent": {"name": "level 5"}}
    )

    # Then both are refused on "parent", and nothing is stored
    assert_error(by_id, 400, "INVALID_PARAMETER", field="parent")
    assert_error(by_name, 400, "INVALID_PARAMETER", field="parent")
    assert tables.snapshot(tenant.partner_id) == before
    assert tables.children(tenant.partner_id, chain[-1]) == 0


def test_a_reference_is_unique_in_the_tenant_in_any_case_but_not_across_tenants(
    api: Api, tenant: Tenant, other_tenant: Tenant, tables: Tables
) -> None:
    # Given a sub-partner with reference "West-01"
    first = create_partner(api, tenant.token, "West", reference="West-01")
    before = tables.snapshot(tenant.partner_id)

    # When another partner of the tenant (anywhere in the tree) takes "west-01"
    again = api.call("POST", PARTNERS, token=tenant.token, json_body={"name": "W2", "reference": "west-01"})
    nested = api.call(
        "POST",
        PARTNERS,
        token=tenant.token,
        json_body={"name": "W3", "reference": "WEST-01", **under(first["partnerId"])},
    )

    # Then both conflict on reference and nothing is stored
    assert_error(again, 409, "PARTNER_ALREADY_EXISTS", field="reference")
    assert_error(nested, 409, "PARTNER_ALREADY_EXISTS", field="reference")
    assert tables.snapshot(tenant.partner_id) == before
    # while another tenant may use it
    theirs = create_partner(api, other_tenant.token, "Their West", reference="west-01")
    assert tables.reference_owner(other_tenant.partner_id, "west-01") == theirs["partnerId"]
    assert tables.reference_owner(tenant.partner_id, "WEST-01") == first["partnerId"]
    # and a partner's default reference (its id) is claimed as well
    plain = create_partner(api, tenant.token, "Plain")
    taken = api.call(
        "POST",
        PARTNERS,
        token=tenant.token,
        json_body={"name": "Copy", "reference": plain["partnerId"].upper()},
    )
    assert_error(taken, 409, "PARTNER_ALREADY_EXISTS", field="reference")


def test_a_verification_phrase_is_never_shown_and_stored_only_hashed(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    from partner_api.auth.secrets import verify_secret

    phrase = "purple otter at noon"

    # When a sub-partner is created with a verification phrase
    reply = api.call(
        "POST", PARTNERS, token=tenant.token, json_body={"name": "Secretive", "verificationPhrase": phrase}
    )

    # Then the answer only says it has one
    data = assert_success(reply, 201, "Partner created successfully.")
    assert data["hasVerificationPhrase"] is True
    assert "verificationPhrase" not in data and phrase not in reply.text
    fetched = get_partner(api, tenant.token, data["partnerId"])
    assert fetched.body["data"]["hasVerificationPhrase"] is True and phrase not in fetched.text
    # and it is stored as a hash that checks out, never in plain text (neither in the event)
    item = tables.partner(tenant.partner_id, data["partnerId"]) or {}
    assert "verificationPhrase" not in item
    stored_hash = item["verificationPhraseHash"]
    assert stored_hash != phrase and phrase not in str(item)
    assert verify_secret(phrase, stored_hash) and not verify_secret("purple otter at dusk", stored_hash)
    (event,) = tables.partner_events(tenant.partner_id, "partner.created", data["partnerId"])
    assert phrase not in str(event) and stored_hash not in str(event)


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"reference": "no-name"}, "MISSING_REQUIRED_PARAMS", "name"),
        ({"name": "   "}, "MISSING_REQUIRED_PARAMS", "name"),
        ({"name": "X", "colour": "blue"}, "INVALID_PARAMETER", "colour"),
        (
            {"name": "X", "contact": {**CONTACT, "email": "not-an-email"}},
            "INVALID_PARAMETER",
            "contact.email",
        ),
        ({"name": "X", "contact": {**CONTACT, "role": "BOSS"}}, "INVALID_PARAMETER", "contact.role"),
        ({"name": "X", "parent": {"partnerId": "nope"}}, "INVALID_PARAMETER", None),
        ({"name": "X", "parent": {}}, "INVALID_PARAMETER", None),
        ({"name": "X", "domains": ["not a domain"]}, "INVALID_PARAMETER", None),
    ],
)
def test_create_validates_its_body(
    api: Api, tenant: Tenant, tables: Tables, body: dict[str, Any], code: str, field: str | None
) -> None:
    before = tables.snapshot(tenant.partner_id)
    reply = api.call("POST", PARTNERS, token=tenant.token, json_body=body)
    assert_error(reply, 400, code, field=field)
    assert tables.snapshot(tenant.partner_id) == before


def test_partner_routes_need_partners_scopes(api: Api, tenant: Tenant, tables: Tables) -> None:
    # Given a sub-partner, a token without partners:write and one without any partners scope
    child = create_partner(api, tenant.token, "Child")
    reader = token_for(api, tenant.credential, scope="partners:read")
    outsider = token_for(api, tenant.credential, scope="clients:read clients:write")
    before = tables.snapshot(tenant.partner_id)
    path = f"{PARTNERS}/{child['partnerId']}"

    # Then the writing routes refuse the reader, every route refuses the outsider
    for token in (reader, outsider):
        assert_error(api.call("POST", PARTNERS, token=token, json_body={"name": "N"}), 403, "MISSING_SCOPES")
        assert_error(api.call("PATCH", path, token=token, json_body={"name": "N"}), 403, "MISSING_SCOPES")
        assert_error(api.call("DELETE", path, token=token), 403, "MISSING_SCOPES")
    for route in (PARTNERS, path, REPORT):
        assert_error(api.call("GET", route, token=outsider), 403, "MISSING_SCOPES")
        assert api.call("GET", route, token=reader).status == 200
    assert tables.snapshot(tenant.partner_id) == before


# --- GET /partner/v1/partners ----------------------------------------------------------------------


def test_list_shows_the_callers_children_or_those_of_parent_id(api: Api, family: Family) -> None:
    # When the root lists its partners, and those of A
    own = list_partners(api, family.root.token)
    of_a = list_partners(api, family.root.token, parentId=family.a.id)

    # Then it sees its children A and B (oldest first), and A's child A1 with A as parent
    assert ids(own["partners"]) == [family.a.id, family.b.id]
    assert all(p["parent"]["partnerId"] == family.root.partner_id for p in own["partners"])
    assert own["pagination"] == {"limit": 20, "offset": 0, "total": 2, "hasMore": False}
    assert ids(of_a["partners"]) == [family.a1.id]
    assert of_a["partners"][0]["parent"] == {"partnerId": family.a.id, "name": "Branch A"}
    assert of_a["partners"][0] == get_partner(api, family.root.token, family.a1.id).body["data"]
    # and A's token, by default, lists A's children
    assert ids(list_partners(api, family.a.token)["partners"]) == [family.a1.id]
    assert list_partners(api, family.a1.token)["partners"] == []


def test_list_filters_by_q_and_status(api: Api, tenant: Tenant) -> None:
    # Given children with various names and references, one suspended
    north = create_partner(api, tenant.token, "North Star", reference="ns-1")
    south = create_partner(api, tenant.token, "South Star", reference="ss-1")
    east = create_partner(api, tenant.token, "East", reference="STARLING-9")
    west = create_partner(api, tenant.token, "West", reference="w-1")
    suspended = patch_partner(api, tenant.token, south["partnerId"], {"status": "suspended"})
    assert suspended.status == 200, suspended.text

    # Then q matches name or reference, case-insensitively
    star = list_partners(api, tenant.token, q="STAR")
    assert ids(star["partners"]) == [north["partnerId"], south["partnerId"], east["partnerId"]]
    assert star["pagination"]["total"] == 3
    # and status selects one status (live ones by default)
    only = list_partners(api, tenant.token, status="suspended")
    assert ids(only["partners"]) == [south["partnerId"]] and only["pagination"]["total"] == 1
    assert ids(list_partners(api, tenant.token, status="active", q="star")["partners"]) == [
        north["partnerId"],
        east["partnerId"],
    ]
    assert len(list_partners(api, tenant.token)["partners"]) == 4
    assert ids(list_partners(api, tenant.token, q="w-1")["partners"]) == [west["partnerId"]]
    assert_error(
        api.call("GET", PARTNERS, token=tenant.token, query={"status": "gone"}), 400, "INVALID_PARAMETER"
    )


def test_removed_children_are_hidden_unless_status_deleted(api: Api, tenant: Tenant) -> None:
    # Given two children, one removed
    kept = create_partner(api, tenant.token, "Kept")
    gone = create_partner(api, tenant.token, "Gone")
    assert delete_partner(api, tenant.token, gone["partnerId"]).status == 200

    # Then the list hides it, and status=deleted shows only it
    default = list_partners(api, tenant.token)
    assert ids(default["partners"]) == [kept["partnerId"]] and default["pagination"]["total"] == 1
    deleted = list_partners(api, tenant.token, status="deleted")
    assert ids(deleted["partners"]) == [gone["partnerId"]]
    assert (deleted["partners"][0]["status"], deleted["partners"][0]["active"]) == ("deleted", False)


def test_walking_the_list_by_cursor_visits_each_child_once(api: Api, tenant: Tenant) -> None:
    # Given 25 children
    made = [create_partner(api, tenant.token, f"Child {i:02d}")["partnerId"] for i in range(25)]

    # When the list is walked 10 at a time by cursor
    seen: list[str] = []
    pages: list[dict[str, Any]] = []
    query = {"limit": "10"}
    while True:
        data = list_partners(api, tenant.token, **query)
        pages.append(data["pagination"])
        seen += ids(data["partners"])
        if not data["pagination"]["hasMore"]:
            break
        query = {"limit": "10", "cursor": data["pagination"]["nextCursor"]}

    # Then each child came once, oldest first, in pages of 10, 10 and 5
    assert seen == made
    assert [p["hasMore"] for p in pages] == [True, True, False]
    assert all(p["total"] == 25 and p["limit"] == 10 for p in pages)
    assert all(("nextCursor" in p) == p["hasMore"] for p in pages)
    # and offset pages agree
    third = list_partners(api, tenant.token, limit="10", offset="20")
    assert ids(third["partners"]) == made[20:]


def test_listing_an_invisible_parent_is_partner_not_found(
    api: Api, family: Family, other_tenant: Tenant
) -> None:
    for parent_id in (family.b.id, family.root.partner_id, other_tenant.partner_id, str(uuid.uuid4())):
        reply = api.call("GET", PARTNERS, token=family.a.token, query={"parentId": parent_id})
        assert_error(reply, 404, "PARTNER_NOT_FOUND", field="parentId")
    bad = api.call("GET", PARTNERS, token=family.a.token, query={"parentId": "not-a-uuid"})
    assert_error(bad, 400, "INVALID_PARAMETER")


# --- GET /partner/v1/partners/{partnerId} ----------------------------------------------------------


def test_get_shows_self_without_ancestors_and_descendants_with_their_parent(api: Api, family: Family) -> None:
    # When A reads itself and its child, and the root reads itself, A and A1
    a_self = assert_success(
        get_partner(api, family.a.token, family.a.id), 200, "Partner retrieved successfully."
    )
    a1_by_a = get_partner(api, family.a.token, family.a1.id).body["data"]
    root_self = get_partner(api, family.root.token, family.root.partner_id).body["data"]
    a_by_root = get_partner(api, family.root.token, family.a.id).body["data"]
    a1_by_root = get_partner(api, family.root.token, family.a1.id).body["data"]

    # Then nobody is shown its own parent (A's is an ancestor), descendants show theirs
    assert "parent" not in a_self and "parent" not in root_self
    assert set(a_self) == PARTNER_KEYS
    assert a_by_root["parent"] == {"partnerId": family.root.partner_id, "name": "Acme Partner"}
    assert a1_by_a["parent"] == a1_by_root["parent"] == {"partnerId": family.a.id, "name": "Branch A"}
    assert a_self == {k: v for k, v in a_by_root.items() if k != "parent"}
    assert a_self["reference"] == "branch-a" and a_self["status"] == "active"
    assert get_partner(api, family.a.token, family.a.id).header("ETag")


def test_get_of_an_ancestor_sibling_or_other_tenant_is_not_found(
    api: Api, family: Family, other_tenant: Tenant
) -> None:
    theirs = create_partner(api, other_tenant.token, "Theirs")
    b1 = create_partner(api, family.root.token, "Branch B One", **under(family.b.id))
    invisible = [family.root.partner_id, family.b.id, b1["partnerId"], other_tenant.partner_id]
    for partner_id in [*invisible, theirs["partnerId"], str(uuid.uuid4())]:
        reply = get_partner(api, family.a.token, partner_id)
        assert_error(reply, 404, "PARTNER_NOT_FOUND")
        assert "Branch" not in reply.text and "Theirs" not in reply.text
    assert_error(get_partner(api, family.a1.token, family.a.id), 404, "PARTNER_NOT_FOUND")
    assert_error(get_partner(api, family.root.token, theirs["partnerId"]), 404, "PARTNER_NOT_FOUND")
    assert_error(get_partner(api, family.root.token, "not-a-uuid"), 400, "INVALID_PARAMETER")
    assert_error(get_partner(api, family.root.token, family.a.id.upper()), 400, "INVALID_PARAMETER")


# --- PATCH /partner/v1/partners/{partnerId} --------------------------------------------------------


def test_patch_changes_fields_and_records_the_changes(api: Api, family: Family, tables: Tables) -> None:
    tenant_id = family.root.partner_id
    new_contact = {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@a.example", "role": "TECHNICAL"}

    # When the root changes A's name, reference, billing id, domains and contact
    reply = patch_partner(
        api,
        family.root.token,
        family.a.id,
        {
            "name": "Branch A Renamed",
            "reference": "branch-a-2",
            "billingId": "BILL-A",
            "domains": ["a.example", "b.example"],
            "contact": new_contact,
        },
        headers={"x-request-id": "patch-a"},
    )

    # Then the answer and a later GET show them
    data = assert_success(reply, 200, "Partner updated successfully.")
    assert (data["name"], data["reference"], data["billingId"]) == (
        "Branch A Renamed",
        "branch-a-2",
        "BILL-A",
    )
    assert data["domains"] == ["a.example", "b.example"]
    assert data["contact"] == {**new_contact, "active": True}
    assert TIMESTAMP_RE.match(data["updatedAt"]) and data["updatedAt"] >= data["createdAt"]
    assert get_partner(api, family.root.token, family.a.id).body["data"] == data
    assert reply.header("ETag") == get_partner(api, family.root.token, family.a.id).header("ETag")
    # and children see the new name of their parent
    assert get_partner(api, family.a.token, family.a1.id).body["data"]["parent"]["name"] == "Branch A Renamed"
    # and the reference moved: the new one is claimed, the old one free for others
    assert tables.reference_owner(tenant_id, "branch-a-2") == family.a.id
    assert tables.reference_owner(tenant_id, "branch-a") is None
    create_partner(api, family.root.token, "Reuser", reference="BRANCH-A")
    # and one partner.updated event records exactly what changed
    (event,) = tables.partner_events(tenant_id, "partner.updated", family.a.id)
    assert event["requestId"] == "patch-a"
    assert set(event["changes"]) == {"name", "reference", "billingId", "domains", "contact"}
    assert event["changes"]["name"] == {"from": "Branch A", "to": "Branch A Renamed"}
    assert event["changes"]["reference"] == {"from": "branch-a", "to": "branch-a-2"}
    assert event["changes"]["billingId"] == {"from": None, "to": "BILL-A"}
    # and a sub-partner may change its own fields too (not its status)
    own = patch_partner(api, family.a.token, family.a.id, {"billingId": "BILL-A2"})
    assert assert_success(own, 200, "Partner updated successfully.")["billingId"] == "BILL-A2"
    assert "parent" not in own.body["data"]


def test_patch_to_a_taken_reference_conflicts(api: Api, family: Family, tables: Tables) -> None:
    before = tables.snapshot(family.root.partner_id)
    reply = patch_partner(api, family.root.token, family.a.id, {"reference": "BRANCH-B"})
    assert_error(reply, 409, "PARTNER_ALREADY_EXISTS", field="reference")
    assert tables.snapshot(family.root.partner_id) == before


def test_patch_with_a_stale_if_match_is_refused(api: Api, family: Family, tables: Tables) -> None:
    # Given A's ETag, then a change to A
    old = get_partner(api, family.root.token, family.a.id).header("ETag")
    assert old
    first = patch_partner(api, family.root.token, family.a.id, {"name": "First"}, headers={"If-Match": old})
    assert first.status == 200, first.text
    current = first.header("ETag")
    assert current and current != old
    before = tables.snapshot(family.root.partner_id)

    # When a change comes with the old ETag
    stale = patch_partner(api, family.root.token, family.a.id, {"name": "Second"}, headers={"If-Match": old})

    # Then it is refused and nothing changes; the current ETag works
    assert_error(stale, 412, "PRECONDITION_FAILED")
    assert_error(
        api.call("DELETE", f"{PARTNERS}/{family.a1.id}", token=family.root.token, headers={"If-Match": old}),
        412,
        "PRECONDITION_FAILED",
    )
    assert tables.snapshot(family.root.partner_id) == before
    fresh = patch_partner(
        api, family.root.token, family.a.id, {"name": "Second"}, headers={"If-Match": current}
    )
    assert fresh.status == 200 and fresh.body["data"]["name"] == "Second"


def test_patch_cannot_move_a_partner_or_change_its_own_status(
    api: Api, family: Family, tables: Tables
) -> None:
    before = tables.snapshot(family.root.partner_id)

    # A parent in the body is read-only
    moved = patch_partner(api, family.root.token, family.a1.id, {"parent": {"partnerId": family.b.id}})
    assert_error(moved, 400, "INVALID_PARAMETER", field="parent")
    # A partner cannot change its own status (nor can the root through this route)
    for body in ({"status": "inactive"}, {"active": False}, {"status": "suspended", "name": "Also"}):
        assert_error(patch_partner(api, family.a.token, family.a.id, body), 403, "PERMISSION_DENIED")
    assert_error(
        patch_partner(api, family.root.token, family.root.partner_id, {"status": "inactive"}),
        403,
        "PERMISSION_DENIED",
    )
    # Ancestors, siblings and unknown partners are not found
    for partner_id in (family.root.partner_id, family.b.id, str(uuid.uuid4())):
        assert_error(
            patch_partner(api, family.a.token, partner_id, {"name": "Mine"}), 404, "PARTNER_NOT_FOUND"
        )
    assert tables.snapshot(family.root.partner_id) == before


def test_deactivating_a_partner_locks_out_its_subtrees_credentials_until_reactivated(
    api: Api, family: Family, tables: Tables
) -> None:
    # Given A, A1 and B each using a token of their own
    for who in (family.a, family.a1, family.b):
        assert api.call("GET", CLIENTS, token=who.token).status == 200

    # When the root sets A inactive
    reply = patch_partner(api, family.root.token, family.a.id, {"status": "inactive"})
    data = assert_success(reply, 200, "Partner updated successfully.")
    assert (data["status"], data["active"]) == ("inactive", False)
    assert (tables.partner(family.root.partner_id, family.a.id) or {})["status"] == "inactive"
    (event,) = tables.partner_events(family.root.partner_id, "partner.updated", family.a.id)
    assert event["changes"] == {"status": {"from": "active", "to": "inactive"}}
    forget_standing()

    # Then A's and A1's (ancestor inactive) next calls are refused, B's are not
    assert_error(api.call("GET", CLIENTS, token=family.a.token), 403, "AUTHENTICATION_FAILED")
    assert_error(api.call("GET", PARTNERS, token=family.a1.token), 403, "AUTHENTICATION_FAILED")
    assert api.call("GET", CLIENTS, token=family.b.token).status == 200
    refused = api.call(
        "POST",
        "/oauth/token",
        form={
            "grant_type": "client_credentials",
            "client_id": family.a.credential.client_id,
            "client_secret": family.a.credential.secret,
        },
    )
    assert refused.status == 401 and refused.body["error"] == "invalid_client"

    # When the root makes A active again
    again = patch_partner(api, family.root.token, family.a.id, {"active": True})
    assert again.status == 200 and again.body["data"]["status"] == "active"
    forget_standing()

    # Then both work again
    assert api.call("GET", CLIENTS, token=family.a.token).status == 200
    assert api.call("GET", PARTNERS, token=family.a1.token).status == 200
    assert token_for(api, family.a.credential)


def test_a_suspended_partner_locks_out_itself_and_its_descendants(api: Api, family: Family) -> None:
    # Given A1's child A11 with a credential
    a11 = member(api, family.root, create_partner(api, family.a.token, "A One One", **under(family.a1.id)))
    assert api.call("GET", CLIENTS, token=a11.token).status == 200

    # When A suspends its own child A1
    assert patch_partner(api, family.a.token, family.a1.id, {"status": "suspended"}).status == 200
    forget_standing()

    # Then A1 and A11 are locked out, A is not
    assert_error(api.call("GET", CLIENTS, token=a11.token), 403, "AUTHENTICATION_FAILED")
    assert_error(api.call("GET", CLIENTS, token=family.a1.token), 403, "AUTHENTICATION_FAILED")
    assert api.call("GET", CLIENTS, token=family.a.token).status == 200


# --- DELETE /partner/v1/partners/{partnerId} -------------------------------------------------------


def test_delete_removes_an_empty_leaf_once(api: Api, tenant: Tenant, tables: Tables) -> None:
    # Given two children, the second to be removed
    create_partner(api, tenant.token, "Stays")
    leaf = create_partner(api, tenant.token, "Leaf", reference="leaf-ref")
    leaf_id = leaf["partnerId"]
    assert tables.children(tenant.partner_id, tenant.partner_id) == 2

    # When it is deleted
    first = api.call("DELETE", f"{PARTNERS}/{leaf_id}", token=tenant.token, headers={"x-request-id": "rm-1"})

    # Then it is removed: 200 with its id and removal time, one event, parent counts one child less
    data = assert_success(first, 200, "Partner removed successfully.")
    assert set(data) == {"partnerId", "removedAt"} and data["partnerId"] == leaf_id
    assert TIMESTAMP_RE.match(data["removedAt"])
    (event,) = tables.partner_events(tenant.partner_id, "partner.removed", leaf_id)
    assert event["changes"]["status"] == {"from": "active", "to": "deleted"}
    assert event["requestId"] == "rm-1"
    assert tables.children(tenant.partner_id, tenant.partner_id) == 1
    assert (tables.counter(tenant.partner_id, leaf_id) or {}).get("closed") is True
    item = tables.partner(tenant.partner_id, leaf_id) or {}
    assert (item["status"], item["removedAt"]) == ("deleted", data["removedAt"])
    # and GET shows it deleted
    shown = get_partner(api, tenant.token, leaf_id).body["data"]
    assert (shown["status"], shown["active"]) == ("deleted", False)
    # and deleting again answers the same without a second event or counter move
    again = delete_partner(api, tenant.token, leaf_id)
    assert assert_success(again, 200, "Partner removed successfully.") == data
    assert len(tables.partner_events(tenant.partner_id, "partner.removed", leaf_id)) == 1
    assert tables.children(tenant.partner_id, tenant.partner_id) == 1
    # and its reference is free again
    assert tables.reference_owner(tenant.partner_id, "leaf-ref") is None
    reuser = create_partner(api, tenant.token, "New Leaf", reference="LEAF-REF")
    assert tables.reference_owner(tenant.partner_id, "leaf-ref") == reuser["partnerId"]
    # and a removed partner cannot be changed, nor used as a parent or a client's owner
    assert_error(patch_partner(api, tenant.token, leaf_id, {"name": "Back"}), 400, "INVALID_PARAMETER")
    orphan = api.call("POST", PARTNERS, token=tenant.token, json_body={"name": "Orphan", **under(leaf_id)})
    assert_error(orphan, 404, "PARTNER_NOT_FOUND")
    client = api.call(
        "POST", CLIENTS, token=tenant.token, json_body={"name": "C", "email": "c@x.io", "partnerId": leaf_id}
    )
    assert_error(client, 404, "PARTNER_NOT_FOUND", field="partnerId")
    assert tables.clients(tenant.partner_id) == []


def test_delete_with_a_live_child_is_not_empty(api: Api, family: Family, tables: Tables) -> None:
    before = tables.snapshot(family.root.partner_id)
    assert_error(delete_partner(api, family.root.token, family.a.id), 409, "PARTNER_NOT_EMPTY")
    assert tables.snapshot(family.root.partner_id) == before
    # once the child is removed, the parent may go
    assert delete_partner(api, family.root.token, family.a1.id).status == 200
    assert tables.children(family.root.partner_id, family.a.id) == 0
    assert delete_partner(api, family.root.token, family.a.id).status == 200
    assert tables.children(family.root.partner_id, family.root.partner_id) == 1


def test_delete_with_a_live_client_is_not_empty_until_the_client_is_deleted(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    # Given a sub-partner owning one client
    child = create_partner(api, tenant.token, "Owner")
    client = register(api, tenant, "owned@example.com", partnerId=child["partnerId"])
    before = tables.snapshot(tenant.partner_id)

    # Then it cannot be removed while the client is live, whatever the client's status
    assert_error(delete_partner(api, tenant.token, child["partnerId"]), 409, "PARTNER_NOT_EMPTY")
    assert tables.snapshot(tenant.partner_id) == before
    suspended = api.call(
        "PATCH", f"{CLIENTS}/{client['clientId']}", token=tenant.token, json_body={"status": "suspended"}
    )
    assert suspended.status == 200, suspended.text
    assert_error(delete_partner(api, tenant.token, child["partnerId"]), 409, "PARTNER_NOT_EMPTY")

    # When the client is deleted, the partner can be
    assert api.call("DELETE", f"{CLIENTS}/{client['clientId']}", token=tenant.token).status == 200
    assert assert_success(
        delete_partner(api, tenant.token, child["partnerId"]), 200, "Partner removed successfully."
    )
    assert get_partner(api, tenant.token, child["partnerId"]).body["data"]["status"] == "deleted"
    # and its deleted client stays readable
    assert api.call("GET", f"{CLIENTS}/{client['clientId']}", token=tenant.token).body["data"]["status"] == (
        "deleted"
    )


def test_delete_of_self_ancestor_or_sibling_is_refused(api: Api, family: Family, tables: Tables) -> None:
    before = tables.snapshot(family.root.partner_id)
    assert_error(delete_partner(api, family.a.token, family.a.id), 403, "PERMISSION_DENIED")
    assert_error(delete_partner(api, family.a1.token, family.a1.id), 403, "PERMISSION_DENIED")
    assert_error(delete_partner(api, family.root.token, family.root.partner_id), 403, "PERMISSION_DENIED")
    for partner_id in (family.root.partner_id, family.b.id, str(uuid.uuid4())):
        assert_error(delete_partner(api, family.a.token, partner_id), 404, "PARTNER_NOT_FOUND")
    assert_error(delete_partner(api, family.root.token, "nope"), 400, "INVALID_PARAMETER")
    assert tables.snapshot(family.root.partner_id) == before


def contest(tenant: Tenant, partner_id: str, email: str, *, reads_first: bool) -> tuple[Any, Any]:
    """A removal of ``partner_id`` and a registration of a client for it, on two threads released
    together (with ``reads_first``, neither writes before both have read); returns both outcomes."""
    from partner_api.logic import clients, subpartners

    caller, start = principal_of(tenant), threading.Barrier(2)

    def work(i: int) -> Any:
        start.wait(timeout=60)
        if i == 0:
            return subpartners.remove(caller, actor_of(tenant, f"rm-{email}"), partner_id, None)
        body = ClientCreate(name="Racer", email=email, partnerId=partner_id)
        return clients.register(caller, actor_of(tenant, f"reg-{email}"), body)

    with pytest.MonkeyPatch.context() as patches:
        if reads_first:
            hold_writes_until_both_read(
                patches, ["partner_api.logic.partners.transact", "partner_api.logic.clients.transact"]
            )
        removal, registration = on_threads(2, work)
    return removal, registration


def test_removal_racing_a_client_registration_never_lets_both_succeed(
    api: Api, tenant: Tenant, tables: Tables
) -> None:
    outcomes = []
    for round_ in range(8):
        # Given an empty sub-partner
        partner_id = create_partner(api, tenant.token, f"Contested {round_}")["partnerId"]
        email = f"racer{round_}@example.com"

        # When its removal and a client registration for it start together (in odd rounds, both
        # read before either writes)
        removal, registration = contest(tenant, partner_id, email, reads_first=bool(round_ % 2))

        # Then exactly one succeeded, and the other was refused for the right reason
        item = tables.partner(tenant.partner_id, partner_id) or {}
        live = [
            c
            for c in tables.clients(tenant.partner_id)
            if c["partnerId"] == partner_id and c["status"] != "deleted"
        ]
        removed_events = tables.partner_events(tenant.partner_id, "partner.removed", partner_id)
        if isinstance(removal, dict):
            assert isinstance(registration, PartnerNotFound), (round_, registration)
            assert item["status"] == "deleted" and live == [] and len(removed_events) == 1
            assert tables.email_owner(tenant.partner_id, email) is None
            assert tables.counts(tenant.partner_id, partner_id)["own_active"] == 0
            outcomes.append("removed")
        else:
            assert isinstance(removal, PartnerNotEmpty), (round_, removal)
            assert isinstance(registration, dict), (round_, registration)
            assert item["status"] == "active" and removed_events == []
            assert ids(live, "clientId") == [registration["clientId"]]
            counter = tables.counter(tenant.partner_id, partner_id) or {}
            assert counter["own_active"] == 1 and "closed" not in counter
            outcomes.append("registered")
    assert len(outcomes) == 8
    # and the root's counters agree with the clients that exist
    assert tables.counts(tenant.partner_id, tenant.partner_id)["tree_active"] == outcomes.count("registered")
    assert tables.children(tenant.partner_id, tenant.partner_id) == outcomes.count("registered")


# --- what a sub-partner's credential sees ----------------------------------------------------------


def test_a_sub_partners_token_sees_its_own_subtree_only(
    api: Api, family: Family, other_tenant: Tenant, tables: Tables
) -> None:
    root = family.root
    # Given a client of each partner, and a webhook of each
    by_owner = {
        owner: register(api, root, f"{name}@example.com", partnerId=owner)["clientId"]
        for name, owner in (
            ("r", root.partner_id),
            ("a", family.a.id),
            ("b", family.b.id),
            ("a1", family.a1.id),
        )
    }
    hooks = {}
    for name, token in (
        ("r", root.token),
        ("a", family.a.token),
        ("b", family.b.token),
        ("a1", family.a1.token),
    ):
        reply = api.call("POST", WEBHOOKS, token=token, json_body={"url": f"http://127.0.0.1:8999/{name}"})
        hooks[name] = assert_success(reply, 201, "Webhook created successfully.")["webhookId"]
    subtree = {family.a.id, family.a1.id}
    token = family.a.token

    # Then A's clients list holds A's and A1's clients only
    listed = api.call("GET", CLIENTS, token=token).body["data"]
    assert sorted(ids(listed["clients"], "clientId")) == sorted(
        [by_owner[family.a.id], by_owner[family.a1.id]]
    )
    assert listed["pagination"]["total"] == 2
    # and the others' clients are not found
    for owner in (root.partner_id, family.b.id):
        assert_error(api.call("GET", f"{CLIENTS}/{by_owner[owner]}", token=token), 404, "CLIENT_NOT_FOUND")
    assert api.call("GET", f"{CLIENTS}/{by_owner[family.a1.id]}", token=token).status == 200
    # and it cannot register a client for B or the root, nor list B's partners
    for owner in (family.b.id, root.partner_id):
        reply = api.call(
            "POST", CLIENTS, token=token, json_body={"name": "X", "email": "x@x.io", "partnerId": owner}
        )
        assert_error(reply, 404, "PARTNER_NOT_FOUND", field="partnerId")
        listed_filter = api.call("GET", CLIENTS, token=token, query={"partnerId": owner})
        assert_error(listed_filter, 404, "PARTNER_NOT_FOUND")
    assert_error(
        api.call("GET", PARTNERS, token=token, query={"parentId": family.b.id}), 404, "PARTNER_NOT_FOUND"
    )
    assert tables.email_owner(root.partner_id, "x@x.io") is None
    # and its credentials list holds A's and A1's credentials only
    credentials = api.call("GET", CREDENTIALS, token=token).body["data"]["credentials"]
    assert sorted(ids(credentials, "clientId")) == sorted(
        [family.a.credential.client_id, family.a1.credential.client_id]
    )
    assert {c["partnerId"] for c in credentials} == subtree
    # and its events list holds events of its subtree only, including theirs
    events = api.call("GET", EVENTS, token=token, query={"limit": "100"}).body["data"]["events"]
    assert events and {e["partnerId"] for e in events} <= subtree
    resources = {e["resource"]["id"] for e in events}
    assert {by_owner[family.a.id], by_owner[family.a1.id], family.a1.id} <= resources
    assert not {by_owner[root.partner_id], by_owner[family.b.id], family.b.id} & resources
    # and its webhooks list holds A's and A1's webhooks only
    webhooks = api.call("GET", WEBHOOKS, token=token).body["data"]["webhooks"]
    assert sorted(ids(webhooks, "webhookId")) == sorted([hooks["a"], hooks["a1"]])
    assert_error(api.call("GET", f"{WEBHOOKS}/{hooks['b']}", token=token), 404, "WEBHOOK_NOT_FOUND")
    # and the root still sees everything
    everything = api.call("GET", CLIENTS, token=root.token).body["data"]["clients"]
    assert sorted(ids(everything, "clientId")) == sorted(by_owner.values())


def test_another_tenants_partner_ids_are_not_found_everywhere(
    api: Api, family: Family, other_tenant: Tenant, tables: Tables
) -> None:
    theirs = create_partner(api, other_tenant.token, "Theirs")
    token = family.a.token
    before = tables.snapshot(family.root.partner_id)
    for partner_id in (other_tenant.partner_id, theirs["partnerId"]):
        assert_error(get_partner(api, token, partner_id), 404, "PARTNER_NOT_FOUND")
        assert_error(patch_partner(api, token, partner_id, {"name": "Mine"}), 404, "PARTNER_NOT_FOUND")
        assert_error(delete_partner(api, token, partner_id), 404, "PARTNER_NOT_FOUND")
        assert_error(
            api.call("GET", PARTNERS, token=token, query={"parentId": partner_id}), 404, "PARTNER_NOT_FOUND"
        )
        assert_error(
            api.call("POST", PARTNERS, token=token, json_body={"name": "X", **under(partner_id)}),
            404,
            "PARTNER_NOT_FOUND",
        )
        assert_error(
            api.call(
                "POST",
                CLIENTS,
                token=token,
                json_body={"name": "X", "email": "x@x.io", "partnerId": partner_id},
            ),
            404,
            "PARTNER_NOT_FOUND",
        )
        assert_error(
            api.call("GET", CLIENTS, token=token, query={"partnerId": partner_id}), 404, "PARTNER_NOT_FOUND"
        )
        assert_error(
            api.call("POST", CREDENTIALS, token=token, json_body={"partnerId": partner_id}),
            404,
            "PARTNER_NOT_FOUND",
        )
    assert tables.snapshot(family.root.partner_id) == before
    assert get_partner(api, other_tenant.token, theirs["partnerId"]).body["data"]["name"] == "Theirs"


# --- GET /partner/v1/reports/clients ---------------------------------------------------------------


def test_client_report_counts_each_partners_own_clients_in_the_callers_subtree(
    api: Api, family: Family, tables: Tables
) -> None:
    root = family.root

    def client(email: str, owner: str, status: str = "active") -> None:
        made = register(api, root, email, partnerId=owner)
        if status == "deleted":
            assert api.call("DELETE", f"{CLIENTS}/{made['clientId']}", token=root.token).status == 200
        elif status != "active":
            reply = api.call(
                "PATCH", f"{CLIENTS}/{made['clientId']}", token=root.token, json_body={"status": status}
            )
            assert reply.status == 200, reply.text

    # Given clients under R, A, A1 and B in various statuses
    client("r1@example.com", root.partner_id)
    client("r2@example.com", root.partner_id, "suspended")
    client("a1@example.com", family.a.id)
    client("a2@example.com", family.a.id)
    client("a3@example.com", family.a.id, "inactive")
    client("aa1@example.com", family.a1.id, "suspended")
    client("aa2@example.com", family.a1.id, "deleted")
    client("b1@example.com", family.b.id, "deleted")

    # When the root and A ask for the report
    reply = api.call("GET", REPORT, token=root.token)
    report = assert_success(reply, 200, "Client report retrieved successfully.")
    a_report = api.call("GET", REPORT, token=family.a.token).body["data"]

    # Then the root's lists R, A, B, A1 (caller first, then by depth and age) with own counts
    def counts(active: int = 0, inactive: int = 0, suspended: int = 0, deleted: int = 0) -> dict[str, int]:
        return {"active": active, "inactive": inactive, "suspended": suspended, "deleted": deleted}

    assert report == {
        "partners": [
            {"partnerId": root.partner_id, "name": "Acme Partner", "counts": counts(active=1, suspended=1)},
            {"partnerId": family.a.id, "name": "Branch A", "counts": counts(active=2, inactive=1)},
            {"partnerId": family.b.id, "name": "Branch B", "counts": counts(deleted=1)},
            {"partnerId": family.a1.id, "name": "Branch A One", "counts": counts(suspended=1, deleted=1)},
        ]
    }
    # and A's lists A and A1 only, with the same counts
    assert a_report == {"partners": [report["partners"][1], report["partners"][3]]}
    # and every row equals that partner's counter
    for row in report["partners"]:
        stored = tables.counts(root.partner_id, row["partnerId"])
        assert row["counts"] == {s: stored[f"own_{s}"] for s in STATUSES}


# --- welcome email ---------------------------------------------------------------------------------


def test_welcome_email_is_sent_once_to_a_new_contact_who_asked(
    api: Api, stack: Stack, tenant: Tenant, tables: Tables, outbox: list[Any]
) -> None:
    pump = pipeline(stack)
    pump()
    sent_before = len(outbox)
    contact = {**CONTACT, "email": "jane@west.example", "sendWelcomeEmail": True}

    # When a sub-partner is created whose contact asks for a welcome email, and another whose does not
    welcomed = create_partner(api, tenant.token, "Acme West", contact=contact)
    quiet = create_partner(
        api, tenant.token, "Acme Quiet", contact={**CONTACT, "email": "quiet@west.example"}
    )
    pump()

    # Then exactly one email went to the contact, from the sender, naming the partner
    (sent,) = outbox[sent_before:]
    assert sent.source == WELCOME_SENDER
    assert sent.destinations["ToAddresses"] == ["jane@west.example"]
    assert "Acme West" in sent.subject
    assert "Hello Jane" in sent.body and welcomed["partnerId"] in sent.body
    # and the wish is neither stored nor shown
    for partner in (welcomed, quiet):
        assert "sendWelcomeEmail" not in partner["contact"]
        shown = get_partner(api, tenant.token, partner["partnerId"])
        assert "sendWelcomeEmail" not in shown.text
        item = tables.partner(tenant.partner_id, partner["partnerId"]) or {}
        assert "sendWelcomeEmail" not in str(item)
    assert welcomed["contact"] == {**CONTACT, "email": "jane@west.example", "active": True}
    # and pumping again sends nothing more
    pump()
    assert len(outbox) == sent_before + 1


def test_a_patch_setting_a_contact_that_asks_sends_one_welcome_email(
    api: Api, stack: Stack, tenant: Tenant, tables: Tables, outbox: list[Any]
) -> None:
    pump = pipeline(stack)
    child = create_partner(api, tenant.token, "Acme East")
    pump()
    sent_before = len(outbox)

    # When its contact is set with the flag, then changed without it
    contact = {"firstName": "Bob", "lastName": "Roe", "email": "bob@east.example", "sendWelcomeEmail": True}
    assert patch_partner(api, tenant.token, child["partnerId"], {"contact": contact}).status == 200
    pump()
    later = {"firstName": "Bob", "lastName": "Roe", "email": "robert@east.example"}
    assert patch_partner(api, tenant.token, child["partnerId"], {"contact": later}).status == 200
    pump()

    # Then one email went to the first address, and the flag was not stored
    (sent,) = outbox[sent_before:]
    assert sent.destinations["ToAddresses"] == ["bob@east.example"] and "Acme East" in sent.subject
    assert "sendWelcomeEmail" not in str(tables.partner(tenant.partner_id, child["partnerId"]))
