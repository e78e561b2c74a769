"""Credentials (technical accounts), API.md section 5: issue, list without secrets, revoke."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import Credential, Tenant, token_for
from tests.support.apigw import Api
from tests.support.clients import Stored, assert_error, assert_success

CREDENTIALS = "/partner/v1/credentials"


def issue(api: Api, tenant: Tenant, **body: object) -> dict:
    reply = api.call("POST", CREDENTIALS, token=tenant.token, json_body=body)
    return assert_success(reply, 201, "Credential created successfully.")


def test_a_credential_with_a_scope_subset_gets_tokens_with_those_scopes(api: Api, tenant: Tenant, stack):
    # When the partner issues a read-only credential
    data = issue(api, tenant, scopes=["clients:read", "events:read"], name="reports")

    # Then its secret is shown once, it gets tokens with exactly those scopes
    assert set(data) == {"clientId", "clientSecret", "partnerId", "scopes", "status", "createdAt", "name"}
    assert data["partnerId"] == tenant.partner_id and data["status"] == "active"
    token = token_for(api, Credential(data["clientId"], data["clientSecret"]))
    assert api.call("GET", "/partner/v1/clients", token=token).status == 200
    assert_error(
        api.call("POST", "/partner/v1/clients", token=token, json_body={"name": "X", "email": "x@y.co"}),
        403,
        "MISSING_SCOPES",
    )
    # And a credential.created event records its scopes, never its secret
    events = Stored(stack).events(tenant.partner_id, "credential.created")
    mine = [e for e in events if e["resource"]["id"] == data["clientId"]]
    assert len(mine) == 1 and mine[0]["changes"] == {
        "scopes": {"from": None, "to": ["clients:read", "events:read"]}
    }
    assert data["clientSecret"] not in str(events)


def test_without_scopes_the_credential_gets_the_callers_scopes(api: Api, tenant: Tenant):
    narrow = token_for(api, tenant.credential, scope="partners:write clients:read")
    reply = api.call("POST", CREDENTIALS, token=narrow, json_body={})
    data = assert_success(reply, 201, "Credential created successfully.")
    assert sorted(data["scopes"]) == ["clients:read", "partners:write"]


def test_scopes_beyond_the_callers_or_unknown_are_invalid(api: Api, tenant: Tenant):
    narrow = token_for(api, tenant.credential, scope="partners:write clients:read")
    beyond = api.call("POST", CREDENTIALS, token=narrow, json_body={"scopes": ["clients:write"]})
    unknown = api.call("POST", CREDENTIALS, token=tenant.token, json_body={"scopes": ["admin"]})
    assert_error(beyond, 400, "INVALID_PARAMETER", field="scopes")
    assert_error(unknown, 400, "INVALID_PARAMETER")


def test_an_invisible_partner_is_partner_not_found(api: Api, tenant: Tenant, other_tenant: Tenant):
    for partner_id in (str(uuid.uuid4()), other_tenant.partner_id):
        reply = api.call("POST", CREDENTIALS, token=tenant.token, json_body={"partnerId": partner_id})
        assert_error(reply, 404, "PARTNER_NOT_FOUND", field="partnerId")


def test_list_shows_the_subtrees_credentials_without_secrets(api: Api, tenant: Tenant, other_tenant: Tenant):
    extra = issue(api, tenant, name="second")
    reply = api.call("GET", CREDENTIALS, token=tenant.token)
    data = assert_success(reply, 200, "Credentials retrieved successfully.")
    ids = [c["clientId"] for c in data["credentials"]]
    assert ids == [tenant.credential.client_id, extra["clientId"]]  # oldest first
    assert data["pagination"]["total"] == 2
    assert (
        "Secret" not in reply.text
        and "secretHash" not in reply.text
        and extra["clientSecret"] not in reply.text
    )
    theirs = api.call("GET", CREDENTIALS, token=other_tenant.token).body["data"]["credentials"]
    assert [c["clientId"] for c in theirs] == [other_tenant.credential.client_id]


def test_revoking_stops_the_credential_and_records_one_event(
    api: Api, tenant: Tenant, stack, monkeypatch: pytest.MonkeyPatch
):
    # Given a second credential with a live token
    data = issue(api, tenant, name="to revoke")
    credential = Credential(data["clientId"], data["clientSecret"])
    token = token_for(api, credential)

    # When it is revoked (twice)
    first = api.call("DELETE", f"{CREDENTIALS}/{data['clientId']}", token=tenant.token)
    again = api.call("DELETE", f"{CREDENTIALS}/{data['clientId']}", token=tenant.token)

    # Then it is revoked once, gets no new tokens, and its token stops once the status cache expires
    body = assert_success(first, 200, "Credential revoked successfully.")
    assert body["status"] == "revoked" and body["revokedAt"]
    assert assert_success(again, 200, "Credential revoked successfully.")["revokedAt"] == body["revokedAt"]
    refused = api.call(
        "POST",
        "/oauth/token",
        form={
            "grant_type": "client_credentials",
            "client_id": credential.client_id,
            "client_secret": credential.secret,
        },
    )
    assert refused.status == 401 and refused.body["error"] == "invalid_client"
    from partner_api.auth import tokens

    tokens.forget_standing()  # what 60 s of waiting does to a warm container
    assert_error(api.call("GET", "/partner/v1/clients", token=token), 401, "INVALID_ACCESS_TOKEN")
    revoked = [e for e in Stored(stack).events(tenant.partner_id, "credential.revoked")]
    assert [e["resource"]["id"] for e in revoked] == [data["clientId"]]


def test_a_credential_cannot_revoke_itself_and_others_are_not_found(
    api: Api, tenant: Tenant, other_tenant: Tenant
):
    itself = api.call("DELETE", f"{CREDENTIALS}/{tenant.credential.client_id}", token=tenant.token)
    foreign = api.call("DELETE", f"{CREDENTIALS}/{other_tenant.credential.client_id}", token=tenant.token)
    unknown = api.call("DELETE", f"{CREDENTIALS}/{uuid.uuid4()}", token=tenant.token)
    assert_error(itself, 403, "PERMISSION_DENIED")
    assert_error(foreign, 404, "CREDENTIAL_NOT_FOUND")
    assert_error(unknown, 404, "CREDENTIAL_NOT_FOUND")
    assert api.call("GET", "/partner/v1/clients", token=other_tenant.token).status == 200


def test_credentials_routes_need_partners_scopes(api: Api, tenant: Tenant):
    reader = token_for(api, tenant.credential, scope="clients:read")
    assert_error(api.call("GET", CREDENTIALS, token=reader), 403, "MISSING_SCOPES")
    assert_error(api.call("POST", CREDENTIALS, token=reader, json_body={}), 403, "MISSING_SCOPES")
