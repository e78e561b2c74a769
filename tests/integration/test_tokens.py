"""Every protected route verifies the access token: signature, kid, claims, scopes and the
standing of the credential and partner behind it (API.md sections 1-3, DESIGN.md "Auth")."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import token_for

ISSUER = "https://api.test.local"  # what the test events' domainName makes the issuer
CLIENTS = "/partner/v1/clients"


# --- helpers -------------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def decode_segment(text: str) -> dict[str, Any]:
    return dict(json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))))


def segments(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A compact JWS's header and claims (unverified) and its signature segment."""
    header, payload, signature = token.split(".")
    return decode_segment(header), decode_segment(payload), signature


def encode_segment(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def signed(claims: dict[str, Any]) -> str:
    """A token with a genuine signature of the API's KMS key over ``claims`` of our choosing."""
    from partner_api.auth.signing import sign_jwt

    return sign_jwt(claims)


def jwks_key(api) -> dict[str, str]:
    reply = api.call("GET", "/.well-known/jwks.json")
    assert reply.status == 200, reply.text
    (key,) = reply.body["keys"]
    return key


def assert_error(reply, status: int, code: str) -> None:
    """The error envelope of API.md section 1, with the request id echoed."""
    assert reply.status == status, reply.text
    body = reply.body
    assert body["success"] is False
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert body["requestId"] == reply.header("x-request-id")
    assert "data" not in body
    assert "Traceback" not in reply.text


def stored(table: str, pk: str, sk: str) -> dict[str, Any] | None:
    import boto3

    found = boto3.client("dynamodb").get_item(
        TableName=table, Key={"PK": {"S": pk}, "SK": {"S": sk}}, ConsistentRead=True
    )
    return found.get("Item")


def email_claimed(stack, tenant_id: str, email: str) -> bool:
    return (
        stored(stack.physical_ids["UsersTable"], f"TENANT#{tenant_id}", f"EMAIL#{email.lower()}") is not None
    )


def revoke(stack, client_id: str) -> None:
    """Revoke a credential the way the store records it: its item's status."""
    import boto3

    boto3.client("dynamodb").update_item(
        TableName=stack.physical_ids["TenantsTable"],
        Key={"PK": {"S": f"CREDENTIAL#{client_id}"}, "SK": {"S": "CREDENTIAL"}},
        UpdateExpression="SET #s = :revoked",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":revoked": {"S": "revoked"}},
    )


def register(api, token: str, email: str = "john.doe@example.com"):
    return api.call("POST", CLIENTS, token=token, json_body={"name": "John Doe", "email": email})


class Clock:
    """Stands in for the ``time`` module of ``partner_api.auth.tokens``: monotonic time can jump
    ahead, so the status cache expires without the test waiting for it."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.ahead

    def time(self) -> float:
        return time.time()

    def pass_half_the_cache_lifetime(self) -> None:
        from partner_api.config import settings

        self.ahead += settings().status_cache_seconds / 2

    def pass_cache_lifetime(self) -> None:
        from partner_api.config import settings

        self.ahead += settings().status_cache_seconds + 1


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    from partner_api.auth import tokens

    fake = Clock()
    monkeypatch.setattr(tokens, "time", fake)
    return fake


# --- forged and invalid tokens ------------------------------------------------------------------------


def _alg_none(api, token: str) -> str:
    header, claims, _ = segments(token)
    return encode_segment({**header, "alg": "none"}) + "." + encode_segment(claims) + "."


def _hs256_with_public_key(api, token: str) -> str:
    """The classic algorithm confusion: HMAC keyed with the verifier's public key (PEM)."""
    import jwt
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    pem = jwt.PyJWK(jwks_key(api)).key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    header, claims, _ = segments(token)
    signing_input = encode_segment({**header, "alg": "HS256"}) + "." + encode_segment(claims)
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url(mac)


def _unknown_key_real_kid(api, token: str) -> str:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    header, claims, _ = segments(token)
    stranger = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(claims, stranger, algorithm="ES256", headers={"kid": header["kid"]})


