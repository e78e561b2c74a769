"""Directory tokens: who a SCIM request speaks for.

Verification follows the credential pattern: the token is found by its hash, and what it says
(its directory, partner, account, and whether that partner is active) is kept per container for
at most ``STATUS_CACHE_SECONDS``, so authenticating a warm repeat makes no AWS call. A rotated or
deleted token still stops at once: every SCIM write's transaction checks the token's item
(``write_guard``), every read of Users fetches that item in the same call as the Users
(``token_key``/``confirm``), and the discovery endpoints, which read nothing else, read it alone.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from partner_api.auth.principal import Principal
from partner_api.config import settings
from partner_api.errors import NoAuthorizationHeader, PartnerInactive, Unauthenticated
from partner_api.store import directories, partners

# What a directory may do: manage clients, and only over SCIM (no other route takes its token).
DIRECTORY_SCOPES = frozenset({"clients:read", "clients:write"})


@dataclass(frozen=True)
class DirectoryCaller:
    """A directory, acting as its partner for the clients logic (``principal``)."""

    principal: Principal
    directory_id: str
    account_id: str | None  # every client it makes or sees is in this account
    token_hash: str

    def write_guard(self) -> dict[str, Any]:
        """The transaction item that fails once this token is rotated or its directory deleted."""
        return directories.token_guard(self.token_hash, self.directory_id)

    def token_key(self) -> dict[str, str]:
        """The key of the token's item (tenants table), for a read to fetch alongside its data."""
        return directories.token_key(self.token_hash)

    def confirm(self, found: list[dict[str, Any]]) -> None:
        """Refuse the request unless the token's item is among ``found`` (read with its data)."""
        key = self.token_key()
        if not any(i.get("PK") == key["PK"] and i.get("directoryId") == self.directory_id for i in found):
            forget_cached()  # this container's copy is stale: look the next one up again
            raise Unauthenticated("The directory token is invalid or has been rotated or deleted.")


@dataclass(frozen=True)
class _Cached:
    caller: DirectoryCaller | None  # None: the partner is not active
    expires: float


_cache: dict[str, _Cached] = {}
_cache_lock = threading.Lock()


def forget_cached() -> None:
    """Drop cached token standing (tests need this)."""
    with _cache_lock:
        _cache.clear()


def authenticate(authorization: str | None) -> DirectoryCaller:
    """The directory behind ``Authorization: Bearer scim_…``, or a domain error saying why not.
    An access token (a JWT) is not a directory token: 401 here, as a directory token is 401 on
    every route outside SCIM."""
    if not authorization or not authorization.strip():
        raise NoAuthorizationHeader()
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(directories.TOKEN_PREFIX) or len(token) > 200:
        raise Unauthenticated("The directory token is invalid or has been rotated or deleted.")
    token_hash = directories.hash_token(token)
    now = time.monotonic()
    cached = _cache.get(token_hash)
    if cached is None or cached.expires <= now:
        cached = _Cached(_look_up(token_hash), now + settings().status_cache_seconds)
        with _cache_lock:
            _cache[token_hash] = cached
    if cached.caller is None:
        raise PartnerInactive()
    return cached.caller


def _look_up(token_hash: str) -> DirectoryCaller | None:
    item = directories.find_token(token_hash)
    if item is None:  # never cached: a new token must work at once, an unknown one costs a read
        raise Unauthenticated("The directory token is invalid or has been rotated or deleted.")
    tenant_id, path = item["tenantId"], list(item["partnerPath"])
    # A directory works only while its partner and every partner above it is active.
    if not partners.all_active(tenant_id, path):
        return None
    principal = Principal(
        client_id=item["directoryId"],
        token_use="directory",
        scopes=DIRECTORY_SCOPES,
        tenant_id=tenant_id,
        partner_id=path[-1],
        partner_path=tuple(path),
        subject=item["directoryId"],
    )
    return DirectoryCaller(principal, item["directoryId"], item.get("accountId") or None, token_hash)
