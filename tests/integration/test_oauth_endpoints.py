"""The OAuth and platform endpoints (API.md section 3): token issuance, keys, metadata,
base URIs and health. These answer without the envelope."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from typing import Any

from partner_api.auth.principal import PARTNER_SCOPES
from tests.conftest import token_for

ISSUER = "https://api.test.local"  # the test events' domainName
AUDIENCE = "partner-api"
ALL_PARTNER_SCOPES = " ".join(PARTNER_SCOPES)
INVALID_CLIENT = {"error": "invalid_client", "error_description": "Client authentication failed."}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def credentials_form(credential, **fields: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": credential.client_id,
        "client_secret": credential.secret,
        **fields,
    }


def request_token(api, form: dict[str, str], headers: dict[str, str] | None = None):
    return api.call("POST", "/oauth/token", form=form, headers=headers)


def jwks(api) -> dict[str, Any]:
    reply = api.call("GET", "/.well-known/jwks.json")
    assert reply.status == 200, reply.text
    return reply.body


def verified(api, token: str, *, issuer: str = ISSUER) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of ``token``, verified with PyJWT against the published JWKS key."""
    import jwt

    (key,) = jwks(api)["keys"]
    claims = jwt.decode(
        token,
        key=jwt.PyJWK(key).key,
        algorithms=["ES256"],
        audience=AUDIENCE,
        issuer=issuer,
        options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
    )
    return jwt.get_unverified_header(token), claims


def assert_token_response(reply, scope: str, token_type: str = "Bearer") -> str:
    """A successful RFC 6749 token response: no envelope, never cached."""
    assert reply.status == 200, reply.text
    body = reply.body
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == token_type
    assert body["expires_in"] == 3600
    assert body["scope"] == scope
    assert reply.header("Cache-Control") == "no-store"
    assert (reply.header("Content-Type") or "").startswith("application/json")
    return str(body["access_token"])


def assert_oauth_error(reply, status: int, error: str) -> None:
    """An RFC 6749 error body: no envelope, never cached."""
    assert reply.status == status, reply.text
    body = reply.body
    assert body["error"] == error
    assert set(body) <= {"error", "error_description"}
    assert "success" not in body and "code" not in body
    assert reply.header("Cache-Control") == "no-store"


# --- POST /oauth/token: client_credentials ------------------------------------------------------------


def test_client_credentials_with_form_fields(api, tenant):
    # Given the tenant's credential
    started = int(time.time())

    # When it asks for a token with client_id/client_secret form fields and no scope
    reply = request_token(api, credentials_form(tenant.credential))

    # Then it gets a one-hour bearer token for all of its credential's scopes
    token = assert_token_response(reply, ALL_PARTNER_SCOPES)
    header, claims = verified(api, token)
    (key,) = jwks(api)["keys"]
    assert header["alg"] == "ES256"
    assert header["kid"] == key["kid"]
    assert claims["iss"] == ISSUER
    assert claims["aud"] == AUDIENCE
    assert claims["sub"] == tenant.credential.client_id
    assert claims["partner_id"] == tenant.partner_id
    assert claims["tenant_id"] == tenant.partner_id  # a root partner is its own tenant
    assert claims["scope"] == ALL_PARTNER_SCOPES
    assert claims["token_use"] == "partner"
    assert started - 5 <= claims["iat"] <= int(time.time()) + 5
    assert claims["exp"] == claims["iat"] + 3600
    assert isinstance(claims["jti"], str) and claims["jti"]
    # ...the token is accepted by the API
    assert api.call("GET", "/partner/v1/clients", token=token).status == 200
    # ...and every token has its own jti
    again = assert_token_response(request_token(api, credentials_form(tenant.credential)), ALL_PARTNER_SCOPES)
    assert verified(api, again)[1]["jti"] != claims["jti"]


def test_client_credentials_with_http_basic(api, tenant):
    # When the credential authenticates with HTTP Basic
    reply = request_token(
        api, {"grant_type": "client_credentials"}, headers={"Authorization": tenant.credential.basic()}
    )

    # Then the token is the same kind as with form fields
    token = assert_token_response(reply, ALL_PARTNER_SCOPES)
    _, claims = verified(api, token)
    assert claims["sub"] == tenant.credential.client_id
    assert claims["partner_id"] == tenant.partner_id
    assert api.call("GET", "/partner/v1/clients", token=token).status == 200


