"""Runtime configuration, read from the environment once per container, on first use."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

# Seconds before each webhook retry: about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
_RETRIES = "5,300,1800,7200,18000,36000,36000"


@dataclass(frozen=True)
class Settings:
    tenants_table: str
    users_table: str
    events_table: str
    idempotency_table: str
    proofs_table: str
    signing_key_id: str
    cursor_secret_id: str
    public_base_url: str
    token_audience: str
    web_access_point: str
    status_cache_seconds: int
    access_token_seconds: int
    event_bus_name: str
    delivery_queue_url: str
    webhook_secrets_key_id: str
    retry_schedule: tuple[int, ...]
    allow_loopback_webhooks: bool
    welcome_email_sender: str
    dpop_nonce: bool


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
        idempotency_table=os.environ.get("IDEMPOTENCY_TABLE", ""),
        proofs_table=os.environ.get("PROOFS_TABLE", ""),
        signing_key_id=os.environ.get("SIGNING_KEY_ID", ""),
        cursor_secret_id=os.environ.get("CURSOR_SECRET_ID", ""),
        public_base_url=os.environ.get("PUBLIC_BASE_URL", "").rstrip("/"),
        token_audience=os.environ.get("TOKEN_AUDIENCE", "partner-api"),
        web_access_point=os.environ.get("WEB_ACCESS_POINT", ""),
        status_cache_seconds=int(os.environ.get("STATUS_CACHE_SECONDS", "60")),
        access_token_seconds=int(os.environ.get("ACCESS_TOKEN_SECONDS", "3600")),
        event_bus_name=os.environ.get("EVENT_BUS_NAME", ""),
        delivery_queue_url=os.environ.get("WEBHOOK_DELIVERY_QUEUE_URL", ""),
        webhook_secrets_key_id=os.environ.get("WEBHOOK_SECRETS_KEY_ID", ""),
        retry_schedule=tuple(int(s) for s in os.environ.get("WEBHOOK_RETRY_SCHEDULE", _RETRIES).split(",")),
        allow_loopback_webhooks=os.environ.get("ALLOW_LOOPBACK_WEBHOOKS", "false").lower() == "true",
        welcome_email_sender=os.environ.get("WELCOME_EMAIL_SENDER", ""),
        dpop_nonce=os.environ.get("DPOP_NONCE", "off").strip().lower() == "on",
    )
