"""DPoP (RFC 9449) proof verification: the pure part, with no storage and no HTTP.

A proof shows that the caller holds the private key a token is bound to. Replay of a proof's
``jti`` is the caller's job (it needs a shared store); everything else is checked here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

ALGORITHMS = ("ES256", "RS256", "PS256", "EdDSA")
MAX_SKEW_SECONDS = 60

# RFC 7638 §3.2: the thumbprint covers the required public members of each key type, nothing else.
_THUMBPRINT_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k", "oth")
_MIN_RSA_BITS = 2048
_MAX_JTI_CHARS = 256
# A proof with a 4096-bit RSA key is about 2 KiB; anything far larger is refused before parsing.
_MAX_PROOF_CHARS = 8192
# The signature may be empty here so that alg "none" is refused as such, not as malformed.
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_DEFAULT_PORTS = {"https": 443, "http": 80}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class Proof:
    jkt: str
    jti: str
    iat: int
    nonce: str | None


class InvalidProof(Exception):
    """A DPoP proof that must be refused; ``reason`` is short and safe to show the client.

    ``use_nonce`` is true when the only fault is the server nonce, so the caller answers
    ``use_dpop_nonce`` (RFC 9449 §8) rather than ``invalid_dpop_proof``.
    """

    def __init__(self, reason: str, *, use_nonce: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.use_nonce = use_nonce


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint: the key's identity, independent of optional members and order."""
    kty = jwk.get("kty")
    members = _THUMBPRINT_MEMBERS.get(kty) if isinstance(kty, str) else None
    if members is None:
        raise InvalidProof("jwk has an unsupported key type")
    required = {name: jwk.get(name) for name in members}
    if not all(isinstance(value, str) and value for value in required.values()):
        raise InvalidProof("jwk is missing a required member")
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return _b64url(hashlib.sha256(canonical.encode()).digest())


def token_hash(access_token: str) -> str:
    """The ``ath`` claim: ties a proof to one access token, so it cannot be used with another."""
    return _b64url(hashlib.sha256(access_token.encode("ascii")).digest())


