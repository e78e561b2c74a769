"""The OAuth endpoints' rules: client authentication, scope grants, metadata and keys."""

from __future__ import annotations

from typing import Any

from partner_api.auth import binding, dpop, signing, tokens
from partner_api.auth.principal import OPERATOR_SCOPES, PARTNER_SCOPES
from partner_api.auth.secrets import burn_time, verify_secret
from partner_api.config import settings
from partner_api.errors import DomainError, InvalidClient, InvalidDpopProof, OAuthError
from partner_api.ids import is_uuid
from partner_api.store import clients, credentials, partners

CLIENT_CREDENTIALS = "client_credentials"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
SUBJECT_TOKEN_TYPES = ("jwt", "urn:ietf:params:oauth:token-type:jwt")
ACTOR_TOKEN_TYPES = ("access_token", ACCESS_TOKEN_TYPE)
USER_TOKEN_SECONDS = 300
# Never granted to a user token, whatever the actor holds (seed 004's reserved scopes).
RESERVED_FOR_PARTNERS = frozenset(
    {"admin", "users:impersonate", "partners:write", "accounts:write", "webhooks:write"}
)


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
        if not partners.all_active(credential["tenantId"], partner["path"][:-1]):
            raise InvalidClient()  # a sub-partner of an inactive partner is inactive too
    return credential


def parse_scope(raw: str | None) -> list[str] | None:
    """Scopes as a list, from a space- or comma-separated string; ``None`` when not given."""
    if raw is None or not raw.strip():
        return None
    return list(dict.fromkeys(s for s in raw.replace(",", " ").split() if s))


def proven_key(request: binding.Request, *, expected_jkt: str | None = None) -> str | None:
    """The thumbprint of the key the token request's DPoP proof shows (the key to bind the new
    token to); None without a proof, unless ``expected_jkt`` (a bound actor token's key) makes one
    required. A bad proof is ``invalid_dpop_proof`` (or ``use_dpop_nonce``), and nothing is issued."""
    if not request.dpop and expected_jkt is None:
        return None
    try:
        return binding.check(request, expected_jkt=expected_jkt).jkt
    except InvalidDpopProof as exc:
        error = "use_dpop_nonce" if exc.nonce else "invalid_dpop_proof"
        raise OAuthError(error, exc.message, nonce=exc.nonce) from exc


def _bound(jkt: str | None) -> tuple[str, dict[str, Any]]:
    """``token_type`` and the extra claims of a token bound to ``jkt`` (RFC 9449 section 6)."""
    return ("DPoP", {"cnf": {"jkt": jkt}}) if jkt else ("Bearer", {})


def client_credentials_grant(
    credential: dict[str, Any], requested: str | None, issuer: str, request: binding.Request
) -> dict[str, Any]:
    allowed = list(credential["scopes"])
    wanted = parse_scope(requested)
    if wanted is None:
        wanted = allowed
    unknown = [s for s in wanted if s not in allowed]
    if unknown:
        raise OAuthError("invalid_scope", f"Scope not granted to this client: {' '.join(unknown)}")
    token_type, binding_claims = _bound(proven_key(request))
    lifetime = settings().access_token_seconds
    token = tokens.mint(
        issuer=issuer,
        subject=credential["clientId"],
        token_use=credential["tokenUse"],
        scopes=wanted,
        lifetime=lifetime,
        tenant_id=credential.get("tenantId", ""),
        partner_id=credential.get("partnerId", ""),
        extra=binding_claims,
    )
    return {
        "access_token": token,
        "token_type": token_type,
        "expires_in": lifetime,
        "scope": " ".join(wanted),
    }


def jwks() -> dict[str, Any]:
    return {"keys": [signing.public_key().jwk]}


def server_metadata(base_url: str) -> dict[str, Any]:
    """RFC 8414 authorization server metadata."""
    return {
        "issuer": base_url,
        "token_endpoint": f"{base_url}/oauth/token",
        "jwks_uri": f"{base_url}/.well-known/jwks.json",
        "grant_types_supported": [CLIENT_CREDENTIALS, TOKEN_EXCHANGE],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "token_endpoint_auth_signing_alg_values_supported": ["ES256"],
        "response_types_supported": ["token"],
        "scopes_supported": [*OPERATOR_SCOPES, *PARTNER_SCOPES],
        "dpop_signing_alg_values_supported": list(dpop.ALGORITHMS),
    }


