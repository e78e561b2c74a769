"""Token exchange (seed 004's user tokens), /oauth/validate_token and /partner/v1/me."""

from __future__ import annotations

from typing import Any

import jwt

from tests.conftest import Tenant, token_for
from tests.support.apigw import Api, Reply
from tests.support.clients import register

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
RESERVED = {"admin", "users:impersonate", "partners:write", "accounts:write", "webhooks:write"}


def subject(email: str) -> str:
    """An unsigned-in-spirit subject token: its signature is never checked."""
    return jwt.encode({"email": email}, "k" * 32, algorithm="HS256")


def exchange(api: Api, tenant: Tenant, email: str, *, actor: str | None = None, **extra: str) -> Reply:
    form = {
        "grant_type": EXCHANGE,
        "client_id": tenant.credential.client_id,
        "client_secret": tenant.credential.secret,
        "subject_token": subject(email),
        "subject_token_type": "jwt",
        "actor_token": actor or tenant.token,
        "actor_token_type": "access_token",
        **extra,
    }
    return api.call("POST", "/oauth/token", form=form)


def claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def test_an_exchange_gives_a_300_second_user_token_acting_for_the_client(api: Api, tenant: Tenant):
    # Given an active client
    client = register(api, tenant, "user@example.com")

    # When the partner exchanges its token for the client's user token
    reply = exchange(api, tenant, "User@Example.com")

    # Then a 300 s user token whose sub is the client and act.sub the actor, without reserved scopes
    assert reply.status == 200, reply.text
    body = reply.body
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    assert body["issued_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    granted = set(body["scope"].split())
    assert granted and not granted & RESERVED
    token = claims(body["access_token"])
    assert token["sub"] == client["clientId"] and token["token_use"] == "user"
    assert token["act"] == {"sub": tenant.credential.client_id}
    assert token["exp"] - token["iat"] == 300
    assert set(token["scope"].split()) == granted


def test_me_with_a_user_token_is_the_client_and_with_a_partner_token_is_refused(api: Api, tenant: Tenant):
    client = register(api, tenant, "me@example.com", name="Me Myself")
    user_token = exchange(api, tenant, "me@example.com", scope="clients:read").body["access_token"]

    mine = api.call("GET", "/partner/v1/me", token=user_token)
    partner = api.call("GET", "/partner/v1/me", token=tenant.token)

    assert mine.status == 200, mine.text
    assert mine.body["data"] == client
    assert partner.status == 403 and partner.body["code"] == "PERMISSION_DENIED"


def test_refusals_are_invalid_grant_or_invalid_scope(api: Api, tenant: Tenant, other_tenant: Tenant):
    # Given a suspended client, an active one, another tenant's client, and a token without impersonation
    suspended = register(api, tenant, "suspended@example.com")
    api.call(
        "PATCH",
        f"/partner/v1/clients/{suspended['clientId']}",
        token=tenant.token,
        json_body={"status": "suspended"},
    )
    register(api, tenant, "active@example.com")
    register(api, other_tenant, "theirs@example.com")
    no_impersonation = token_for(api, tenant.credential, scope="clients:read clients:write")

    cases = {
        "unknown email": (exchange(api, tenant, "nobody@example.com"), 400, "invalid_grant"),
        "suspended client": (exchange(api, tenant, "suspended@example.com"), 400, "invalid_grant"),
        "another tenant's client": (exchange(api, tenant, "theirs@example.com"), 400, "invalid_grant"),
        "actor without users:impersonate": (
            exchange(api, tenant, "active@example.com", actor=no_impersonation),
            400,
            "invalid_grant",
        ),
        "reserved scope": (
            exchange(api, tenant, "active@example.com", scope="clients:read webhooks:write"),
            400,
            "invalid_scope",
        ),
        "forged actor token": (
            exchange(api, tenant, "active@example.com", actor="x.y.z"),
            400,
            "invalid_grant",
        ),
        "another client's actor token": (
            exchange(api, tenant, "active@example.com", actor=other_tenant.token),
            400,
            "invalid_grant",
        ),
        "missing subject type": (
            exchange(api, tenant, "active@example.com", subject_token_type=""),
            400,
            "invalid_request",
        ),
    }
    for name, (reply, status, error) in cases.items():
        assert (reply.status, reply.body.get("error")) == (status, error), (name, reply.text)
        assert "access_token" not in reply.body, name


def test_validate_token_says_valid_only_for_a_live_token_of_that_client(
    api: Api, tenant: Tenant, other_tenant: Tenant
):
    def validate(client_id: str, token: str) -> Reply:
        return api.call(
            "POST",
            "/oauth/validate_token",
            form={"client_id": client_id, "token": token, "type": "access_token"},
        )

    register(api, tenant, "v@example.com")
    user_token = exchange(api, tenant, "v@example.com").body["access_token"]

    own = validate(tenant.credential.client_id, tenant.token)
    user = validate(tenant.credential.client_id, user_token)
    foreign = validate(other_tenant.credential.client_id, tenant.token)
    garbage = validate(tenant.credential.client_id, "not-a-token")
    missing = api.call("POST", "/oauth/validate_token", form={"client_id": tenant.credential.client_id})

    assert own.status == 200 and own.body == {"valid": True, "expires_at": claims(tenant.token)["exp"]}
    assert user.body == {"valid": True, "expires_at": claims(user_token)["exp"]}
    assert foreign.body == {"valid": False} and garbage.body == {"valid": False}
    assert missing.status == 400 and missing.body["error"] == "invalid_request"