def _signature_stripped(api, token: str) -> str:
    return token.rsplit(".", 1)[0] + "."


def _resigned(**changes: Any) -> Callable[[Any, str], str]:
    """A genuinely signed token whose claims differ from a real one by ``changes``
    (a value of ``None`` drops the claim)."""

    def forge(api, token: str) -> str:
        _, claims, _ = segments(token)
        for name, value in changes.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value(claims) if callable(value) else value
        return signed(claims)

    return forge


FORGERIES = {
    "alg_none": _alg_none,
    "hs256_keyed_with_public_key_pem": _hs256_with_public_key,
    "unknown_ec_key_with_real_kid": _unknown_key_real_kid,
    "signature_stripped": _signature_stripped,
    "expired": _resigned(iat=lambda c: c["iat"] - 7200, exp=lambda c: c["iat"] - 3600),
    "wrong_audience": _resigned(aud="someone-else"),
    "wrong_issuer": _resigned(iss="https://evil.example.com"),
    "missing_scope_claim": _resigned(scope=None),
    "missing_jti_claim": _resigned(jti=None),
    "bogus_token_use": _resigned(token_use="bogus"),
    "partner_token_without_tenant": _resigned(tenant_id=None, partner_id=None),
    "user_token_without_actor": _resigned(token_use="user"),
    "not_a_jwt": lambda api, token: "not-a-jwt",
    "three_garbage_segments": lambda api, token: "abc.def.ghi",
}


def test_forged_or_invalid_tokens_are_rejected_on_read_and_write_routes(api, stack, tenant, subtests):
    for name, forge in FORGERIES.items():
        with subtests.test(forgery=name):
            # Given a forged token derived from the tenant's real one
            forged = forge(api, tenant.token)
            assert forged != tenant.token
            email = f"{name.replace('_', '-')}@example.com"

            # When it is presented to a reading and a writing route
            read = api.call("GET", CLIENTS, token=forged)
            write = register(api, forged, email)

            # Then both answer 401 INVALID_ACCESS_TOKEN and nothing was written
            assert_error(read, 401, "INVALID_ACCESS_TOKEN")
            assert_error(write, 401, "INVALID_ACCESS_TOKEN")
            assert not email_claimed(stack, tenant.partner_id, email)

    # ...while the genuine token still works: the rejections were about the forgeries
    listed = api.call("GET", CLIENTS, token=tenant.token)
    assert listed.status == 200, listed.text
    assert listed.body["data"]["clients"] == []


def test_a_resigned_token_with_unchanged_claims_is_accepted(api, stack, tenant):
    """Control for the re-signed forgeries: signing a real token's claims again yields a token
    that works, so their rejection comes from the changed claim alone."""
    # Given the tenant's claims signed again with the API's key
    _, claims, _ = segments(tenant.token)
    again = signed(claims)

    # When it is used to register a client
    reply = register(api, again, "control@example.com")

    # Then it is accepted and the client stored
    assert reply.status == 201, reply.text
    assert reply.body["data"]["email"] == "control@example.com"
    assert email_claimed(stack, tenant.partner_id, "control@example.com")


def test_payload_moved_to_another_tenant_keeps_no_valid_signature(api, stack, tenant, other_tenant):
    # Given the tenant's token with its payload rewritten to name the other tenant
    header, claims, signature = segments(tenant.token)
    claims |= {"tenant_id": other_tenant.partner_id, "partner_id": other_tenant.partner_id}
    tampered = encode_segment(header) + "." + encode_segment(claims) + "." + signature

    # When it reads and writes clients
    read = api.call("GET", CLIENTS, token=tampered)
    write = register(api, tampered, "intruder@example.com")

    # Then both are refused and neither tenant has the client
    assert_error(read, 401, "INVALID_ACCESS_TOKEN")
    assert_error(write, 401, "INVALID_ACCESS_TOKEN")
    assert not email_claimed(stack, other_tenant.partner_id, "intruder@example.com")
    assert not email_claimed(stack, tenant.partner_id, "intruder@example.com")


# --- the Authorization header -------------------------------------------------------------------------


