"""DPoP proofs (RFC 9449) as a client makes them, and the ways a bad one can be made."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from typing import Any

DROP = object()  # an override value that removes the member


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def ath(token: str) -> str:
    return b64url(hashlib.sha256(token.encode()).digest())


def _apply(base: dict[str, Any], overrides: dict[str, Any] | None) -> dict[str, Any]:
    merged = {**base, **(overrides or {})}
    return {name: value for name, value in merged.items() if value is not DROP}


class Key:
    """A client's P-256 key pair: its public JWK, its RFC 7638 thumbprint, and proofs it signs."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec
        from jwt.algorithms import ECAlgorithm

        self.private = ec.generate_private_key(ec.SECP256R1())
        self.jwk: dict[str, Any] = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.private_jwk: dict[str, Any] = ECAlgorithm.to_jwk(self.private, as_dict=True)

    @property
    def thumbprint(self) -> str:
        members = {name: self.jwk[name] for name in ("crv", "kty", "x", "y")}
        canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
        return b64url(hashlib.sha256(canonical.encode()).digest())

    def proof(
        self,
        method: str,
        url: str,
        token: str | None = None,
        *,
        header: dict[str, Any] | None = None,
        claims: dict[str, Any] | None = None,
        signer: Any = None,
    ) -> str:
        """A fresh proof for ``method url`` (with ``ath`` of ``token``), unless overridden: a
        header or claim set to ``DROP`` is left out; ``signer`` signs instead of this key, with
        whatever ``alg`` the header names (``none``: no signature)."""
        import jwt

        protected = _apply({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk}, header)
        payload: dict[str, Any] = {
            "jti": str(uuid.uuid4()),
            "htm": method,
            "htu": url,
            "iat": int(time.time()),
        }
        if token is not None:
            payload["ath"] = ath(token)
        payload = _apply(payload, claims)
        signing_input = f"{b64url(json.dumps(protected).encode())}.{b64url(json.dumps(payload).encode())}"
        if protected.get("alg") == "none":
            return signing_input + "."
        algorithm = jwt.get_algorithm_by_name(protected["alg"])
        key = algorithm.prepare_key(signer if signer is not None else self.private)
        return signing_input + "." + b64url(algorithm.sign(signing_input.encode(), key))
