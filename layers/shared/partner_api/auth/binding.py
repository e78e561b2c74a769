"""DPoP-bound tokens (RFC 9449): checking the proof a request carries against the request, the
token it comes with, the server nonce and every proof any function has seen before."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from partner_api.auth import dpop, nonces
from partner_api.config import settings
from partner_api.errors import InvalidDpopProof, Unauthenticated
from partner_api.store import proofs

# How long a used proof's item outlives the last moment its ``iat`` is accepted: covers the
# fraction of a second ``iat`` loses as an integer and clocks that differ between containers.
REPLAY_MARGIN_SECONDS = 60


@dataclass(frozen=True)
class Request:
    """What authenticating needs of an HTTP request; ``http`` builds it, so ``auth`` never sees
    an API Gateway event."""

    method: str
    url: str  # the public URL without query: what a proof's ``htu`` must name
    authorization: str | None = None
    dpop: tuple[str, ...] = ()  # every ``DPoP`` header value: more than one is refused


def bound_key(claims: dict[str, Any]) -> str | None:
    """The thumbprint a token is bound to (its ``cnf.jkt``), None for a bearer token."""
    cnf = claims.get("cnf")
    if cnf is None:
        return None
    jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
    if not isinstance(jkt, str) or not jkt:
        raise Unauthenticated()  # we never mint such a token
    return jkt


def check(
    request: Request, *, access_token: str | None = None, expected_jkt: str | None = None
) -> dpop.Proof:
    """The request's proof, checked in full and recorded as used; ``InvalidDpopProof`` otherwise.

    ``access_token``: the token presented with it (a protected route: ``ath`` required);
    ``expected_jkt``: the key that token, or an actor token, is bound to. The replay check is one
    conditional write, made only for a proof that passes everything else.
    """
    nonce_ok = nonces.accepts if settings().dpop_nonce else None
    try:
        proof = dpop.verify(
            list(request.dpop),
            method=request.method,
            url=request.url,
            now=time.time(),
            access_token=access_token,
            expected_jkt=expected_jkt,
            nonce_ok=nonce_ok,
        )
    except dpop.InvalidProof as exc:
        if exc.use_nonce:
            raise InvalidDpopProof(
                "The DPoP proof must carry the server's current nonce (DPoP-Nonce).", nonce=nonces.current()
            ) from exc
        raise InvalidDpopProof(f"DPoP proof refused: {exc.reason}.") from exc
    expires_at = proof.iat + dpop.MAX_SKEW_SECONDS + REPLAY_MARGIN_SECONDS
    if not proofs.first_use(proof.jkt, proof.jti, expires_at):
        raise InvalidDpopProof("DPoP proof refused: it has been used before.")
    return proof
