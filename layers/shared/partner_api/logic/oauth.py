"""The OAuth endpoints' rules: client authentication, scope grants, metadata and keys."""

from __future__ import annotations

from typing import Any

from partner_api.auth import signing, tokens
from partner_api.auth.principal import OPERATOR_SCOPES, PARTNER_SCOPES
from partner_api.auth.secrets import burn_time, verify_secret
from partner_api.config import settings
from partner_api.errors import InvalidClient, OAuthError
from partner_api.ids import is_uuid
from partner_api.store import credentials, partners

CLIENT_CREDENTIALS = "client_credentials"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


def authenticate_client(client_id: str, client_secret: str) -> dict[str, Any]:
    """The active credential these values prove, else ``invalid_client`` (without saying why)."""
    credential = credentials.find(client_id) if is_uuid(client_id) else None
    if credential is None:
        burn_time()  # an unknown id costs as much as a wrong secret
        raise InvalidClient()
    if not verify_secret(client_secret, credential["secretHash"]) or credential["status"] != "active":
        raise InvalidClient()
    if credential.get("tenantId"):
        partner = partners.find(credential["tenantId"], credential["partnerId"])
        if partner is None or partner["status"] != "active":
            raise InvalidClient()
    return credential


def parse_scope(raw: str | None) -> list[str] | None:
    """Scopes as a list, from a space- or comma-separated string; ``None`` when not given."""
    if raw is None or not raw.strip():
        return None
    return list(dict.fromkeys(s for s in raw.replace(",", " ").split() if s))


def client_credentials_grant(
    credential: dict[str, Any], requested: str | None, issuer: str
) -> dict[str, Any]:
    allowed = list(credential["scopes"])
    wanted = parse_scope(requested)
    if wanted is None:
        wanted = allowed
    unknown = [s for s in wanted if s not in allowed]
    if unknown:
        raise OAuthError("invalid_scope", f"Scope not granted to this client: {' '.join(unknown)}")
    lifetime = settings().access_token_seconds
    token = tokens.mint(
        issuer=issuer,
        subject=credential["clientId"],
        token_use=credential["tokenUse"],
        scopes=wanted,
        lifetime=lifetime,
        tenant_id=credential.get("tenantId", ""),
        partner_id=credential.get("partnerId", ""),
    )
    return {"access_token": token, "token_type": "Bearer", "expires_in": lifetime, "scope": " ".join(wanted)}


def jwks() -> dict[str, Any]:
    return {"keys": [signing.public_key().jwk]}


def server_metadata(base_url: str) -> dict[str, Any]:
    """RFC 8414 authorization server metadata."""
    return {
        "issuer": base_url,
        "token_endpoint": f"{base_url}/oauth/token",
        "jwks_uri": f"{base_url}/.well-known/jwks.json",
        "grant_types_supported": [CLIENT_CREDENTIALS],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256"],
        "response_types_supported": ["token"],
        "scopes_supported": [*OPERATOR_SCOPES, *PARTNER_SCOPES],
    }


def base_uris(base_url: str) -> dict[str, str]:
    return {
        "apiAccessPoint": base_url + "/",
        "webAccessPoint": (settings().web_access_point or base_url) + "/",
    }