def test_missing_authorization_header(api, stack, tenant):
    read = api.call("GET", CLIENTS)
    write = api.call("POST", CLIENTS, json_body={"name": "John Doe", "email": "no.auth@example.com"})

    assert_error(read, 401, "NO_AUTHORIZATION_HEADER")
    assert_error(write, 401, "NO_AUTHORIZATION_HEADER")
    assert not email_claimed(stack, tenant.partner_id, "no.auth@example.com")


MALFORMED_HEADERS = {
    "basic": "Basic xxx",
    "bearer_alone": "Bearer",
    "bearer_blank": "Bearer   ",
    "other_scheme": "Token {token}",
    "no_scheme": "{token}",
    "basic_with_token": "Basic {token}",
    "bearer_twice": "Bearer Bearer {token}",
}


def test_malformed_authorization_header(api, tenant, subtests):
    for name, value in MALFORMED_HEADERS.items():
        with subtests.test(header=name):
            reply = api.call("GET", CLIENTS, headers={"Authorization": value.format(token=tenant.token)})

            assert_error(reply, 401, "INVALID_ACCESS_TOKEN")

    # ...while the same token under the (case-insensitive) Bearer scheme is accepted
    accepted = api.call("GET", CLIENTS, headers={"authorization": f"bearer {tenant.token}"})
    assert accepted.status == 200, accepted.text
    assert accepted.body["data"]["clients"] == []


# --- scopes -------------------------------------------------------------------------------------------


def test_read_scope_reads_but_cannot_write(api, stack, tenant):
    # Given a token narrowed to clients:read
    reader = token_for(api, tenant.credential, scope="clients:read")
    assert segments(reader)[1]["scope"] == "clients:read"
    assert register(api, tenant.token, "existing@example.com").status == 201

    # When it lists and then registers
    listed = api.call("GET", CLIENTS, token=reader)
    refused = register(api, reader, "blocked@example.com")

    # Then it can read, and the write is 403 MISSING_SCOPES with nothing stored
    assert listed.status == 200, listed.text
    assert [c["email"] for c in listed.body["data"]["clients"]] == ["existing@example.com"]
    assert_error(refused, 403, "MISSING_SCOPES")
    assert not email_claimed(stack, tenant.partner_id, "blocked@example.com")


def test_write_scope_implies_read(api, stack, tenant):
    # Given a token holding clients:write only
    writer = token_for(api, tenant.credential, scope="clients:write")

    # When it registers and then reads the client back
    created = register(api, writer, "writer@example.com")
    assert created.status == 201, created.text
    client_id = created.body["data"]["clientId"]
    listed = api.call("GET", CLIENTS, token=writer)
    one = api.call("GET", f"{CLIENTS}/{client_id}", token=writer)

    # Then both reads succeed
    assert listed.status == 200, listed.text
    assert [c["clientId"] for c in listed.body["data"]["clients"]] == [client_id]
    assert one.status == 200, one.text
    assert one.body["data"]["email"] == "writer@example.com"


def test_unrelated_scope_cannot_read_clients(api, tenant):
    partners_only = token_for(api, tenant.credential, scope="partners:read events:read")

    assert_error(api.call("GET", CLIENTS, token=partners_only), 403, "MISSING_SCOPES")


def test_partner_token_cannot_use_operator_routes(api, tenant, operator_token):
    # When a partner token (every partner scope) lists or creates root partners
    listed = api.call("GET", "/admin/v1/partners", token=tenant.token)
    created = api.call("POST", "/admin/v1/partners", token=tenant.token, json_body={"name": "Sneaky"})

    # Then both are 403 MISSING_SCOPES and no partner was created
    assert_error(listed, 403, "MISSING_SCOPES")
    assert_error(created, 403, "MISSING_SCOPES")
    names = [
        p["name"]
        for p in api.call("GET", "/admin/v1/partners", token=operator_token).body["data"]["partners"]
    ]
    assert names == ["Acme Partner"]