def test_failed_client_authentication_gives_no_hint(api, tenant, subtests):
    client_id, secret = tenant.credential.client_id, tenant.credential.secret
    attempts = {
        "wrong_secret": {"client_id": client_id, "client_secret": secret + "x"},
        "empty_secret": {"client_id": client_id, "client_secret": ""},
        "unknown_client_id": {"client_id": str(uuid.uuid4()), "client_secret": secret},
        "malformed_client_id": {"client_id": "not-a-uuid", "client_secret": secret},
        "uppercase_client_id": {"client_id": client_id.upper(), "client_secret": secret},
        "no_client_authentication": {},
    }
    bodies = []
    for name, fields in attempts.items():
        with subtests.test(attempt=name):
            # When the token endpoint is called with bad client authentication
            reply = request_token(api, {"grant_type": "client_credentials", **fields})

            # Then it is 401 invalid_client, with the same body whatever was wrong
            assert_oauth_error(reply, 401, "invalid_client")
            assert reply.body == INVALID_CLIENT
            bodies.append(reply.text)
    with subtests.test(attempt="basic_wrong_secret"):
        wrong = base64.b64encode(f"{client_id}:{secret}x".encode()).decode()
        reply = request_token(
            api, {"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {wrong}"}
        )
        assert_oauth_error(reply, 401, "invalid_client")
        assert reply.body == INVALID_CLIENT
    with subtests.test(attempt="basic_not_base64"):
        reply = request_token(
            api, {"grant_type": "client_credentials"}, headers={"Authorization": "Basic %%%"}
        )
        assert_oauth_error(reply, 401, "invalid_client")
    assert len(set(bodies)) == 1


def test_malformed_token_requests(api, tenant, subtests):
    without_grant = credentials_form(tenant.credential)
    del without_grant["grant_type"]
    cases = {
        "missing_grant_type": (without_grant, None, "invalid_request"),
        "blank_grant_type": (credentials_form(tenant.credential, grant_type=""), None, "invalid_request"),
        "password_grant": (
            credentials_form(tenant.credential, grant_type="password"),
            None,
            "unsupported_grant_type",
        ),
        "basic_and_form_secret": (
            credentials_form(tenant.credential),
            {"Authorization": tenant.credential.basic()},
            "invalid_request",
        ),
    }
    for name, (form, headers, error) in cases.items():
        with subtests.test(case=name):
            reply = request_token(api, form, headers)

            assert_oauth_error(reply, 400, error)
            assert "access_token" not in reply.body


def test_requested_scope_space_or_comma_separated(api, tenant, subtests):
    for requested in (
        "clients:read clients:write",
        "clients:read,clients:write",
        " clients:read ,  clients:write ",
    ):
        with subtests.test(scope=requested):
            # When the credential asks for two of its scopes
            reply = request_token(api, credentials_form(tenant.credential, scope=requested))

            # Then the token carries exactly those, space-separated
            token = assert_token_response(reply, "clients:read clients:write")
            assert verified(api, token)[1]["scope"] == "clients:read clients:write"


def test_scope_the_credential_lacks_is_invalid_scope(api, tenant, subtests):
    for requested in ("admin", "clients:read admin", "clients:delete", "CLIENTS:READ"):
        with subtests.test(scope=requested):
            reply = request_token(api, credentials_form(tenant.credential, scope=requested))

            assert_oauth_error(reply, 400, "invalid_scope")
            assert "access_token" not in reply.body


def test_blank_scope_means_all_of_the_credentials_scopes(api, tenant):
    reply = request_token(api, credentials_form(tenant.credential, scope="  "))

    assert_token_response(reply, ALL_PARTNER_SCOPES)


NON_FORM_BODIES = {
    "json": ("application/json", json.dumps({"grant_type": "client_credentials"})),
    "text": ("text/plain", "grant_type=client_credentials"),
    "none": (None, "grant_type=client_credentials"),
}


def test_non_form_content_type_is_invalid_request(api, tenant, subtests):
    for name, (content_type, body) in NON_FORM_BODIES.items():
        with subtests.test(content_type=name):
            headers = {"Authorization": tenant.credential.basic()}
            if content_type:
                headers["Content-Type"] = content_type

            reply = api.call("POST", "/oauth/token", body=body, headers=headers)

            assert_oauth_error(reply, 400, "invalid_request")


def test_form_content_type_with_charset_is_accepted(api, tenant):
    from urllib.parse import urlencode

    reply = api.call(
        "POST",
        "/oauth/token",
        body=urlencode(credentials_form(tenant.credential)),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"},
    )

    assert_token_response(reply, ALL_PARTNER_SCOPES)


def test_operator_token(api, operator):
    # When the operator credential asks for a token
    reply = request_token(api, credentials_form(operator))

    # Then it is an operator token with scope admin and no tenant
    token = assert_token_response(reply, "admin")
    _, claims = verified(api, token)
    assert claims["token_use"] == "operator"
    assert claims["scope"] == "admin"
    assert claims["sub"] == operator.client_id
    assert "tenant_id" not in claims and "partner_id" not in claims
    assert api.call("GET", "/admin/v1/partners", token=token).status == 200
    # ...and it cannot ask for partner scopes
    assert_oauth_error(
        request_token(api, credentials_form(operator, scope="clients:read")), 400, "invalid_scope"
    )


# --- keys and metadata --------------------------------------------------------------------------------


