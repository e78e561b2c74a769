"""Operator administration of root partners (API.md section 7): create, list, get, patch."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest

from partner_api.auth.principal import PARTNER_SCOPES
from partner_api.auth.secrets import verify_secret
from tests.conftest import token_for

PARTNERS = "/admin/v1/partners"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
STATUSES = ("active", "inactive", "suspended", "deleted")


# --- helpers -------------------------------------------------------------------------------------------


def table(stack, logical_id: str) -> Any:
    import boto3

    return boto3.resource("dynamodb").Table(stack.physical_ids[logical_id])


def item(stack, logical_id: str, pk: str, sk: str) -> dict[str, Any] | None:
    return table(stack, logical_id).get_item(Key={"PK": pk, "SK": sk}, ConsistentRead=True).get("Item")


def events_of(stack, tenant_id: str) -> list[dict[str, Any]]:
    from boto3.dynamodb.conditions import Key

    found = table(stack, "EventsTable").query(KeyConditionExpression=Key("PK").eq(f"TENANT#{tenant_id}"))
    return sorted(found["Items"], key=lambda e: e["SK"])


def roots_counter(stack) -> dict[str, int]:
    found = item(stack, "TenantsTable", "PLATFORM", "COUNTS#ROOT_PARTNERS") or {}
    return {s: int(found.get(f"count_{s}", 0)) for s in STATUSES}


def create(api, token: str, **body: Any):
    return api.call("POST", PARTNERS, token=token, json_body=body)


def created(api, token: str, **body: Any) -> dict[str, Any]:
    reply = create(api, token, **body)
    assert reply.status == 201, reply.text
    return reply.body["data"]


def token_reply(api, credential: dict[str, Any]):
    return api.call(
        "POST",
        "/oauth/token",
        form={
            "grant_type": "client_credentials",
            "client_id": credential["clientId"],
            "client_secret": credential["clientSecret"],
        },
    )


def assert_error(reply, status: int, code: str) -> dict[str, Any]:
    assert reply.status == status, reply.text
    body = reply.body
    assert body["success"] is False
    assert body["code"] == code
    assert body["message"]
    assert body["requestId"] == reply.header("x-request-id")
    assert "data" not in body
    return body


def listed(api, token: str, **query: str) -> dict[str, Any]:
    reply = api.call("GET", PARTNERS, token=token, query=query or None)
    assert reply.status == 200, reply.text
    assert reply.body["success"] is True
    assert reply.body["message"] == "Partners retrieved successfully."
    return reply.body["data"]


# --- POST /admin/v1/partners --------------------------------------------------------------------------


def test_create_root_partner_with_its_first_credential(api, stack, operator, operator_token):
    # Given the operator, and the root-partner counter before
    before = roots_counter(stack)

    # When it creates a root partner
    reply = create(api, operator_token, name="  Acme Partner  ", billingId="BILL-1", domains=["Acme.COM"])

    # Then the answer carries the partner and a credential holding every partner scope
    assert reply.status == 201, reply.text
    assert reply.body["success"] is True
    assert reply.body["message"] == "Partner created successfully."
    partner, credential = reply.body["data"]["partner"], reply.body["data"]["credential"]
    partner_id = partner["partnerId"]
    assert str(uuid.UUID(partner_id)) == partner_id
    assert partner == {
        "partnerId": partner_id,
        "name": "Acme Partner",
        "reference": partner_id,  # defaults to the partner id
        "billingId": "BILL-1",
        "status": "active",
        "active": True,
        "domains": ["acme.com"],
        "hasVerificationPhrase": False,
        "createdAt": partner["createdAt"],
        "updatedAt": partner["createdAt"],
    }
    assert TIMESTAMP.match(partner["createdAt"])
    assert set(credential) == {"clientId", "clientSecret", "scopes"}
    assert str(uuid.UUID(credential["clientId"])) == credential["clientId"]
    assert credential["scopes"] == list(PARTNER_SCOPES)
    assert len(credential["clientSecret"]) >= 32
    assert reply.header("ETag")

    # ...and the partner, its reference, its counters and its credential are stored
    tenant_pk = f"TENANT#{partner_id}"
    stored = item(stack, "TenantsTable", tenant_pk, f"PARTNER#{partner_id}")
    assert stored is not None
    assert (stored["name"], stored["status"], stored["reference"]) == ("Acme Partner", "active", partner_id)
    assert stored["path"] == [partner_id] and stored["depth"] == 0
    reference = item(stack, "TenantsTable", tenant_pk, f"REFERENCE#{partner_id}")
    assert reference is not None and reference["partnerId"] == partner_id
    counts = item(stack, "TenantsTable", tenant_pk, f"COUNTS#{partner_id}")
    assert counts is not None
    assert all(counts[f"{scope}_{s}"] == 0 for scope in ("own", "tree") for s in STATUSES)
    cred = item(stack, "TenantsTable", f"CREDENTIAL#{credential['clientId']}", "CREDENTIAL")
    assert cred is not None
    assert cred["status"] == "active"
    assert cred["tokenUse"] == "partner"
    assert (cred["tenantId"], cred["partnerId"]) == (partner_id, partner_id)
    assert cred["scopes"] == list(PARTNER_SCOPES)
    assert cred["secretHash"].startswith("scrypt$")
    assert credential["clientSecret"] not in cred["secretHash"]
    assert verify_secret(credential["clientSecret"], cred["secretHash"])
    assert roots_counter(stack)["active"] == before["active"] + 1

    # ...with one event per change, recording the operator, and no secret in any of them
    events = events_of(stack, partner_id)
    by_type = {e["type"]: e for e in events}
    assert sorted(by_type) == ["credential.created", "partner.created"]
    created_event, credential_event = by_type["partner.created"], by_type["credential.created"]
    assert created_event["resource"] == {"type": "partner", "id": partner_id}
    assert created_event["actor"] == {"type": "operator", "clientId": operator.client_id}
    assert created_event["partnerId"] == partner_id
    assert created_event["changes"]["name"] == {"from": None, "to": "Acme Partner"}
    assert created_event["changes"]["status"] == {"from": None, "to": "active"}
    assert created_event["requestId"] == reply.header("x-request-id")
    assert credential_event["resource"] == {"type": "credential", "id": credential["clientId"]}
    assert credential_event["requestId"] == reply.header("x-request-id")
    dumped = json.dumps(events, default=str)
    assert credential["clientSecret"] not in dumped
    assert "scrypt$" not in dumped and "secretHash" not in dumped


def test_created_credential_obtains_a_partner_token(api, stack, operator_token):
    # Given a new root partner
    data = created(api, operator_token, name="Token Partner")

    # When its credential asks for a token
    reply = token_reply(api, data["credential"])

    # Then it gets every partner scope, for that tenant, and can use it
    import jwt

    assert reply.status == 200, reply.text
    assert reply.body["scope"] == " ".join(PARTNER_SCOPES)
    claims = jwt.decode(reply.body["access_token"], options={"verify_signature": False})
    assert claims["tenant_id"] == claims["partner_id"] == data["partner"]["partnerId"]
    assert claims["token_use"] == "partner"
    clients = api.call("GET", "/partner/v1/clients", token=reply.body["access_token"])
    assert clients.status == 200, clients.text


def test_same_reference_is_fine_across_tenants(api, stack, operator_token):
    # When two root partners (two tenants) use the same reference
    first = create(api, operator_token, name="First", reference="shared-ref")
    second = create(api, operator_token, name="Second", reference="SHARED-REF")

    # Then both are created as given, each with its own (lowercased) uniqueness item
    assert first.status == 201, first.text
    assert second.status == 201, second.text
    assert first.body["data"]["partner"]["reference"] == "shared-ref"
    assert second.body["data"]["partner"]["reference"] == "SHARED-REF"
    ids = [r.body["data"]["partner"]["partnerId"] for r in (first, second)]
    assert ids[0] != ids[1]
    for partner_id in ids:
        ref = item(stack, "TenantsTable", f"TENANT#{partner_id}", "REFERENCE#shared-ref")
        assert ref is not None and ref["partnerId"] == partner_id


def test_verification_phrase_is_write_only(api, stack, operator_token):
    phrase = "purple elephant 42"

    # When a partner is created with a verification phrase
    reply = create(api, operator_token, name="Phrase Partner", verificationPhrase=phrase)

    # Then the phrase is acknowledged, never shown, and stored only hashed
    assert reply.status == 201, reply.text
    partner = reply.body["data"]["partner"]
    partner_id = partner["partnerId"]
    assert partner["hasVerificationPhrase"] is True
    assert "verificationPhrase" not in partner
    one = api.call("GET", f"{PARTNERS}/{partner_id}", token=operator_token)
    everyone = api.call("GET", PARTNERS, token=operator_token)
    assert one.body["data"]["hasVerificationPhrase"] is True
    for shown in (reply, one, everyone):
        assert phrase not in shown.text
        assert "verificationPhraseHash" not in shown.text
    stored = item(stack, "TenantsTable", f"TENANT#{partner_id}", f"PARTNER#{partner_id}")
    assert stored is not None
    assert any(isinstance(v, str) and v.startswith("scrypt$") for v in stored.values())
    assert phrase not in json.dumps(stored, default=str)
    events = events_of(stack, partner_id)
    created_event = next(e for e in events if e["type"] == "partner.created")
    assert created_event["changes"]["hasVerificationPhrase"] == {"from": None, "to": True}
    assert phrase not in json.dumps(events, default=str)
    assert "scrypt$" not in json.dumps(events, default=str)


ACTIVATIONS = {
    "status": ({"status": "inactive"}, {"status": "active"}),
    "active_flag": ({"active": False}, {"active": True}),
    "both_agreeing": ({"status": "inactive", "active": False}, {"status": "active", "active": True}),
}


def test_partner_created_inactive_until_the_operator_activates_it(api, stack, operator_token, subtests):
    for name, (initial, activation) in ACTIVATIONS.items():
        with subtests.test(views=name):
            before = roots_counter(stack)

            # Given a partner created inactive
            data = created(api, operator_token, name=f"Dormant {name}", **initial)
            partner_id = data["partner"]["partnerId"]
            assert data["partner"]["status"] == "inactive"
            assert data["partner"]["active"] is False
            assert roots_counter(stack)["inactive"] == before["inactive"] + 1

            # Then its credential cannot obtain a token (without a hint why)
            refused = token_reply(api, data["credential"])
            assert refused.status == 401, refused.text
            assert refused.body == {
                "error": "invalid_client",
                "error_description": "Client authentication failed.",
            }

            # When the operator activates it
            patched = api.call(
                "PATCH", f"{PARTNERS}/{partner_id}", token=operator_token, json_body=activation
            )

            # Then it is active, counted as such, recorded, and its credential works
            assert patched.status == 200, patched.text
            assert patched.body["data"]["status"] == "active"
            assert patched.body["data"]["active"] is True
            stored = item(stack, "TenantsTable", f"TENANT#{partner_id}", f"PARTNER#{partner_id}")
            assert stored is not None and stored["status"] == "active"
            after = roots_counter(stack)
            assert (after["active"], after["inactive"]) == (before["active"] + 1, before["inactive"])
            updated = [e for e in events_of(stack, partner_id) if e["type"] == "partner.updated"]
            assert [e["changes"] for e in updated] == [{"status": {"from": "inactive", "to": "active"}}]
            granted = token_reply(api, data["credential"])
            assert granted.status == 200, granted.text


def test_active_and_status_disagreeing_on_create(api, stack, operator_token, subtests):
    for views in ({"active": True, "status": "inactive"}, {"active": False, "status": "active"}):
        with subtests.test(views=views):
            reply = create(api, operator_token, name="Confused", **views)

            body = assert_error(reply, 400, "INVALID_PARAMETER")
            assert [d["field"] for d in body["details"]] == ["active"]

    assert listed(api, operator_token)["partners"] == []
    assert roots_counter(stack) == dict.fromkeys(STATUSES, 0)


VALIDATION_CASES = {
    "missing_name": ({}, "MISSING_REQUIRED_PARAMS", ["name"]),
    "blank_name": ({"name": "   "}, "MISSING_REQUIRED_PARAMS", ["name"]),
    "name_too_long": ({"name": "x" * 256}, "INVALID_PARAMETER", ["name"]),
    "unknown_field": ({"name": "X", "color": "red"}, "INVALID_PARAMETER", ["color"]),
    "read_only_partner_id": (
        {"name": "X", "partnerId": str(uuid.uuid4())},
        "INVALID_PARAMETER",
        ["partnerId"],
    ),
    "bad_domain": ({"name": "X", "domains": ["not a domain"]}, "INVALID_PARAMETER", ["domains.0"]),
    "billing_id_too_long": ({"name": "X", "billingId": "b" * 51}, "INVALID_PARAMETER", ["billingId"]),
    "bad_status": ({"name": "X", "status": "deleted"}, "INVALID_PARAMETER", ["status"]),
    "bad_contact_email": (
        {"name": "X", "contact": {"firstName": "Ann", "lastName": "Lee", "email": "not-an-email"}},
        "INVALID_PARAMETER",
        ["contact.email"],
    ),
    "contact_without_first_name": (
        {"name": "X", "contact": {"lastName": "Lee", "email": "ann@example.com"}},
        "MISSING_REQUIRED_PARAMS",
        ["contact.firstName"],
    ),
    "bad_contact_role": (
        {
            "name": "X",
            "contact": {"firstName": "A", "lastName": "L", "email": "a@example.com", "role": "BOSS"},
        },
        "INVALID_PARAMETER",
        ["contact.role"],
    ),
}


def test_invalid_create_requests(api, stack, operator_token, subtests):
    for name, (body, code, fields) in VALIDATION_CASES.items():
        with subtests.test(case=name):
            reply = create(api, operator_token, **body)

            problem = assert_error(reply, 400, code)
            assert [d["field"] for d in problem["details"]] == fields
            assert all(d["issue"] for d in problem["details"])
    with subtests.test(case="invalid_json"):
        reply = api.call(
            "POST",
            PARTNERS,
            token=operator_token,
            body="{not json",
            headers={"Content-Type": "application/json"},
        )
        assert_error(reply, 400, "INVALID_JSON")
    with subtests.test(case="json_array"):
        reply = api.call("POST", PARTNERS, token=operator_token, json_body=["name"])
        assert_error(reply, 400, "INVALID_PARAMETER")

    # Nothing was created by any of them
    assert listed(api, operator_token)["partners"] == []
    assert roots_counter(stack) == dict.fromkeys(STATUSES, 0)
    assert table(stack, "EventsTable").scan()["Items"] == []


def test_contact_is_stored_without_send_welcome_email(api, stack, operator_token):
    contact = {
        "firstName": "Ann",
        "lastName": "Lee",
        "email": "ann.lee@example.com",
        "role": "TECHNICAL",
        "sendWelcomeEmail": False,
    }

    data = created(api, operator_token, name="Contact Partner", contact=contact)

    shown = data["partner"]["contact"]
    assert {k: shown[k] for k in ("firstName", "lastName", "email", "role")} == {
        "firstName": "Ann",
        "lastName": "Lee",
        "email": "ann.lee@example.com",
        "role": "TECHNICAL",
    }
    assert "sendWelcomeEmail" not in shown
    partner_id = data["partner"]["partnerId"]
    stored = item(stack, "TenantsTable", f"TENANT#{partner_id}", f"PARTNER#{partner_id}")
    assert stored is not None and "sendWelcomeEmail" not in stored["contact"]


# --- GET /admin/v1/partners ---------------------------------------------------------------------------


@pytest.fixture
def three_partners(api, operator_token) -> list[dict[str, Any]]:
    """Alpha Corp (active), Beta Ltd (active), alphabet soup (inactive), in creation order."""
    return [
        created(api, operator_token, name="Alpha Corp")["partner"],
        created(api, operator_token, name="Beta Ltd")["partner"],
        created(api, operator_token, name="alphabet soup", status="inactive")["partner"],
    ]


def test_list_partners_oldest_first(api, operator_token, three_partners):
    data = listed(api, operator_token)

    assert data["partners"] == three_partners
    assert data["pagination"] == {"limit": 20, "offset": 0, "total": 3, "hasMore": False}


def test_list_partners_q_filter_is_a_case_insensitive_name_substring(api, operator_token, three_partners):
    data = listed(api, operator_token, q="ALPHA")

    assert [p["name"] for p in data["partners"]] == ["Alpha Corp", "alphabet soup"]
    assert data["pagination"]["total"] == 2
    assert data["pagination"]["hasMore"] is False
    assert listed(api, operator_token, q="ltd")["partners"] == [three_partners[1]]
    assert listed(api, operator_token, q="zzz-nothing") == {
        "partners": [],
        "pagination": {"limit": 20, "offset": 0, "total": 0, "hasMore": False},
    }


def test_list_partners_status_filter(api, operator_token, three_partners):
    inactive = listed(api, operator_token, status="inactive")
    active = listed(api, operator_token, status="active")
    both = listed(api, operator_token, status="active", q="alpha")

    assert inactive["partners"] == [three_partners[2]]
    assert inactive["pagination"]["total"] == 1
    assert [p["name"] for p in active["partners"]] == ["Alpha Corp", "Beta Ltd"]
    assert active["pagination"]["total"] == 2
    assert [p["name"] for p in both["partners"]] == ["Alpha Corp"]
    assert both["pagination"]["total"] == 1


def test_list_partners_by_cursor_visits_each_once(api, operator_token, three_partners):
    # When the list is walked two at a time
    first = listed(api, operator_token, limit="2")
    second = listed(api, operator_token, limit="2", cursor=first["pagination"]["nextCursor"])

    # Then the pages cover every partner once, in order, with consistent pagination
    assert first["partners"] == three_partners[:2]
    assert first["pagination"]["hasMore"] is True
    assert first["pagination"]["total"] == 3
    assert second["partners"] == three_partners[2:]
    assert second["pagination"]["hasMore"] is False
    assert "nextCursor" not in second["pagination"]


def test_list_partners_offset(api, operator_token, three_partners):
    data = listed(api, operator_token, limit="1", offset="1")

    assert data["partners"] == [three_partners[1]]
    assert data["pagination"]["offset"] == 1
    assert data["pagination"]["hasMore"] is True


def test_list_partners_bad_parameters(api, operator_token, three_partners, subtests):
    cursor = listed(api, operator_token, limit="1")["pagination"]["nextCursor"]
    tampered = ("A" if cursor[0] != "A" else "B") + cursor[1:]
    cases = {
        "limit_zero": {"limit": "0"},
        "limit_too_big": {"limit": "101"},
        "limit_not_integer": {"limit": "ten"},
        "negative_offset": {"offset": "-1"},
        "unknown_status": {"status": "sleeping"},
        "tampered_cursor": {"cursor": tampered},
        "cursor_of_another_filter": {"cursor": cursor, "status": "inactive"},
        "unknown_parameter": {"color": "red"},
    }
    for name, query in cases.items():
        with subtests.test(case=name):
            reply = api.call("GET", PARTNERS, token=operator_token, query=query)
            assert_error(reply, 400, "INVALID_PARAMETER")


# --- GET /admin/v1/partners/{partnerId} ---------------------------------------------------------------


def test_get_partner(api, operator_token):
    reply = create(api, operator_token, name="Get Partner", billingId="B-7")
    partner = reply.body["data"]["partner"]

    one = api.call("GET", f"{PARTNERS}/{partner['partnerId']}", token=operator_token)

    assert one.status == 200, one.text
    assert one.body["success"] is True
    assert one.body["message"] == "Partner retrieved successfully."
    assert one.body["data"] == partner
    assert one.header("ETag") == reply.header("ETag")


def test_get_unknown_partner(api, operator_token, tenant):
    unknown = api.call("GET", f"{PARTNERS}/{uuid.uuid4()}", token=operator_token)
    # a credential id is a UUID too, but no partner
    credential_id = api.call("GET", f"{PARTNERS}/{tenant.credential.client_id}", token=operator_token)

    assert_error(unknown, 404, "PARTNER_NOT_FOUND")
    assert_error(credential_id, 404, "PARTNER_NOT_FOUND")


def test_get_partner_with_malformed_id(api, operator_token, subtests):
    for bad_id in ("not-a-uuid", str(uuid.uuid4()).upper(), "123"):
        with subtests.test(partner_id=bad_id):
            reply = api.call("GET", f"{PARTNERS}/{bad_id}", token=operator_token)

            body = assert_error(reply, 400, "INVALID_PARAMETER")
            assert [d["field"] for d in body["details"]] == ["partnerId"]


# --- PATCH /admin/v1/partners/{partnerId} -------------------------------------------------------------


def test_patch_partner_fields(api, stack, operator, operator_token, tenant):
    partner_url = f"{PARTNERS}/{tenant.partner_id}"
    before = api.call("GET", partner_url, token=operator_token)

    # When the operator changes name, billing id and domains
    reply = api.call(
        "PATCH",
        partner_url,
        token=operator_token,
        json_body={"name": "Acme Renamed", "billingId": "BILL-9", "domains": ["acme.example", "acme.test"]},
    )

    # Then the full partner comes back changed, with a new ETag
    assert reply.status == 200, reply.text
    assert reply.body["message"] == "Partner updated successfully."
    data = reply.body["data"]
    assert data == {
        **before.body["data"],
        "name": "Acme Renamed",
        "billingId": "BILL-9",
        "domains": ["acme.example", "acme.test"],
        "updatedAt": data["updatedAt"],
    }
    assert data["updatedAt"] >= before.body["data"]["updatedAt"]
    assert reply.header("ETag") and reply.header("ETag") != before.header("ETag")
    again = api.call("GET", partner_url, token=operator_token)
    assert again.body["data"] == data
    assert again.header("ETag") == reply.header("ETag")
    # ...it is stored
    stored = item(stack, "TenantsTable", f"TENANT#{tenant.partner_id}", f"PARTNER#{tenant.partner_id}")
    assert stored is not None
    assert (stored["name"], stored["billingId"]) == ("Acme Renamed", "BILL-9")
    assert stored["domains"] == ["acme.example", "acme.test"]
    # ...the new name is searchable
    assert [p["partnerId"] for p in listed(api, operator_token, q="renamed")["partners"]] == [
        tenant.partner_id
    ]
    # ...and a partner.updated event records exactly what changed
    updated = [e for e in events_of(stack, tenant.partner_id) if e["type"] == "partner.updated"]
    assert len(updated) == 1
    assert updated[0]["changes"] == {
        "name": {"from": "Acme Partner", "to": "Acme Renamed"},
        "billingId": {"from": None, "to": "BILL-9"},
        "domains": {"from": None, "to": ["acme.example", "acme.test"]},
    }
    assert updated[0]["actor"] == {"type": "operator", "clientId": operator.client_id}
    assert updated[0]["resource"] == {"type": "partner", "id": tenant.partner_id}
    assert updated[0]["requestId"] == reply.header("x-request-id")


def test_patch_reference_moves_its_uniqueness_item(api, stack, operator_token, tenant):
    reply = api.call(
        "PATCH", f"{PARTNERS}/{tenant.partner_id}", token=operator_token, json_body={"reference": "NEW-REF"}
    )

    assert reply.status == 200, reply.text
    assert reply.body["data"]["reference"] == "NEW-REF"
    tenant_pk = f"TENANT#{tenant.partner_id}"
    moved = item(stack, "TenantsTable", tenant_pk, "REFERENCE#new-ref")
    assert moved is not None and moved["partnerId"] == tenant.partner_id
    assert item(stack, "TenantsTable", tenant_pk, f"REFERENCE#{tenant.partner_id}") is None


def test_patch_with_if_match(api, stack, operator_token, tenant):
    partner_url = f"{PARTNERS}/{tenant.partner_id}"
    stale = api.call("GET", partner_url, token=operator_token).header("ETag")
    first = api.call(
        "PATCH", partner_url, token=operator_token, json_body={"name": "First"}, headers={"If-Match": stale}
    )
    assert first.status == 200, first.text

    # When a second change is sent with the ETag read before the first
    late = api.call(
        "PATCH", partner_url, token=operator_token, json_body={"name": "Second"}, headers={"If-Match": stale}
    )

    # Then it is refused with 412 and nothing changes
    assert_error(late, 412, "PRECONDITION_FAILED")
    stored = item(stack, "TenantsTable", f"TENANT#{tenant.partner_id}", f"PARTNER#{tenant.partner_id}")
    assert stored is not None and stored["name"] == "First"
    names = [e["changes"].get("name", {}).get("to") for e in events_of(stack, tenant.partner_id)]
    assert "Second" not in names
    # ...while the current ETag is accepted
    current = api.call(
        "PATCH",
        partner_url,
        token=operator_token,
        json_body={"name": "Second"},
        headers={"If-Match": first.header("ETag")},
    )
    assert current.status == 200, current.text
    assert current.body["data"]["name"] == "Second"


def test_patch_verification_phrase(api, stack, operator_token, tenant):
    phrase = "a secret phrase"

    reply = api.call(
        "PATCH",
        f"{PARTNERS}/{tenant.partner_id}",
        token=operator_token,
        json_body={"verificationPhrase": phrase},
    )

    assert reply.status == 200, reply.text
    assert reply.body["data"]["hasVerificationPhrase"] is True
    assert phrase not in reply.text
    events = events_of(stack, tenant.partner_id)
    updated = [e for e in events if e["type"] == "partner.updated"]
    assert [e["changes"] for e in updated] == [{"hasVerificationPhrase": {"from": False, "to": True}}]
    assert phrase not in json.dumps(events, default=str)


def test_invalid_patches(api, stack, operator_token, tenant, subtests):
    partner_url = f"{PARTNERS}/{tenant.partner_id}"
    cases = {
        "active_status_disagree": ({"active": True, "status": "inactive"}, "INVALID_PARAMETER", "active"),
        "unknown_field": ({"color": "red"}, "INVALID_PARAMETER", "color"),
        "bad_domain": ({"domains": ["bad domain"]}, "INVALID_PARAMETER", "domains.0"),
        "status_deleted": ({"status": "deleted"}, "INVALID_PARAMETER", "status"),
        "contact_bad_email": (
            {"contact": {"firstName": "A", "lastName": "B", "email": "nope"}},
            "INVALID_PARAMETER",
            "contact.email",
        ),
    }
    for name, (body, code, field) in cases.items():
        with subtests.test(case=name):
            problem = assert_error(
                api.call("PATCH", partner_url, token=operator_token, json_body=body), 400, code
            )
            assert [d["field"] for d in problem["details"]] == [field]

    stored = item(stack, "TenantsTable", f"TENANT#{tenant.partner_id}", f"PARTNER#{tenant.partner_id}")
    assert stored is not None and stored["status"] == "active" and stored["version"] == 1
    assert [e["type"] for e in events_of(stack, tenant.partner_id) if e["type"] == "partner.updated"] == []


def test_patch_unknown_or_malformed_partner(api, operator_token):
    unknown = api.call("PATCH", f"{PARTNERS}/{uuid.uuid4()}", token=operator_token, json_body={"name": "X"})
    malformed = api.call("PATCH", f"{PARTNERS}/nope", token=operator_token, json_body={"name": "X"})

    assert_error(unknown, 404, "PARTNER_NOT_FOUND")
    assert_error(malformed, 400, "INVALID_PARAMETER")


# --- who may call /admin/v1 ---------------------------------------------------------------------------


def admin_calls(partner_id: str) -> dict[str, tuple[str, str, Any]]:
    return {
        "create": ("POST", PARTNERS, {"name": "Intruder"}),
        "list": ("GET", PARTNERS, None),
        "get": ("GET", f"{PARTNERS}/{partner_id}", None),
        "patch": ("PATCH", f"{PARTNERS}/{partner_id}", {"name": "Hijacked"}),
    }


def test_admin_routes_refuse_partner_tokens_and_anonymous_calls(api, stack, tenant, subtests):
    narrow = token_for(api, tenant.credential, scope="partners:write")
    for name, (method, path, body) in admin_calls(tenant.partner_id).items():
        with subtests.test(route=name, caller="partner"):
            assert_error(api.call(method, path, token=tenant.token, json_body=body), 403, "MISSING_SCOPES")
            assert_error(api.call(method, path, token=narrow, json_body=body), 403, "MISSING_SCOPES")
        with subtests.test(route=name, caller="anonymous"):
            assert_error(api.call(method, path, json_body=body), 401, "NO_AUTHORIZATION_HEADER")
        with subtests.test(route=name, caller="bad token"):
            assert_error(api.call(method, path, token="x.y.z", json_body=body), 401, "INVALID_ACCESS_TOKEN")

    # Nothing changed: still one root partner, under its own name
    stored = item(stack, "TenantsTable", f"TENANT#{tenant.partner_id}", f"PARTNER#{tenant.partner_id}")
    assert stored is not None and stored["name"] == "Acme Partner" and stored["version"] == 1
    assert roots_counter(stack)["active"] == 1


def test_verify_phrase_matches_only_the_partners_own_phrase(api, operator_token, new_tenant):
    # Given a partner with a verification phrase, and one without
    with_phrase = new_tenant("Phrase Partner", verificationPhrase="blue heron at dawn")
    without = new_tenant("No Phrase Partner")

    def check(partner_id: str, phrase: str):
        return api.call(
            "POST",
            f"/admin/v1/partners/{partner_id}/verify-phrase",
            token=operator_token,
            json_body={"phrase": phrase},
        )

    # Then only the exact phrase matches, and an unset phrase never does
    assert check(with_phrase.partner_id, "blue heron at dawn").body["data"] == {"match": True}
    assert check(with_phrase.partner_id, "Blue heron at dawn").body["data"] == {"match": False}
    assert check(without.partner_id, "anything").body["data"] == {"match": False}
    # And the route is the operator's, with the usual errors
    assert check(with_phrase.partner_id, "").status == 400
    partner_token = api.call(
        "POST",
        f"/admin/v1/partners/{with_phrase.partner_id}/verify-phrase",
        token=with_phrase.token,
        json_body={"phrase": "blue heron at dawn"},
    )
    assert partner_token.status == 403 and partner_token.body["code"] == "MISSING_SCOPES"
    unknown = check("00000000-0000-4000-8000-000000000000", "x")
    assert unknown.status == 404 and unknown.body["code"] == "PARTNER_NOT_FOUND"