def test_operator_token_cannot_use_partner_routes(api, operator_token):
    listed = api.call("GET", CLIENTS, token=operator_token)
    created = register(api, operator_token, "operator@example.com")

    assert_error(listed, 403, "MISSING_SCOPES")
    assert_error(created, 403, "MISSING_SCOPES")


# --- revocation and inactive partners -----------------------------------------------------------------


def test_revoked_credential_stops_working_once_the_status_cache_expires(api, stack, tenant, clock):
    # Given the tenant's token used once (its standing is cached)
    assert api.call("GET", CLIENTS, token=tenant.token).status == 200
    # ...and its credential revoked directly in the table
    revoke(stack, tenant.credential.client_id)

    # When the token is used again within the cache lifetime
    clock.pass_half_the_cache_lifetime()
    warm = api.call("GET", CLIENTS, token=tenant.token)
    # ...and after it
    clock.pass_cache_lifetime()
    expired = api.call("GET", CLIENTS, token=tenant.token)
    write = register(api, tenant.token, "revoked@example.com")

    # Then the cached standing still serves, then the token is refused (read and write)
    assert warm.status == 200, warm.text
    assert_error(expired, 401, "INVALID_ACCESS_TOKEN")
    assert_error(write, 401, "INVALID_ACCESS_TOKEN")
    assert not email_claimed(stack, tenant.partner_id, "revoked@example.com")
    # ...and the credential can no longer obtain tokens, without a hint why
    token = api.call(
        "POST",
        "/oauth/token",
        form={
            "grant_type": "client_credentials",
            "client_id": tenant.credential.client_id,
            "client_secret": tenant.credential.secret,
        },
    )
    assert token.status == 401, token.text
    assert token.body == {"error": "invalid_client", "error_description": "Client authentication failed."}


def test_revocation_bites_immediately_without_a_status_cache(api, stack, tenant, monkeypatch):
    from partner_api.auth import tokens
    from partner_api.config import settings

    # Given a container configured not to cache standing, and a token used once
    monkeypatch.setenv("STATUS_CACHE_SECONDS", "0")
    settings.cache_clear()
    tokens.forget_standing()
    assert api.call("GET", CLIENTS, token=tenant.token).status == 200

    # When the credential is revoked
    revoke(stack, tenant.credential.client_id)

    # Then the very next request is refused
    assert_error(api.call("GET", CLIENTS, token=tenant.token), 401, "INVALID_ACCESS_TOKEN")


def test_inactive_partner_is_refused_until_reactivated(api, stack, tenant, operator_token, clock):
    partner_url = f"/admin/v1/partners/{tenant.partner_id}"
    token_form = {
        "grant_type": "client_credentials",
        "client_id": tenant.credential.client_id,
        "client_secret": tenant.credential.secret,
    }
    # Given the tenant's token in use
    assert api.call("GET", CLIENTS, token=tenant.token).status == 200

    # When the operator deactivates the partner
    patched = api.call("PATCH", partner_url, token=operator_token, json_body={"status": "inactive"})

    # Then the partner is stored inactive
    assert patched.status == 200, patched.text
    assert patched.body["data"]["status"] == "inactive"
    assert patched.body["data"]["active"] is False
    item = stored(
        stack.physical_ids["TenantsTable"], f"TENANT#{tenant.partner_id}", f"PARTNER#{tenant.partner_id}"
    )
    assert item is not None and item["status"] == {"S": "inactive"}
    # ...its token still works while its standing is cached, then gets 403 AUTHENTICATION_FAILED
    clock.pass_half_the_cache_lifetime()
    assert api.call("GET", CLIENTS, token=tenant.token).status == 200
    clock.pass_cache_lifetime()
    assert_error(api.call("GET", CLIENTS, token=tenant.token), 403, "AUTHENTICATION_FAILED")
    assert_error(register(api, tenant.token, "inactive@example.com"), 403, "AUTHENTICATION_FAILED")
    assert not email_claimed(stack, tenant.partner_id, "inactive@example.com")
    # ...and its credential cannot obtain a new token
    refused = api.call("POST", "/oauth/token", form=token_form)
    assert refused.status == 401, refused.text
    assert refused.body == {"error": "invalid_client", "error_description": "Client authentication failed."}

    # When the operator activates it again (and the cache lifetime passes)
    again = api.call("PATCH", partner_url, token=operator_token, json_body={"active": True})
    clock.pass_cache_lifetime()

    # Then the old token and the credential work again
    assert again.status == 200, again.text
    assert again.body["data"]["status"] == "active"
    assert api.call("GET", CLIENTS, token=tenant.token).status == 200
    assert api.call("POST", "/oauth/token", form=token_form).status == 200


