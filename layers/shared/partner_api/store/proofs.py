"""DPoP proofs already used: one item per proof in the proofs table, shared by every function.

A per-container memory would let a proof replayed to another function, or to another warm
container of the same one, through; a conditional write on one table refuses it everywhere.
"""

from __future__ import annotations

from partner_api.config import settings
from partner_api.store.dynamo import put_new


def key(jkt: str, jti: str) -> str:
    """A proof's item key: its ``jti`` is unique per key (RFC 9449 section 11.1), not globally."""
    return f"DPOP#{jkt}#{jti}"


def first_use(jkt: str, jti: str, expires_at: int) -> bool:
    """Record the proof ``jti`` of key ``jkt`` as used; False when it already was.

    One conditional ``PutItem``, retry-safe: botocore resending it after a lost response finds
    this call's own item and still answers True (``put_new``). ``expires_at`` (epoch seconds,
    the table's TTL) must lie past every moment the proof's ``iat`` is accepted; DynamoDB
    deletes the item some time after it, never before.
    """
    return put_new(settings().proofs_table, {"PK": key(jkt, jti), "expiresAt": expires_at})
