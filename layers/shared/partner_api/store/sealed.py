"""Secrets the service must read back (webhook signing keys), sealed with a KMS key."""

from __future__ import annotations

import base64
import threading
import time

from partner_api.config import settings
from partner_api.store import aws
from partner_api.store.dynamo import translated_errors

_CACHE_SECONDS = 300
_opened: dict[str, tuple[float, str]] = {}
_lock = threading.Lock()


def seal(plaintext: str) -> str:
    with translated_errors():
        blob = aws.client("kms").encrypt(
            KeyId=settings().webhook_secrets_key_id, Plaintext=plaintext.encode()
        )["CiphertextBlob"]
    return base64.b64encode(blob).decode()


def unseal(sealed: str) -> str:
    """The plaintext, cached briefly per container so a burst of deliveries decrypts once."""
    now = time.monotonic()
    cached = _opened.get(sealed)
    if cached and cached[0] > now:
        return cached[1]
    with translated_errors():
        blob = aws.client("kms").decrypt(CiphertextBlob=base64.b64decode(sealed))["Plaintext"]
    plaintext = bytes(blob).decode()
    with _lock:
        _opened[sealed] = (now + _CACHE_SECONDS, plaintext)
    return plaintext
