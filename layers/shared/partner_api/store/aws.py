"""boto3 clients, created once per container on first use, replaceable in tests."""

from __future__ import annotations

import threading
from typing import Any

_clients: dict[str, Any] = {}
_lock = threading.Lock()


def client(service: str) -> Any:
    """The container's client for ``service``; boto3 is imported here, not at module import,
    so a cold start only pays for it when a request needs AWS."""
    found = _clients.get(service)
    if found is not None:
        return found
    with _lock:  # boto3's default session is not safe to use from several threads at once
        found = _clients.get(service)
        if found is None:
            import boto3
            from botocore.config import Config

            found = boto3.client(  # type: ignore[call-overload]
                service,
                config=Config(
                    retries={"mode": "standard", "max_attempts": 4},
                    connect_timeout=2,
                    read_timeout=5,
                ),
            )
            _clients[service] = found
    return found


def use_client(service: str, replacement: Any) -> None:
    """Inject a client (a Stubber-wrapped one in tests)."""
    _clients[service] = replacement


def reset_clients() -> None:
    _clients.clear()