def _normalise_percent(text: str) -> str:
    """RFC 3986 §6.2.2.1-2: decode unreserved characters, upper-case the hex of the rest."""

    def one(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    return _PERCENT.sub(one, text)


def _origin_and_path(url: str) -> tuple[str, str, int | None, str, str] | None:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = _normalise_percent(parts.hostname or "").lower()
    if not scheme or not host:
        return None
    if port == _DEFAULT_PORTS.get(scheme):
        port = None
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    return scheme, userinfo, port, host, _normalise_percent(parts.path or "/")


def same_url(a: str, b: str) -> bool:
    """Whether ``htu`` names the request's URL (RFC 9449 §4.3 step 9): scheme, authority and path
    after RFC 3986 §6.2 normalisation; query and fragment are not part of the comparison."""
    left, right = _origin_and_path(a), _origin_and_path(b)
    return left is not None and left == right


def _protected_header(proof: str) -> dict[str, Any]:
    """The (not yet verified) protected header of a compact JWS, or ``InvalidProof`` if it is not one."""
    if len(proof) > _MAX_PROOF_CHARS:
        raise InvalidProof("DPoP proof is too large")
    if not _COMPACT_JWS.fullmatch(proof):
        raise InvalidProof("DPoP proof is not a JWT")
    try:
        header = json.loads(_b64url_decode(proof.partition(".")[0]))
    except (binascii.Error, ValueError, RecursionError) as exc:
        raise InvalidProof("DPoP proof is not a JWT") from exc
    if not isinstance(header, dict):
        raise InvalidProof("DPoP proof is not a JWT")
    return header


def _public_jwk(header: dict[str, Any], alg: str) -> dict[str, Any]:
    """The header's ``jwk``, refused unless it is a public key of the kind ``alg`` needs."""
    jwk = header.get("jwk")
    if not isinstance(jwk, dict):
        raise InvalidProof("jwk header is missing or not an object")
    if jwk.get("kty") == "oct":
        raise InvalidProof("jwk is a symmetric key")
    if any(member in jwk for member in _PRIVATE_MEMBERS):
        raise InvalidProof("jwk contains a private key")
    if "alg" in jwk and jwk["alg"] != alg:
        raise InvalidProof("jwk alg does not match the proof's alg")
    kty, crv = jwk.get("kty"), jwk.get("crv")
    fits = {
        "ES256": kty == "EC" and crv == "P-256",
        "RS256": kty == "RSA",
        "PS256": kty == "RSA",
        "EdDSA": kty == "OKP" and crv in ("Ed25519", "Ed448"),
    }[alg]
    if not fits:
        raise InvalidProof("jwk does not fit the proof's alg")
    return jwk


def _verified_claims(proof: str, jwk: dict[str, Any], alg: str) -> dict[str, Any]:
    """The payload of a proof whose signature verifies with ``jwk`` under ``alg`` only."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from jwt import api_jws

    try:
        key = jwt.PyJWK(jwk, algorithm=alg)
    except jwt.PyJWTError as exc:
        raise InvalidProof("jwk is not a valid key") from exc
    if isinstance(key.key, RSAPublicKey) and key.key.key_size < _MIN_RSA_BITS:
        raise InvalidProof("jwk RSA key is shorter than 2048 bits")
    try:
        decoded = api_jws.decode_complete(
            proof, key=key, algorithms=[alg], options={"enforce_minimum_key_length": True}
        )
    except jwt.InvalidSignatureError as exc:
        raise InvalidProof("DPoP proof signature is invalid") from exc
    except jwt.PyJWTError as exc:
        raise InvalidProof("DPoP proof could not be verified") from exc
    try:
        claims = json.loads(decoded["payload"])
    except (ValueError, RecursionError) as exc:
        raise InvalidProof("DPoP proof payload is not a JSON object") from exc
    if not isinstance(claims, dict):
        raise InvalidProof("DPoP proof payload is not a JSON object")
    return claims


def _check_claims(claims: dict[str, Any], *, method: str, url: str, now: float) -> tuple[str, int]:
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > _MAX_JTI_CHARS:
        raise InvalidProof("jti is missing or invalid")
    htm = claims.get("htm")
    if not isinstance(htm, str):
        raise InvalidProof("htm is missing")
    if htm != method:
        raise InvalidProof("htm does not match the request method")
    htu = claims.get("htu")
    if not isinstance(htu, str):
        raise InvalidProof("htu is missing")
    if not same_url(htu, url):
        raise InvalidProof("htu does not match the request URL")
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float) or not math.isfinite(iat):
        raise InvalidProof("iat is missing or not a number")
    if abs(iat - now) > MAX_SKEW_SECONDS:
        raise InvalidProof("iat is outside the accepted window")
    return jti, int(iat)


def verify(
    headers: list[str],
    *,
    method: str,
    url: str,
    now: float,
    access_token: str | None = None,
    expected_jkt: str | None = None,
    nonce_ok: Callable[[str | None], bool] | None = None,
) -> Proof:
    """Check one request's DPoP proof (RFC 9449 §4.3) except ``jti`` replay, which needs a store.

    ``access_token`` makes ``ath`` required (a resource request); ``expected_jkt`` is the bound
    token's ``cnf.jkt``; ``nonce_ok`` judges the ``nonce`` claim when the server issues nonces.
    """
    if not headers:
        raise InvalidProof("missing DPoP proof")
    if len(headers) > 1:
        raise InvalidProof("more than one DPoP header")
    proof = headers[0].strip()
    header = _protected_header(proof)

    if header.get("typ") != "dpop+jwt":
        raise InvalidProof("typ is not dpop+jwt")
    alg = header.get("alg")
    # Before any key is built: "none" and HMAC (a "key" the client chose) can prove nothing.
    if not isinstance(alg, str) or alg not in ALGORITHMS:
        raise InvalidProof("alg is not an accepted asymmetric algorithm")
    jwk = _public_jwk(header, alg)
    jkt = thumbprint(jwk)
    claims = _verified_claims(proof, jwk, alg)
    jti, iat = _check_claims(claims, method=method, url=url, now=now)

    if access_token is not None:
        ath = claims.get("ath")
        if not isinstance(ath, str):
            raise InvalidProof("ath is missing")
        if not access_token.isascii() or ath != token_hash(access_token):
            raise InvalidProof("ath does not match the access token")
    if expected_jkt is not None and jkt != expected_jkt:
        raise InvalidProof("DPoP key does not match the key the token is bound to")
    nonce = claims.get("nonce")
    if nonce is not None and not isinstance(nonce, str):
        raise InvalidProof("nonce is not a string")
    if nonce_ok is not None and not nonce_ok(nonce):
        raise InvalidProof("use_dpop_nonce", use_nonce=True)
    return Proof(jkt=jkt, jti=jti, iat=iat, nonce=nonce)
