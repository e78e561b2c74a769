"""Client records, their email uniqueness items, and the indexes lists page over."""

from __future__ import annotations

from typing import Any

from partner_api.config import settings
from partner_api.store import keys
from partner_api.store.dynamo import batch_get, claim, get, put, release
from partner_api.store.pages import IndexQuery

LIVE_INDEX = "LiveIndex"  # every client not deleted, oldest first
STATUS_INDEX = "StatusIndex"  # clients of one status, oldest first
# Attributes copied into both indexes, so list filters never read whole items.
INDEX_ATTRS = ("partnerId", "ownerPath", "accountId", "search")


def key(tenant_id: str, client_id: str) -> dict[str, str]:
    return {"PK": keys.tenant(tenant_id), "SK": keys.client(client_id)}


def email_key(tenant_id: str, email: str) -> dict[str, str]:
    return {"PK": keys.tenant(tenant_id), "SK": keys.email(email.lower())}


def find(tenant_id: str, client_id: str) -> dict[str, Any] | None:
    return get(settings().users_table, key(tenant_id, client_id))


def find_by_email(tenant_id: str, email: str) -> dict[str, Any] | None:
    """The live client holding ``email`` in the tenant, via its uniqueness item."""
    owner = get(settings().users_table, email_key(tenant_id, email))
    return find(tenant_id, owner["clientId"]) if owner else None


def path_key(partner_path: list[str]) -> str:
    """The owner's ancestry as one string, so ``begins_with`` selects a subtree."""
    return "/".join(partner_path) + "/"


def stored(record: dict[str, Any]) -> dict[str, Any]:
    """The full item for a client record: its keys plus the index attributes derived from it."""
    tenant_id, client_id = record["tenantId"], record["clientId"]
    item = {
        **record,
        **key(tenant_id, client_id),
        "ownerPath": path_key(record["partnerPath"]),
        "statusPK": keys.by_status(tenant_id, record["status"]),
        "listSK": keys.created_order(record["registeredAt"], client_id),
        "search": f"{record['name']}\n{record['email']}".lower(),
    }
    if record["status"] != "deleted":
        item["livePK"] = keys.tenant(tenant_id)
    return item


def record_of(item: dict[str, Any]) -> dict[str, Any]:
    """Strip keys and index attributes, leaving the domain record."""
    derived = {"PK", "SK", "ownerPath", "statusPK", "listSK", "search", "livePK"}
    return {k: v for k, v in item.items() if k not in derived}


def create_put(record: dict[str, Any]) -> dict[str, Any]:
    return put(settings().users_table, stored(record), condition="attribute_not_exists(PK)")


def replace_put(record: dict[str, Any], expected_version: int) -> dict[str, Any]:
    """Write the new version of a client only if nobody wrote another since it was read."""
    return put(
        settings().users_table,
        stored(record),
        condition="#v = :v",
        names={"#v": "version"},
        values={":v": expected_version},
    )


def email_claim(tenant_id: str, email: str, client_id: str) -> dict[str, Any]:
    """Take an email for a client; fails when a live client of the tenant holds it."""
    return claim(settings().users_table, email_key(tenant_id, email), "clientId", client_id)


def email_release(tenant_id: str, email: str, client_id: str) -> dict[str, Any]:
    return release(settings().users_table, email_key(tenant_id, email), "clientId", client_id)


def list_spec(
    *,
    tenant_id: str,
    status: str | None,
    owner_path: list[str] | None,
    partner_id: str | None,
    account_id: str | None,
    q: str | None,
) -> IndexQuery:
    """Which index partition a list reads, and the filter on its slim entries."""
    if status:
        index, attr, partition = STATUS_INDEX, "statusPK", keys.by_status(tenant_id, status)
    else:
        index, attr, partition = LIVE_INDEX, "livePK", keys.tenant(tenant_id)
    clauses: list[str] = []
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    if owner_path is not None and len(owner_path) > 1:  # a root partner sees its whole tenant
        clauses.append("begins_with(#path, :path)")
        names["#path"], values[":path"] = "ownerPath", path_key(owner_path)
    if partner_id:
        clauses.append("#partner = :partner")
        names["#partner"], values[":partner"] = "partnerId", partner_id
    if account_id:
        clauses.append("#account = :account")
        names["#account"], values[":account"] = "accountId", account_id
    if q:
        clauses.append("contains(#search, :q)")
        names["#search"], values[":q"] = "search", q.lower()
    scope = "|".join(
        ["clients", tenant_id, index, partition, *(f"{k}={v}" for k, v in sorted(values.items()))]
    )
    return IndexQuery(
        table=settings().users_table,
        index=index,
        partition_attr=attr,
        partition_value=partition,
        key_attrs=("PK", "SK", attr, "listSK"),
        filter_expression=" AND ".join(clauses) or None,
        filter_names=names,
        filter_values=values,
        scope=scope,
    )


def fetch_page(
    tenant_id: str, index_entries: list[dict[str, Any]], counter_key: dict[str, str] | None
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """One ``BatchGetItem`` for a page's full items and, alongside, the counter item."""
    requests: dict[str, list[dict[str, str]]] = {
        settings().users_table: [{"PK": e["PK"], "SK": e["SK"]} for e in index_entries]
    }
    if counter_key:
        requests.setdefault(settings().tenants_table, []).append(counter_key)
    found = batch_get(requests)
    by_key = {(i["PK"], i["SK"]): i for i in found.get(settings().users_table, [])}
    # An entry whose item vanished between the two reads (a race) is skipped, not invented.
    items = [by_key[(e["PK"], e["SK"])] for e in index_entries if (e["PK"], e["SK"]) in by_key]
    counters = found.get(settings().tenants_table, [])
    return items, (counters[0] if counters else None)