# --- a warm request makes no AWS call to authenticate -------------------------------------------------


def test_warm_request_makes_no_aws_call_to_authenticate(api, tenant):
    from partner_api.auth import signing, tokens
    from partner_api.store import aws

    # Given a registered client, and a GET function in a fresh container (no key, no standing)
    client_id = register(api, tenant.token).body["data"]["clientId"]
    tokens.forget_standing()
    signing.forget_key()
    calls: list[tuple[str, str, dict[str, Any]]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append((model.service_model.service_name, model.name, params))

    services = sorted(aws._clients)
    for service in services:
        aws._clients[service].meta.events.register("before-parameter-build", record, unique_id="test-count")

    # When the client is fetched twice
    calls.clear()
    cold = api.call("GET", f"{CLIENTS}/{client_id}", token=tenant.token)
    cold_calls = [(s, op) for s, op, _ in calls]
    calls.clear()
    warm = api.call("GET", f"{CLIENTS}/{client_id}", token=tenant.token)
    warm_calls = list(calls)

    # Then the cold request looked up the key and the caller's standing, and the warm one
    # made exactly one call: the GetItem of the client itself
    assert cold.status == 200 and warm.status == 200, (cold.text, warm.text)
    assert warm.body["data"] == cold.body["data"]
    assert ("kms", "GetPublicKey") in cold_calls
    assert len(cold_calls) >= 3, cold_calls  # key + standing + the client
    assert [(s, op) for s, op, _ in warm_calls] == [("dynamodb", "GetItem")]
    assert warm_calls[0][2]["Key"] == {
        "PK": {"S": f"TENANT#{tenant.partner_id}"},
        "SK": {"S": f"CLIENT#{client_id}"},
    }
    assert sorted(aws._clients) == services  # no client was created unobserved


def test_a_new_token_of_a_warm_credential_needs_no_standing_lookup(api, tenant):
    """Standing is cached per credential, not per token: a second token of the same
    credential is authenticated without any AWS call."""
    from partner_api.store import aws

    # Given a client read once (key and standing cached) and a second token of the same credential
    client_id = register(api, tenant.token).body["data"]["clientId"]
    assert api.call("GET", f"{CLIENTS}/{client_id}", token=tenant.token).status == 200
    second = token_for(api, tenant.credential, scope="clients:read")
    assert segments(second)[1]["jti"] != segments(tenant.token)[1]["jti"]
    operations: list[tuple[str, str]] = []
    services = sorted(aws._clients)
    for service in services:
        aws._clients[service].meta.events.register(
            "before-parameter-build",
            lambda model, **_: operations.append((model.service_model.service_name, model.name)),
            unique_id="test-count",
        )

    # When the second token reads the client
    reply = api.call("GET", f"{CLIENTS}/{client_id}", token=second)

    # Then the only AWS call is the client's own GetItem
    assert reply.status == 200, reply.text
    assert reply.body["data"]["clientId"] == client_id
    assert operations == [("dynamodb", "GetItem")]
    assert sorted(aws._clients) == services


def test_rejections_carry_the_request_id(api):
    trace = "my-trace-" + uuid.uuid4().hex
    generated = api.call("GET", CLIENTS, token="x")
    given = api.call("GET", CLIENTS, token="x", headers={"x-request-id": trace})

    assert_error(generated, 401, "INVALID_ACCESS_TOKEN")
    assert_error(given, 401, "INVALID_ACCESS_TOKEN")
    assert given.body["requestId"] == trace
    assert generated.body["requestId"] not in ("", trace)
