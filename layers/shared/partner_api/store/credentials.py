"""Credentials (technical accounts): a client id, a hashed secret, scopes, a status."""

from __future__ import annotations

from typing import Any

from partner_api.config import settings
from partner_api.store import keys
from partner_api.store.dynamo import get, put


def key(client_id: str) -> dict[str, str]:
    return {"PK": keys.credential(client_id), "SK": keys.CREDENTIAL_SK}


def find(client_id: str) -> dict[str, Any] | None:
    return get(settings().tenants_table, key(client_id))


def credential_put(
    *,
    client_id: str,
    secret_hash: str,
    scopes: list[str],
    token_use: str,
    created_at: str,
    tenant_id: str = "",
    partner_id: str = "",
    name: str | None = None,
) -> dict[str, Any]:
    """The transaction item creating a credential (fails if the id somehow exists)."""
    item: dict[str, Any] = {
        **key(client_id),
        "clientId": client_id,
        "secretHash": secret_hash,
        "scopes": scopes,
        "tokenUse": token_use,
        "status": "active",
        "createdAt": created_at,
        "name": name,
    }
    if tenant_id:
        item |= {
            "tenantId": tenant_id,
            "partnerId": partner_id,
            "listPK": keys.credentials_of(tenant_id),
            "listSK": keys.created_order(created_at, client_id),
        }
    return put(settings().tenants_table, item, condition="attribute_not_exists(PK)")
