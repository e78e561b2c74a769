"""Audit events: written in the same transaction as the change they record (the outbox)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from partner_api.config import settings
from partner_api.ids import iso_ms, new_event_id, now_iso
from partner_api.store import keys
from partner_api.store.dynamo import put

RETENTION_SECONDS = 400 * 24 * 3600


@dataclass(frozen=True)
class Actor:
    """Who made a change, as recorded on its event."""

    type: str  # partner | operator | user | system | directory
    client_id: str  # for a directory: its directoryId
    partner_id: str = ""
    request_id: str = ""

    def as_dict(self) -> dict[str, str]:
        shown = {"type": self.type, "directoryId" if self.type == "directory" else "clientId": self.client_id}
        if self.partner_id:
            shown["partnerId"] = self.partner_id
        return shown


def diff(before: dict[str, Any], after: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """``{"field": {"from": old, "to": new}}`` for each listed field that changed."""
    return {
        name: {"from": before.get(name), "to": after.get(name)}
        for name in fields
        if before.get(name) != after.get(name)
    }


def event_put(
    *,
    tenant_id: str,
    event_type: str,
    partner_id: str,
    partner_path: list[str],
    actor: Actor,
    resource_type: str,
    resource_id: str,
    changes: dict[str, Any] | None = None,
    occurred_at: str | None = None,
    notify: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The transaction item that writes one event row; its id is new and unique. ``notify``
    asks the pipeline for a side effect of the change (a welcome email); it is never shown."""
    occurred_at = occurred_at or now_iso()
    # The id carries the event's own time, so time filters and ordering agree with occurredAt.
    event_id = new_event_id(iso_ms(occurred_at))
    return put(
        settings().events_table,
        {
            "PK": keys.tenant(tenant_id),
            "SK": keys.event(event_id),
            "eventId": event_id,
            "type": event_type,
            "occurredAt": occurred_at,
            "tenantId": tenant_id,
            "partnerId": partner_id,
            "partnerPath": partner_path,
            "ownerPath": "/".join(partner_path) + "/",
            "resourcePK": keys.resource(tenant_id, resource_id),
            "actor": actor.as_dict(),
            "resource": {"type": resource_type, "id": resource_id},
            "changes": changes or {},
            "requestId": actor.request_id or None,
            "expiresAt": int(time.time()) + RETENTION_SECONDS,
            **({"notify": notify} if notify else {}),
        },
        condition="attribute_not_exists(PK)",
    )


def event_about(
    resource_type: str,
    record: dict[str, Any],
    *,
    actor: Actor,
    event_type: str,
    changes: dict[str, Any],
    occurred_at: str,
    path_field: str = "partnerPath",
    notify: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The event row for a change to ``record`` (a client, partner, webhook...), which carries its
    ``tenantId``, ``partnerId``, owner path and ``<resource_type>Id``."""
    return event_put(
        tenant_id=record["tenantId"],
        event_type=event_type,
        partner_id=record["partnerId"],
        partner_path=record[path_field],
        actor=actor,
        resource_type=resource_type,
        resource_id=record[f"{resource_type}Id"],
        changes=changes,
        occurred_at=occurred_at,
        notify=notify,
    )


def public_event(item: dict[str, Any]) -> dict[str, Any]:
    shown: dict[str, Any] = {
        k: item[k]
        for k in ("eventId", "type", "occurredAt", "partnerId", "actor", "resource", "changes")
        if k in item
    }
    if item.get("requestId"):
        shown["requestId"] = item["requestId"]
    return shown
