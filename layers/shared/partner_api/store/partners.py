"""Partner records, their reference uniqueness items and their client counters."""

from __future__ import annotations

from typing import Any

from partner_api.config import settings
from partner_api.statuses import LIVE_STATUSES, STATUSES
from partner_api.store import keys
from partner_api.store.dynamo import batch_get, claim, get, items_with_prefix, put, release, update

ROOTS_COUNTER = {"PK": "PLATFORM", "SK": "COUNTS#ROOT_PARTNERS"}  # root partners by status


def key(tenant_id: str, partner_id: str) -> dict[str, str]:
    return {"PK": keys.tenant(tenant_id), "SK": keys.partner(partner_id)}


def counts_key(tenant_id: str, partner_id: str) -> dict[str, str]:
    return {"PK": keys.tenant(tenant_id), "SK": keys.counts(partner_id)}


def find(tenant_id: str, partner_id: str) -> dict[str, Any] | None:
    return get(settings().tenants_table, key(tenant_id, partner_id))


def all_active(tenant_id: str, partner_ids: list[str]) -> bool:
    """Whether every one of these partners exists and is active (one ``BatchGetItem``)."""
    if not partner_ids:
        return True
    table = settings().tenants_table
    found = batch_get({table: [key(tenant_id, p) for p in partner_ids]})[table]
    return len(found) == len(partner_ids) and all(p.get("status") == "active" for p in found)


def reference_key(tenant_id: str, reference: str) -> dict[str, str]:
    return {"PK": keys.tenant(tenant_id), "SK": keys.reference(reference.lower())}


def reference_put(tenant_id: str, reference: str, partner_id: str) -> dict[str, Any]:
    return claim(settings().tenants_table, reference_key(tenant_id, reference), "partnerId", partner_id)


def reference_delete(tenant_id: str, reference: str, partner_id: str) -> dict[str, Any]:
    return release(settings().tenants_table, reference_key(tenant_id, reference), "partnerId", partner_id)


def counts_put(tenant_id: str, path: list[str]) -> dict[str, Any]:
    """A zeroed counter item for a new partner: own and whole-subtree client counts by status,
    and its live children. It carries the partner's path so a report can select a subtree."""
    zeros = {f"{scope}_{status}": 0 for scope in ("own", "tree") for status in STATUSES}
    return put(
        settings().tenants_table,
        {**counts_key(tenant_id, path[-1]), "partnerId": path[-1], "path": path, "children": 0, **zeros},
        condition="attribute_not_exists(PK)",
    )


def counts_change(tenant_id: str, changes: list[tuple[list[str], str, int]]) -> list[dict[str, Any]]:
    """Transaction items for counter moves. Each change is ``(owner path, status, delta)``:
    the owner's ``own_<status>`` and the ``tree_<status>`` of the owner and each ancestor move
    by ``delta``. Moves touching one partner twice are merged (a transaction may touch an
    item only once). A live client arriving at an owner requires the owner not to be closed
    (removed), so a partner's removal and a new client for it cannot both succeed."""
    per_partner: dict[str, dict[str, int]] = {}
    arriving: set[str] = set()
    for path, status, delta in changes:
        for partner_id in path:
            attrs = per_partner.setdefault(partner_id, {})
            attrs[f"tree_{status}"] = attrs.get(f"tree_{status}", 0) + delta
        owner = per_partner[path[-1]]
        owner[f"own_{status}"] = owner.get(f"own_{status}", 0) + delta
        if delta > 0 and status in LIVE_STATUSES:
            arriving.add(path[-1])
    operations = []
    for partner_id, attrs in per_partner.items():
        moved = sorted((a, d) for a, d in attrs.items() if d)
        if not moved:
            continue
        names = {f"#a{i}": attr for i, (attr, _) in enumerate(moved)}
        values = {f":d{i}": delta for i, (_, delta) in enumerate(moved)}
        expression = "ADD " + ", ".join(f"#a{i} :d{i}" for i in range(len(moved)))
        operations.append(
            update(
                settings().tenants_table,
                counts_key(tenant_id, partner_id),
                expression,
                names=names,
                values=values,
                condition="attribute_not_exists(closed)" if partner_id in arriving else None,
            )
        )
    return operations


def children_change(tenant_id: str, parent_id: str, delta: int) -> dict[str, Any]:
    """Count a parent's live children; a child may only arrive under a parent not closed."""
    return update(
        settings().tenants_table,
        counts_key(tenant_id, parent_id),
        "ADD children :d",
        values={":d": delta},
        condition="attribute_not_exists(closed)" if delta > 0 else None,
    )


def close_counts(tenant_id: str, partner_id: str) -> dict[str, Any]:
    """Mark a partner removed, only if it has no live children and no live clients of its own."""
    empty = " AND ".join(f"(attribute_not_exists(own_{s}) OR own_{s} = :zero)" for s in LIVE_STATUSES)
    return update(
        settings().tenants_table,
        counts_key(tenant_id, partner_id),
        "SET closed = :true",
        values={":true": True, ":zero": 0},
        condition=f"(attribute_not_exists(children) OR children = :zero) AND {empty}",
    )


def counters_in(tenant_id: str, partner_path: tuple[str, ...] | list[str]) -> list[dict[str, Any]]:
    """The counter items of a partner and all its descendants (a query over the tenant's
    counters; a subtree is selected by the path each counter carries)."""
    if len(partner_path) <= 1:  # a root's subtree is the whole tenant
        return items_with_prefix(settings().tenants_table, keys.tenant(tenant_id), keys.counts(""))
    return items_with_prefix(
        settings().tenants_table,
        keys.tenant(tenant_id),
        keys.counts(""),
        filter_expression="contains(#path, :me)",
        names={"#path": "path"},
        values={":me": partner_path[-1]},
    )


def named(tenant_id: str, name: str) -> list[dict[str, Any]]:
    """The tenant's partners called ``name`` in any case. Names are not keys, so this reads the
    tenant's partner items; parents are named rarely and trees are small."""
    found = items_with_prefix(settings().tenants_table, keys.tenant(tenant_id), keys.partner(""))
    return [p for p in found if p["name"].lower() == name.lower()]


def partner_put(
    record: dict[str, Any], *, create: bool = False, expected_version: int | None = None
) -> dict[str, Any]:
    """Write a partner: new (``create``) or replacing exactly ``expected_version``."""
    parent = record["path"][-2] if len(record["path"]) > 1 else None
    item = {
        **record,
        **key(record["tenantId"], record["partnerId"]),
        "listPK": keys.children_of(record["tenantId"], parent) if parent else keys.ROOT_PARTNERS,
        "listSK": keys.created_order(record["createdAt"], record["partnerId"]),
        "search": f"{record['name']}\n{record['reference']}".lower(),
        "ownerPath": "/".join(record["path"]) + "/",  # subtree filters select partners too
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
    """Strip keys and index attributes, leaving the domain record."""
    return {k: v for k, v in item.items() if k not in ("PK", "SK", "listPK", "listSK", "search", "ownerPath")}
