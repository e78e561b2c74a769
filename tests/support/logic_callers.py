"""Calling the layer's logic directly from threads, as a root partner's token would."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from partner_api.auth.principal import PARTNER_SCOPES, Principal
from partner_api.store.events import Actor
from tests.conftest import Tenant


def principal_of(tenant: Tenant) -> Principal:
    """The caller a root partner's full-scope token authenticates as."""
    return Principal(
        client_id=tenant.credential.client_id,
        token_use="partner",
        scopes=frozenset(PARTNER_SCOPES),
        tenant_id=tenant.partner_id,
        partner_id=tenant.partner_id,
        partner_path=(tenant.partner_id,),
        subject=tenant.credential.client_id,
    )


def actor_of(tenant: Tenant, request_id: str) -> Actor:
    return Actor(
        type="partner",
        client_id=tenant.credential.client_id,
        partner_id=tenant.partner_id,
        request_id=request_id,
    )


def on_threads(count: int, work: Callable[[int], Any], *, released_together: bool = False) -> list[Any]:
    """Run ``work(i)`` on ``count`` threads (held at a barrier until all have started, if
    ``released_together``); each result is its return value or the exception it raised."""
    barrier = threading.Barrier(count) if released_together else None
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        if barrier:
            barrier.wait(timeout=60)
        try:
            results[i] = work(i)
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
