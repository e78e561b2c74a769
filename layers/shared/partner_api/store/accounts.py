"""Customer accounts (seat caps come with the accounts routes); here only what clients need."""

from __future__ import annotations

from typing import Any

from partner_api.config import settings
from partner_api.store import keys
from partner_api.store.dynamo import get


def find(tenant_id: str, account_id: str) -> dict[str, Any] | None:
    return get(settings().tenants_table, {"PK": keys.tenant(tenant_id), "SK": keys.account(account_id)})
