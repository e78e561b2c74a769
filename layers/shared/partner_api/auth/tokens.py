"""Access tokens: minting ES256 JWTs and turning a presented token into a ``Principal``."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from partner_api.auth import binding, signing
from partner_api.auth.principal import Principal
from partner_api.config import settings
from partner_api.errors import InvalidDpopProof, NoAuthorizationHeader, PartnerInactive, Unauthenticated
from partner_api.store import credentials, partners
from partner_api.store.dynamo import batch_get

REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat", "jti", "scope", "token_use"]


def mint(
    *,
    issuer: str,
    subject: str,
    token_use: str,
    scopes: list[str],
    lifetime: int,
    tenant_id: str = "",
    partner_id: str = "",
    extra: dict[str, Any] | None = None,
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": settings().token_audience,
        "sub": subject,
        "scope": " ".join(scopes),
        "token_use": token_use,
        "iat": now,
        "exp": now + lifetime,
        "jti": str(uuid.uuid4()),
    }
    if tenant_id:
        claims["tenant_id"] = tenant_id
        claims["partner_id"] = partner_id
    claims.update(extra or {})
    return signing.sign_jwt(claims)


def decode(token: str, issuer: str) -> dict[str, Any]:
    """Verify signature, ``kid``, ``iss``, ``aud`` and ``exp``; any failure is ``Unauthenticated``."""
    import jwt

    key = signing.public_key()
    try:
        if jwt.get_unverified_header(token).get("kid") != key.kid:
            raise Unauthenticated()
        # Only ES256 is accepted: "none" and HMAC-with-the-public-key forgeries fail here.
        claims: dict[str, Any] = jwt.decode(
            token,
            key=key.key,
            algorithms=["ES256"],
            audience=settings().token_audience,
            issuer=issuer,
            options={"require": REQUIRED_CLAIMS},
            leeway=5,
        )
    except jwt.PyJWTError as exc:
        raise Unauthenticated() from exc
    if claims.get("token_use") not in ("partner", "operator", "user"):
        raise Unauthenticated()
    return claims


@dataclass(frozen=True)
class _Standing:
    credential_active: bool
    partner_active: bool
    partner_path: tuple[str, ...]
    expires: float


_standing: dict[str, _Standing] = {}
_standing_lock = threading.Lock()


def forget_standing() -> None:
    """Drop cached credential/partner status (tests, and nothing else, need this)."""
    with _standing_lock:
        _standing.clear()


def _standing_of(client_id: str, tenant_id: str, partner_id: str) -> _Standing:
    """Credential and partner status, cached per container for ``STATUS_CACHE_SECONDS``: a
    revoked credential or deactivated partner stops working within that time, and warm
    requests in between make no AWS call to authenticate."""
    now = time.monotonic()
    cached = _standing.get(client_id)
    if cached and cached.expires > now:
        return cached
    table = settings().tenants_table
    wanted = [credentials.key(client_id)]
    if tenant_id:
        wanted.append(partners.key(tenant_id, partner_id))
    found = batch_get({table: wanted})[table]
    credential = next((i for i in found if i["SK"] == "CREDENTIAL"), None)
    partner = next((i for i in found if i["SK"].startswith("PARTNER#")), None)
    partner_active = not tenant_id or bool(partner and partner.get("status") == "active")
    if partner_active and partner:  # a sub-partner works only while every partner above it is active
        partner_active = partners.all_active(tenant_id, partner["path"][:-1])
    standing = _Standing(
        credential_active=bool(credential and credential.get("status") == "active"),
        partner_active=partner_active,
        partner_path=tuple(partner["path"]) if partner else (),
        expires=now + settings().status_cache_seconds,
    )
    with _standing_lock:
        _standing[client_id] = standing
    return standing


def verify(token: str, issuer: str) -> tuple[Principal, dict[str, Any]]:
    """The caller ``token`` speaks for, and its claims: the token checked (``decode``) and the
    standing of the credential and partner behind it, but not possession of a key it is bound
    to. For the OAuth endpoints, which check that themselves where it applies; a request to a
    protected route goes through ``authenticate``."""
    claims = decode(token, issuer)
    return _principal(claims), claims


def authenticate(request: binding.Request, issuer: str) -> Principal:
    """The caller behind a request's ``Authorization: Bearer`` or ``DPoP`` header, or a domain
    error saying why not.

    A DPoP-bound token (claim ``cnf.jkt``) needs the request's valid proof by that key under
    either scheme (one conditional write to refuse replays); ``DPoP`` needs a bound token. A
    bearer token without ``cnf`` works as before, whatever ``DPoP`` header comes with it, at no
    AWS call on a warm container.
    """
    authorization = request.authorization
    if not authorization or not authorization.strip():
        raise NoAuthorizationHeader()
    scheme, _, token = authorization.strip().partition(" ")
    scheme, token = scheme.lower(), token.strip()
    if scheme not in ("bearer", "dpop") or not token:
        raise Unauthenticated()
    claims = decode(token, issuer)
    jkt = binding.bound_key(claims)
    if jkt is not None:
        binding.check(request, access_token=token, expected_jkt=jkt)
    elif scheme == "dpop":
        raise InvalidDpopProof(
            "The access token is not DPoP-bound: send it as a Bearer token.", error="invalid_token"
        )
    return _principal(claims)


def _principal(claims: dict[str, Any]) -> Principal:
    token_use = claims["token_use"]
    actor_id = claims.get("act", {}).get("sub") if token_use == "user" else claims["sub"]
    tenant_id = claims.get("tenant_id", "")
    partner_id = claims.get("partner_id", "")
    if not isinstance(actor_id, str) or (token_use != "operator" and not (tenant_id and partner_id)):
        raise Unauthenticated()
    standing = _standing_of(actor_id, tenant_id, partner_id)
    if not standing.credential_active:
        raise Unauthenticated()
    if not standing.partner_active:
        raise PartnerInactive()
    return Principal(
        client_id=actor_id,
        token_use=token_use,
        scopes=frozenset(str(claims["scope"]).split()),
        tenant_id=tenant_id,
        partner_id=partner_id,
        partner_path=standing.partner_path,
        subject=claims["sub"],
    )
