"""Webhook records and their delivery records (one per webhook and event)."""

from __future__ import annotations

from typing import Any

from partner_api.config import settings
from partner_api.store import keys
from partner_api.store.dynamo import ConditionFailed, get, items_with_prefix, put, put_new, update_one


def key(tenant_id: str, webhook_id: str) -> dict[str, str]:
    return {"PK": keys.tenant(tenant_id), "SK": keys.webhook(webhook_id)}


def delivery_key(tenant_id: str, webhook_id: str, event_id: str) -> dict[str, str]:
    return {"PK": keys.tenant(tenant_id), "SK": keys.delivery(webhook_id, event_id)}


def find(tenant_id: str, webhook_id: str) -> dict[str, Any] | None:
    item = get(settings().tenants_table, key(tenant_id, webhook_id))
    return record_of(item) if item else None


def stored(record: dict[str, Any]) -> dict[str, Any]:
    return {
        **record,
        **key(record["tenantId"], record["webhookId"]),
        "listPK": keys.webhooks_of(record["tenantId"]),
        "listSK": keys.created_order(record["createdAt"], record["webhookId"]),
        "ownerPath": "/".join(record["partnerPath"]) + "/",
    }


def record_of(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ("PK", "SK", "listPK", "listSK", "ownerPath")}


def create_put(record: dict[str, Any]) -> dict[str, Any]:
    return put(settings().tenants_table, stored(record), condition="attribute_not_exists(PK)")


def replace_put(record: dict[str, Any], expected_version: int) -> dict[str, Any]:
    return put(
        settings().tenants_table,
        stored(record),
        condition="#v = :v",
        names={"#v": "version"},
        values={":v": expected_version},
    )


def active_of_tenant(tenant_id: str) -> list[dict[str, Any]]:
    """Every live webhook of a tenant (a handful per partner), read consistently."""
    found = items_with_prefix(
        settings().tenants_table,
        keys.tenant(tenant_id),
        "WEBHOOK#",
        filter_expression="#status = :active",
        names={"#status": "status"},
        values={":active": "active"},
    )
    return [record_of(i) for i in found]


def find_delivery(tenant_id: str, webhook_id: str, event_id: str) -> dict[str, Any] | None:
    return get(settings().tenants_table, delivery_key(tenant_id, webhook_id, event_id))


def open_delivery(tenant_id: str, webhook_id: str, event: dict[str, Any], now: str) -> bool:
    """Record a pending delivery; False when this webhook already has one for the event."""
    return put_new(
        settings().tenants_table,
        {
            **delivery_key(tenant_id, webhook_id, event["eventId"]),
            "webhookId": webhook_id,
            "eventId": event["eventId"],
            "eventType": event["type"],
            "status": "pending",
            "round": 0,
            "attempts": [],
            "enqueued": False,
            "createdAt": now,
            "updatedAt": now,
        },
    )


def mark_enqueued(tenant_id: str, webhook_id: str, event_id: str) -> None:
    update_one(
        settings().tenants_table,
        delivery_key(tenant_id, webhook_id, event_id),
        "SET #q = :yes",
        names={"#q": "enqueued"},
        values={":yes": True},
    )


def take_lease(tenant_id: str, webhook_id: str, event_id: str, round_: int, now_s: int, seconds: int) -> bool:
    """Claim this delivery's next attempt: one attempt in flight at a time, and none once it
    succeeded or a newer redelivery round began."""
    try:
        update_one(
            settings().tenants_table,
            delivery_key(tenant_id, webhook_id, event_id),
            "SET #lease = :until",
            names={"#lease": "leaseUntil", "#round": "round", "#status": "status"},
            values={":until": now_s + seconds, ":round": round_, ":done": "succeeded", ":now": now_s},
            condition="#round = :round AND #status <> :done AND "
            "(attribute_not_exists(#lease) OR #lease < :now)",
        )
    except ConditionFailed:
        return False
    return True


def record_attempt(
    tenant_id: str, webhook_id: str, event_id: str, attempt: dict[str, Any], status: str, now: str
) -> None:
    """Append one attempt (time, status code, duration, error), set the status, end the lease."""
    update_one(
        settings().tenants_table,
        delivery_key(tenant_id, webhook_id, event_id),
        "SET #a = list_append(if_not_exists(#a, :empty), :one), #s = :s, #u = :u REMOVE #lease",
        names={"#a": "attempts", "#s": "status", "#u": "updatedAt", "#lease": "leaseUntil"},
        values={":empty": [], ":one": [attempt], ":s": status, ":u": now},
    )


def next_round(tenant_id: str, webhook_id: str, event: dict[str, Any], now: str) -> int:
    """Start a new delivery round (a redelivery), creating the record if needed; its number."""
    updated = update_one(
        settings().tenants_table,
        delivery_key(tenant_id, webhook_id, event["eventId"]),
        "SET #round = if_not_exists(#round, :minus) + :one, #status = :pending, #u = :now, "
        "#c = if_not_exists(#c, :now), #w = :w, #e = :e, #t = :t, #a = if_not_exists(#a, :empty), "
        "#q = :yes REMOVE #lease",
        names={
            "#round": "round",
            "#status": "status",
            "#u": "updatedAt",
            "#c": "createdAt",
            "#w": "webhookId",
            "#e": "eventId",
            "#t": "eventType",
            "#a": "attempts",
            "#q": "enqueued",
            "#lease": "leaseUntil",
        },
        values={
            ":minus": -1,
            ":one": 1,
            ":pending": "pending",
            ":now": now,
            ":w": webhook_id,
            ":e": event["eventId"],
            ":t": event["type"],
            ":empty": [],
            ":yes": True,
        },
    )
    return int(updated["round"])