def base_uris(base_url: str) -> dict[str, str]:
    return {
        "apiAccessPoint": base_url + "/",
        "webAccessPoint": (settings().web_access_point or base_url) + "/",
    }


def token_exchange_grant(
    credential: dict[str, Any], form: dict[str, str], issuer: str, request: binding.Request
) -> dict[str, Any]:
    """A 300 s user token for the active client named by an unsigned subject token's ``email``.

    The subject token's signature is not checked: the authenticated actor, whose token must
    hold ``users:impersonate``, can only name active clients of its own subtree. With a DPoP
    proof the user token is bound to the proof's key; a DPoP-bound actor token needs a proof by
    its own key (a stolen actor token alone mints nothing)."""
    import jwt

    for name in ("subject_token", "subject_token_type", "actor_token", "actor_token_type"):
        if not form.get(name):
            raise OAuthError("invalid_request", f"{name} is missing.")
    if form["subject_token_type"] not in SUBJECT_TOKEN_TYPES:
        raise OAuthError("invalid_request", "subject_token_type must be jwt.")
    if form["actor_token_type"] not in ACTOR_TOKEN_TYPES:
        raise OAuthError("invalid_request", "actor_token_type must be access_token.")
    try:
        actor, actor_claims = tokens.verify(form["actor_token"], issuer)
    except DomainError as exc:
        raise OAuthError("invalid_grant", "actor_token is invalid or expired.") from exc
    if actor.token_use != "partner" or actor.client_id != credential["clientId"]:
        raise OAuthError("invalid_grant", "actor_token does not belong to the authenticated client.")
    if "users:impersonate" not in actor.scopes:
        raise OAuthError("invalid_grant", "actor_token lacks the users:impersonate scope.")
    try:
        claims = jwt.decode(form["subject_token"], options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise OAuthError("invalid_request", "subject_token is not a JWT.") from exc
    email = claims.get("email") if isinstance(claims, dict) else None
    if not isinstance(email, str) or not email.strip():
        raise OAuthError("invalid_request", "subject_token has no email claim.")
    client = clients.find_by_email(actor.tenant_id, email.strip())
    if client is None or client["status"] != "active" or not actor.sees_partner(client["partnerPath"]):
        raise OAuthError("invalid_grant", "No active client with this email is visible to the actor.")
    grantable = [s for s in sorted(actor.scopes) if s not in RESERVED_FOR_PARTNERS]
    wanted = parse_scope(form.get("scope"))
    if wanted is None:
        wanted = grantable
    refused = [s for s in wanted if s not in grantable]
    if refused:
        raise OAuthError("invalid_scope", f"Scope not grantable to a user token: {' '.join(refused)}")
    try:
        actor_jkt = binding.bound_key(actor_claims)
    except DomainError as exc:
        raise OAuthError("invalid_grant", "actor_token is invalid or expired.") from exc
    token_type, binding_claims = _bound(proven_key(request, expected_jkt=actor_jkt))
    token = tokens.mint(
        issuer=issuer,
        subject=client["clientId"],
        token_use="user",
        scopes=wanted,
        lifetime=USER_TOKEN_SECONDS,
        tenant_id=actor.tenant_id,
        partner_id=client["partnerId"],
        extra={"act": {"sub": actor.client_id}, **binding_claims},
    )
    return {
        "access_token": token,
        "token_type": token_type,
        "issued_token_type": ACCESS_TOKEN_TYPE,
        "expires_in": USER_TOKEN_SECONDS,
        "scope": " ".join(wanted),
    }


def validate(client_id: str, token: str, issuer: str) -> dict[str, Any]:
    """``{"valid": true, "expires_at"}`` (and a DPoP-bound token's ``cnf``) when ``token`` is live
    and was issued to or for ``client_id``; ``{"valid": false}`` otherwise, without saying why.
    No proof is asked for: this says what the token is, it does not let anyone use it."""
    try:
        principal, claims = tokens.verify(token, issuer)
        jkt = binding.bound_key(claims)
    except DomainError:
        return {"valid": False}
    if client_id not in (principal.client_id, principal.subject):
        return {"valid": False}
    validity: dict[str, Any] = {"valid": True, "expires_at": int(claims["exp"])}
    if jkt:
        validity["cnf"] = {"jkt": jkt}
    return validity
