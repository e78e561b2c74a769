"""ES256 signing with a KMS key (the private key never leaves KMS) and the matching JWKS.

Signing costs one KMS ``Sign`` per token; verifying uses the public key fetched once per
container with ``GetPublicKey``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass
from typing import Any

from partner_api.config import settings
from partner_api.store import aws
from partner_api.store.dynamo import translated_errors


@dataclass(frozen=True)
class PublicKey:
    kid: str
    key: Any  # cryptography EllipticCurvePublicKey
    jwk: dict[str, str]


_public: PublicKey | None = None
_lock = threading.Lock()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_key() -> PublicKey:
    """The signing key's public half, cached for the container's life."""
    global _public
    if _public is None:
        with _lock:
            if _public is None:
                from cryptography.hazmat.primitives.asymmetric import ec
                from cryptography.hazmat.primitives.serialization import load_der_public_key

                with translated_errors():
                    der = aws.client("kms").get_public_key(KeyId=settings().signing_key_id)["PublicKey"]
                key = load_der_public_key(der)
                if not isinstance(key, ec.EllipticCurvePublicKey):
                    raise RuntimeError("the signing key is not an EC key")
                numbers = key.public_numbers()
                jwk = {
                    "kty": "EC",
                    "crv": "P-256",
                    "x": _b64url(numbers.x.to_bytes(32, "big")),
                    "y": _b64url(numbers.y.to_bytes(32, "big")),
                }
                # RFC 7638 thumbprint: a kid that changes exactly when the key does.
                canonical = json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()
                kid = _b64url(hashlib.sha256(canonical).digest())
                _public = PublicKey(kid, key, {**jwk, "kid": kid, "alg": "ES256", "use": "sig"})
    return _public


def forget_key() -> None:
    global _public
    _public = None


def sign_jwt(claims: dict[str, Any]) -> str:
    """A compact ES256 JWS over ``claims``, signed by KMS."""
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    header = {"alg": "ES256", "typ": "JWT", "kid": public_key().kid}
    signing_input = (
        _b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    with translated_errors():
        der = aws.client("kms").sign(
            KeyId=settings().signing_key_id,
            Message=signing_input.encode(),
            MessageType="RAW",
            SigningAlgorithm="ECDSA_SHA_256",
        )["Signature"]
    r, s = decode_dss_signature(der)  # KMS answers DER; JWS wants r || s
    return signing_input + "." + _b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
