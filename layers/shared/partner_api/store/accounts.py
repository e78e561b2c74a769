"""Customer accounts, their name uniqueness items, and their seat counters.

Seats live on their own item (``SEATS#<accountId>``: ``used`` and the SEATS ``cap``), so a
client's transaction can take a seat with one conditional ``ADD`` while account edits, which
replace the account item by version, never overwrite the count.
"""

from __future__ import annotations

from typing import Any

from partner_api.config import settings
from partner_api.store import keys
from partner_api.store.dynamo import batch_get, claim, get, put, release, update


def key(tenant_id: str, account_id: str) -> dict[str, str]:
    return {"PK": keys.tenant(tenant_id), "SK": keys.account(account_id)}


def seats_key(tenant_id: str, account_id: str) -> dict[str, str]:
    return {"PK": keys.tenant(tenant_id), "SK": keys.seats(account_id)}


def find(tenant_id: str, account_id: str) -> dict[str, Any] | None:
    return get(settings().tenants_table, key(tenant_id, account_id))


def seats_used(items: list[dict[str, Any]], tenant_id: str) -> dict[str, int]:
    """Seats taken per account id, from the seat items among ``items``."""
    prefix = keys.seats("")
    return {
        i["SK"].removeprefix(prefix): int(i.get("used", 0))
        for i in items
        if i["PK"] == keys.tenant(tenant_id) and i["SK"].startswith(prefix)
    }


def find_with_seats(tenant_id: str, account_id: str) -> tuple[dict[str, Any] | None, int]:
    """The account item and its seats in use, in one ``BatchGetItem``."""
    table = settings().tenants_table
    found = batch_get({table: [key(tenant_id, account_id), seats_key(tenant_id, account_id)]})[table]
    account = next((i for i in found if i["SK"].startswith(keys.account(""))), None)
    return account, seats_used(found, tenant_id).get(account_id, 0)


def account_put(
    record: dict[str, Any], *, create: bool = False, expected_version: int | None = None
) -> dict[str, Any]:
    """Write an account: new (``create``) or replacing exactly ``expected_version``."""
    item = {
        **record,
        **key(record["tenantId"], record["accountId"]),
        "listPK": keys.accounts_of(record["tenantId"]),
        "listSK": keys.created_order(record["createdAt"], record["accountId"]),
        "search": f"{record['name']}\n{record.get('company') or ''}".lower(),
        "ownerPath": "/".join(record["partnerPath"]) + "/",
    }
    if create:
        return put(settings().tenants_table, item, condition="attribute_not_exists(PK)")
    return put(
        settings().tenants_table,
        item,
        condition="#v = :v",
        names={"#v": "version"},
        values={":v": expected_version},
    )


def record_of(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("PK", "SK", "listPK", "listSK", "search", "ownerPath")}


def name_key(tenant_id: str, name: str) -> dict[str, str]:
    return {"PK": keys.tenant(tenant_id), "SK": keys.account_name(name.lower())}


def name_claim(tenant_id: str, name: str, account_id: str) -> dict[str, Any]:
    """Take an account name (case-insensitive, per tenant); fails when another account holds it."""
    return claim(settings().tenants_table, name_key(tenant_id, name), "accountId", account_id)


def name_release(tenant_id: str, name: str, account_id: str) -> dict[str, Any]:
    return release(settings().tenants_table, name_key(tenant_id, name), "accountId", account_id)


def seats_put(tenant_id: str, account_id: str, cap: int | None) -> dict[str, Any]:
    item: dict[str, Any] = {**seats_key(tenant_id, account_id), "used": 0}
    if cap is not None:
        item["cap"] = cap
    return put(settings().tenants_table, item, condition="attribute_not_exists(PK)")


def seats_cap_set(tenant_id: str, account_id: str, cap: int | None) -> dict[str, Any]:
    """A new cap applies to seats taken from now on; seats already taken stay taken."""
    if cap is None:
        return update(
            settings().tenants_table, seats_key(tenant_id, account_id), "REMOVE #cap", names={"#cap": "cap"}
        )
    return update(
        settings().tenants_table,
        seats_key(tenant_id, account_id),
        "SET #cap = :cap",
        names={"#cap": "cap"},
        values={":cap": cap},
    )


def seat_take(tenant_id: str, account_id: str) -> dict[str, Any]:
    """Take one seat, only while one is free: the cap is decided by DynamoDB, atomically."""
    return update(
        settings().tenants_table,
        seats_key(tenant_id, account_id),
        "ADD used :one",
        names={"#cap": "cap"},
        values={":one": 1},
        condition="attribute_exists(used) AND (attribute_not_exists(#cap) OR used < #cap)",
    )


def seat_free(tenant_id: str, account_id: str) -> dict[str, Any]:
    return update(
        settings().tenants_table,
        seats_key(tenant_id, account_id),
        "ADD used :minus",
        values={":minus": -1},
    )
