"""Webhooks: register (secret shown once), list, read, delete, rotate the secret, deliveries."""

from __future__ import annotations

import base64
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from partner_api.auth.principal import Principal
from partner_api.config import settings
from partner_api.errors import PreconditionFailed, WebhookNotFound
from partner_api.ids import iso, new_id, now_iso
from partner_api.logic.pages import Page, read_page, subtree_list_page
from partner_api.logic.versions import require_match
from partner_api.logic.webhook_urls import check_registration
from partner_api.models.webhooks import WebhookCreate, WebhookListQuery
from partner_api.store import keys, pages, sealed, webhooks
from partner_api.store.dynamo import TransactionConflict, transact
from partner_api.store.events import Actor, diff, event_about

AUDITED_FIELDS = ("url", "events", "description", "status")
PREVIOUS_SECRET_SECONDS = 24 * 3600  # the old secret still verifies this long after a rotation


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def create(caller: Principal, actor: Actor, body: WebhookCreate) -> tuple[dict[str, Any], str]:
    """Register a webhook for the caller's partner; returns it and its secret (shown only now)."""
    url = check_registration(body.url)
    secret = new_secret()
    now = now_iso()
    record = {
        "webhookId": new_id(),
        "tenantId": caller.tenant_id,
        "partnerId": caller.partner_id,
        "partnerPath": list(caller.partner_path),
        "url": url,
        "events": list(body.events),
        "description": body.description,
        "status": "active",
        "secretSealed": sealed.seal(secret),
        "createdAt": now,
        "updatedAt": now,
        "version": 1,
    }
    transact(
        [
            webhooks.create_put(record),
            event_about(
                "webhook",
                record,
                actor=actor,
                event_type="webhook.created",
                changes=diff({}, record, AUDITED_FIELDS),
                occurred_at=now,
            ),
        ]
    )
    return record, secret


def get(caller: Principal, webhook_id: str) -> dict[str, Any]:
    record = webhooks.find(caller.tenant_id, webhook_id)
    if record is None or record["status"] != "active" or not caller.sees_partner(record["partnerPath"]):
        raise WebhookNotFound()
    return record


def delete(caller: Principal, actor: Actor, webhook_id: str, if_match: str | None) -> dict[str, Any]:
    before = get(caller, webhook_id)
    require_match(if_match, webhook_id, before["version"])
    now = now_iso()
    after = {**before, "status": "deleted", "updatedAt": now, "version": before["version"] + 1}
    after.pop("previousSecretSealed", None)
    try:
        transact(
            [
                webhooks.replace_put(after, before["version"]),
                event_about(
                    "webhook",
                    after,
                    actor=actor,
                    event_type="webhook.deleted",
                    changes=diff(before, after, AUDITED_FIELDS),
                    occurred_at=now,
                ),
            ]
        )
    except TransactionConflict as conflict:
        raise PreconditionFailed() from conflict
    return after


def rotate_secret(caller: Principal, webhook_id: str, if_match: str | None) -> tuple[dict[str, Any], str]:
    """A new secret; the previous one keeps verifying for 24 hours (both sign each delivery)."""
    before = get(caller, webhook_id)
    require_match(if_match, webhook_id, before["version"])
    secret = new_secret()
    now = datetime.now(UTC)
    after = {
        **before,
        "secretSealed": sealed.seal(secret),
        "previousSecretSealed": before["secretSealed"],
        "previousSecretExpiresAt": iso(now + timedelta(seconds=PREVIOUS_SECRET_SECONDS)),
        "updatedAt": iso(now),
        "version": before["version"] + 1,
    }
    try:
        transact([webhooks.replace_put(after, before["version"])])
    except TransactionConflict as conflict:
        raise PreconditionFailed() from conflict
    return after, secret


def list_page(caller: Principal, query: WebhookListQuery) -> Page:
    """The subtree's live webhooks, oldest first."""
    live = (["#status = :active"], {"#status": "status"}, {":active": "active"})
    page = subtree_list_page(caller, "webhooks", keys.webhooks_of(caller.tenant_id), query, live)
    return replace(page, items=[webhooks.record_of(i) for i in page.items])


def deliveries_page(caller: Principal, webhook_id: str, query: WebhookListQuery) -> Page:
    """A webhook's deliveries with their attempts, newest event first."""
    get(caller, webhook_id)
    spec = pages.IndexQuery(
        table=settings().tenants_table,
        index=None,
        partition_attr="PK",
        partition_value=keys.tenant(caller.tenant_id),
        key_attrs=("PK", "SK"),
        sort_condition="begins_with(#sk, :prefix)",
        filter_names={"#sk": "SK"},
        filter_values={":prefix": f"DELIVERY#{webhook_id}#"},
        scope="|".join(["deliveries", caller.tenant_id, webhook_id]),
        forward=False,
    )
    return read_page(spec, query)


def listening(
    tenant_id: str, event: dict[str, Any], live: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The live webhooks that hear ``event``: those of its partner or an ancestor that subscribed
    to its type. ``live``: the tenant's live webhooks, when the caller has read them already."""
    path = set(event.get("partnerPath") or [])
    if live is None:
        live = webhooks.active_of_tenant(tenant_id)
    return [w for w in live if w["partnerId"] in path and event["type"] in w["events"]]
