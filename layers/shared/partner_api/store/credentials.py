"""Credentials (technical accounts): a client id, a hashed secret, scopes, a status."""

from __future__ import annotations

from typing import Any

from partner_api.config import settings
from partner_api.store import keys
from partner_api.store.dynamo import get, put, update


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
    partner_path: list[str] | None = None,
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
    if tenant_id and partner_path:
        item |= {
            "tenantId": tenant_id,
            "partnerId": partner_path[-1],
            "partnerPath": partner_path,
            "ownerPath": "/".join(partner_path) + "/",
            "listPK": keys.credentials_of(tenant_id),
            "listSK": keys.created_order(created_at, client_id),
        }
    return put(settings().tenants_table, item, condition="attribute_not_exists(PK)")


def revoke_put(record: dict[str, Any], revoked_at: str) -> dict[str, Any]:
    """The transaction item revoking an active credential (a second revocation fails)."""
    return update(
        settings().tenants_table,
        key(record["clientId"]),
        "SET #s = :revoked, #at = :at",
        names={"#s": "status", "#at": "revokedAt"},
        values={":revoked": "revoked", ":at": revoked_at, ":active": "active"},
        condition="#s = :active",
    )


def public(item: dict[str, Any]) -> dict[str, Any]:
    """A credential as listed: never its secret or hash."""
    shown: dict[str, Any] = {
        k: item[k] for k in ("clientId", "partnerId", "scopes", "status", "createdAt") if k in item
    }
    for optional in ("name", "revokedAt"):
        if item.get(optional):
            shown[optional] = item[optional]
    return shown
