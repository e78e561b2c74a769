"""Webhook and audit-event request models, and their public shapes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from partner_api.event_types import EVENT_TYPES
from partner_api.models.common import InputModel, IsoDateTime, ListQuery

EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


class WebhookCreate(InputModel):
    url: Annotated[str, Field(min_length=8, max_length=2048)]
    events: Annotated[
        list[EventType], Field(min_length=1, max_length=len(EVENT_TYPES)), AfterValidator(_unique)
    ] = Field(default_factory=lambda: ["client.removed"])
    description: Annotated[str, Field(min_length=1, max_length=500)] | None = None


class WebhookListQuery(ListQuery):
    pass


class EventListQuery(ListQuery):
    type: EventType | None = None
    resourceId: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    since: IsoDateTime | None = None
    until: IsoDateTime | None = None


def public_webhook(record: dict[str, Any], secret: str | None = None) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "webhookId": record["webhookId"],
        "url": record["url"],
        "events": record["events"],
        "partnerId": record["partnerId"],
        "status": record["status"],
        "createdAt": record["createdAt"],
        "updatedAt": record["updatedAt"],
    }
    if record.get("description"):
        shown["description"] = record["description"]
    if secret:
        shown["secret"] = secret  # only when just created or rotated
    return shown


def public_delivery(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "eventId": record["eventId"],
        "eventType": record["eventType"],
        "status": record["status"],
        "attempts": record.get("attempts", []),
        "createdAt": record["createdAt"],
        "updatedAt": record["updatedAt"],
    }
