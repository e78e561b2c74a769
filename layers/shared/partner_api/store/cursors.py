"""Opaque list cursors: a position in an index, bound to the query it came from.

A cursor is ``base64url(position) . base64url(HMAC-SHA256)`` keyed by a secret from Secrets
Manager, with the query's scope (tenant, index, filters) inside the MAC: a tampered cursor,
or one from another tenant or another filter, fails verification instead of moving the
query somewhere it was never meant to go.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from typing import Any

from partner_api.config import settings
from partner_api.errors import FieldIssue, InvalidInput
from partner_api.store import aws
from partner_api.store.dynamo import translated_errors

_secret: bytes | None = None
_lock = threading.Lock()


def _key() -> bytes:
    global _secret
    if _secret is None:
        with _lock, translated_errors():
            if _secret is None:
                value = aws.client("secretsmanager").get_secret_value(SecretId=settings().cursor_secret_id)[
                    "SecretString"
                ]
                _secret = hashlib.sha256(value.encode()).digest()
    return _secret


def derived_key(purpose: str) -> bytes:
    """A key for another MAC of this layer, derived from the cursor secret: one secret to load
    and rotate, and no MAC of one purpose ever verifies as one of another."""
    return hmac.new(_key(), b"derived-key\n" + purpose.encode(), hashlib.sha256).digest()


def forget_key() -> None:
    """Drop the cached secret (tests switch environments)."""
    global _secret
    _secret = None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(position: dict[str, Any], scope: str) -> str:
    body = json.dumps(position, separators=(",", ":"), sort_keys=True).encode()
    mac = hmac.new(_key(), scope.encode() + b"\n" + body, hashlib.sha256).digest()
    return f"{_b64(body)}.{_b64(mac)}"


def decode(cursor: str, scope: str) -> dict[str, Any]:
    invalid = InvalidInput(
        "The cursor is invalid or does not belong to this query.",
        details=[FieldIssue("cursor", "invalid or foreign cursor")],
    )
    try:
        body_text, mac_text = cursor.split(".")
        body, mac = _unb64(body_text), _unb64(mac_text)
    except ValueError as exc:  # wrong shape or not base64
        raise invalid from exc
    expected = hmac.new(_key(), scope.encode() + b"\n" + body, hashlib.sha256).digest()
    if not hmac.compare_digest(mac, expected):
        raise invalid
    position = json.loads(body)
    if not isinstance(position, dict):
        raise invalid
    return position
