"""Runtime configuration, read from the environment once per container, on first use."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Settings:
    tenants_table: str
    users_table: str
    events_table: str
    signing_key_id: str
    cursor_secret_id: str
    public_base_url: str
    token_audience: str
    web_access_point: str
    status_cache_seconds: int
    access_token_seconds: int


def _require(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise RuntimeError(f"environment variable {name} is not set")
    return value


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The settings of this container; tests call ``settings.cache_clear()`` after changing env."""
    return Settings(
        tenants_table=_require("TENANTS_TABLE"),
        users_table=_require("USERS_TABLE"),
        events_table=_require("EVENTS_TABLE"),
        signing_key_id=os.environ.get("SIGNING_KEY_ID", ""),
        cursor_secret_id=os.environ.get("CURSOR_SECRET_ID", ""),
        public_base_url=os.environ.get("PUBLIC_BASE_URL", "").rstrip("/"),
        token_audience=os.environ.get("TOKEN_AUDIENCE", "partner-api"),
        web_access_point=os.environ.get("WEB_ACCESS_POINT", ""),
        status_cache_seconds=int(os.environ.get("STATUS_CACHE_SECONDS", "60")),
        access_token_seconds=int(os.environ.get("ACCESS_TOKEN_SECONDS", "3600")),
    )
