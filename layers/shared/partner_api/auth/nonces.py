"""DPoP server nonces (RFC 9449 sections 8 and 9), stateless: an HMAC of the current time window.

Every container of every function computes the same nonce for a window without storing or
sharing anything; a nonce is accepted during its own window and the next one, so a client that
just got one never finds it stale at once. The key is derived from the cursor secret, so a
client cannot compute the nonce of a window to come and sign proofs for it in advance.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from partner_api.store import cursors

WINDOW_SECONDS = 300


def _nonce(window: int) -> str:
    mac = hmac.new(cursors.derived_key("dpop-nonce"), str(window).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def current(now: float | None = None) -> str:
    """The nonce a client must put in its next proof."""
    return _nonce(int((time.time() if now is None else now) // WINDOW_SECONDS))


def accepts(nonce: str | None, now: float | None = None) -> bool:
    """Whether ``nonce`` is this window's or the previous one's."""
    if not nonce:
        return False
    window = int((time.time() if now is None else now) // WINDOW_SECONDS)
    given = nonce.encode()
    # Both compared, always: the time taken says nothing about which one matched.
    matches = [hmac.compare_digest(given, _nonce(w).encode()) for w in (window, window - 1)]
    return any(matches)