def test_jwks_publishes_the_signing_key(api, tenant):
    # When the key set is fetched
    keys = jwks(api)["keys"]

    # Then it holds one P-256 signing key whose kid is its RFC 7638 thumbprint
    (key,) = keys
    assert set(key) == {"kid", "kty", "crv", "x", "y", "alg", "use"}
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")
    assert len(unb64url(key["x"])) == 32 and len(unb64url(key["y"])) == 32
    canonical = json.dumps(
        {k: key[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True
    )
    assert key["kid"] == b64url(hashlib.sha256(canonical.encode()).digest())
    # ...and it is the key that verifies the tenant's token
    header, claims = verified(api, tenant.token)
    assert header["kid"] == key["kid"]
    assert claims["sub"] == tenant.credential.client_id


def test_authorization_server_metadata_matches_the_tokens(api, tenant):
    # When the metadata is fetched
    reply = api.call("GET", "/.well-known/oauth-authorization-server")

    # Then its issuer is the tokens' issuer, and its endpoints live under it
    assert reply.status == 200, reply.text
    meta = reply.body
    assert "success" not in meta
    assert meta["issuer"] == ISSUER
    assert meta["issuer"] == verified(api, tenant.token)[1]["iss"]
    assert meta["token_endpoint"] == f"{ISSUER}/oauth/token"
    assert meta["jwks_uri"] == f"{ISSUER}/.well-known/jwks.json"
    assert "client_credentials" in meta["grant_types_supported"]
    assert set(meta["token_endpoint_auth_methods_supported"]) >= {"client_secret_basic", "client_secret_post"}
    assert set(meta["scopes_supported"]) >= {"admin", *PARTNER_SCOPES}
    # ...and the advertised endpoints are the API's own routes
    paths = {(r.method, r.path) for r in api.routes}
    assert ("POST", meta["token_endpoint"].removeprefix(ISSUER)) in paths
    assert ("GET", meta["jwks_uri"].removeprefix(ISSUER)) in paths


def test_configured_public_url_is_issuer_everywhere(api, tenant, monkeypatch):
    from partner_api.config import settings

    # Given the API configured with a public base URL
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://partners.example.com/")
    settings.cache_clear()

    # When a token and the metadata are fetched
    token = assert_token_response(request_token(api, credentials_form(tenant.credential)), ALL_PARTNER_SCOPES)
    meta = api.call("GET", "/.well-known/oauth-authorization-server").body

    # Then both name that URL (without the trailing slash) as issuer
    assert meta["issuer"] == "https://partners.example.com"
    assert meta["token_endpoint"] == "https://partners.example.com/oauth/token"
    assert verified(api, token, issuer="https://partners.example.com")[1]["iss"] == meta["issuer"]
    assert api.call("GET", "/partner/v1/clients", token=token).status == 200


# --- /baseUris and /health ----------------------------------------------------------------------------


def test_base_uris_need_a_token(api, stack):
    missing = api.call("GET", "/baseUris")
    invalid = api.call("GET", "/baseUris", token="not-a-token")

    for reply, code in ((missing, "NO_AUTHORIZATION_HEADER"), (invalid, "INVALID_ACCESS_TOKEN")):
        assert reply.status == 401, reply.text
        assert reply.body["success"] is False
        assert reply.body["code"] == code
        assert reply.body["requestId"] == reply.header("x-request-id")
        assert "apiAccessPoint" not in reply.text


def test_base_uris_with_any_valid_token(api, tenant, operator_token):
    narrow = token_for(api, tenant.credential, scope="events:read")

    for token in (tenant.token, narrow, operator_token):
        reply = api.call("GET", "/baseUris", token=token)
        assert reply.status == 200, reply.text
        assert set(reply.body) == {"apiAccessPoint", "webAccessPoint"}
        # without configuration both point at where the API was called
        assert reply.body["apiAccessPoint"].rstrip("/") == ISSUER
        assert reply.body["webAccessPoint"].rstrip("/") == ISSUER


def test_base_uris_come_from_configuration(api, tenant, monkeypatch):
    from partner_api.config import settings

    # Given a configured public URL and web access point
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://partners.example.com")
    monkeypatch.setenv("WEB_ACCESS_POINT", "https://app.example.com")
    settings.cache_clear()
    token = token_for(api, tenant.credential)  # issued under the configured issuer

    # When the base URIs are asked for
    reply = api.call("GET", "/baseUris", token=token)

    # Then they are the configured ones
    assert reply.status == 200, reply.text
    assert reply.body["apiAccessPoint"].rstrip("/") == "https://partners.example.com"
    assert reply.body["webAccessPoint"].rstrip("/") == "https://app.example.com"


def test_health_needs_no_auth(api, stack):
    plain = api.call("GET", "/health")
    with_garbage_token = api.call("GET", "/health", token="garbage")

    for reply in (plain, with_garbage_token):
        assert reply.status == 200, reply.text
        assert reply.body == {"status": "ok"}
