"""Integration tests: handlers in-process over moto."""

import pytest


@pytest.fixture(autouse=True)
def _cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets stay scrypt-hashed, at a test-only cost. A hash records its own cost, so checking
    works the same; each of the many hashes a test makes costs ~1 ms instead of ~70."""
    from partner_api.auth import secrets

    monkeypatch.setattr(secrets, "_N", 2**10)
