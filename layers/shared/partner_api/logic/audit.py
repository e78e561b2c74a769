"""The audit trail: events of the caller's subtree, newest first, and redelivery."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from partner_api.auth.principal import Principal
from partner_api.config import settings
from partner_api.errors import EventNotFound, FieldIssue, InvalidInput
from partner_api.ids import event_id_bound, is_event_id, now_iso
from partner_api.logic import webhooks as webhook_rules
from partner_api.logic.pages import Page, read_page
from partner_api.models.webhooks import EventListQuery
from partner_api.store import keys, pages, queues, webhooks
from partner_api.store.dynamo import get


def get_event(caller: Principal, event_id: str) -> dict[str, Any]:
    if not is_event_id(event_id):
        raise InvalidInput(
            "The eventId value specified is invalid.", details=[FieldIssue("eventId", "must be an evt_ id")]
        )
    item = get(settings().events_table, {"PK": keys.tenant(caller.tenant_id), "SK": keys.event(event_id)})
    if item is None or not caller.sees_partner(item.get("partnerPath", [])):
        raise EventNotFound()
    return item


def list_page(caller: Principal, query: EventListQuery) -> Page:
    clauses: list[str] = []
    names: dict[str, str] = {"#sk": "SK"}
    values: dict[str, Any] = {
        ":lo": keys.event(_id_bound(query.since, low=True)),
        ":hi": keys.event(_id_bound(query.until, low=False)),
    }
    path_clauses, path_names, path_values = pages.subtree_filter(caller.partner_path)
    clauses += path_clauses
    names |= path_names
    values |= path_values
    if query.type:
        clauses.append("#type = :type")
        names["#type"], values[":type"] = "type", query.type
    if query.resourceId:
        index, attr, partition = (
            "ResourceIndex",
            "resourcePK",
            keys.resource(caller.tenant_id, query.resourceId),
        )
        key_attrs: tuple[str, ...] = ("PK", "SK", "resourcePK")
    else:
        index, attr, partition, key_attrs = None, "PK", keys.tenant(caller.tenant_id), ("PK", "SK")
    spec = pages.IndexQuery(
        table=settings().events_table,
        index=index,
        partition_attr=attr,
        partition_value=partition,
        key_attrs=key_attrs,
        sort_condition="#sk BETWEEN :lo AND :hi",
        filter_expression=" AND ".join(clauses) or None,
        filter_names=names,
        filter_values=values,
        scope="|".join(
            ["events", caller.tenant_id, partition, *(f"{k}={v}" for k, v in sorted(values.items()))]
        ),
        forward=False,
    )
    return read_page(spec, query)


def redeliver(caller: Principal, event_id: str) -> list[str]:
    """Queue the event again for the caller's webhooks that hear it; their ids."""
    event = get_event(caller, event_id)
    targets = [
        w for w in webhook_rules.listening(caller.tenant_id, event) if caller.sees_partner(w["partnerPath"])
    ]
    now = now_iso()
    for webhook in targets:
        round_ = webhooks.next_round(caller.tenant_id, webhook["webhookId"], event, now)
        queues.enqueue_delivery(caller.tenant_id, webhook["webhookId"], event_id, round_)
    return [w["webhookId"] for w in targets]


def _id_bound(moment: datetime | None, *, low: bool) -> str:
    if moment is None:
        return "evt_" + ("0" if low else "z") * 26
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return event_id_bound(int(moment.timestamp() * 1000), low=low)
