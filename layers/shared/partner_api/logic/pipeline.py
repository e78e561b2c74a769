"""The events pipeline: outbox -> bus (publish), bus -> one message per webhook (fan out),
and one signed POST per message (deliver), with retries by message visibility."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from partner_api.config import settings
from partner_api.ids import now_iso
from partner_api.logic import webhooks as webhook_rules
from partner_api.logic.webhook_urls import RefusedDestination, delivery_target
from partner_api.store import aws, keys, queues, sealed, webhooks
from partner_api.store.dynamo import get, translated_errors
from partner_api.store.events import public_event

SOURCE = "partner-api"
TIMEOUT_SECONDS = 10
LEASE_SECONDS = 30  # longer than one attempt can take


# PutEvents takes at most 10 entries and 256 KB a call; an event's detail is a few KB at most
# (metadata is capped), so 10 stay well inside the size limit.
ENTRIES_PER_CALL = 10


def publish(items: list[dict[str, Any]]) -> int | None:
    """Put event rows (from the stream, in order) on the bus, ten per ``PutEvents`` call; returns
    the position of the first row the bus did not take, or ``None`` when it took them all.

    EventBridge answers each entry separately: entries it refused are sent again at once, on
    their own, so one refusal does not make the rest of the call go twice; what it refuses
    twice is left to the stream's retry from that row on."""
    for start in range(0, len(items), ENTRIES_PER_CALL):
        chunk = items[start : start + ENTRIES_PER_CALL]
        refused = _put_events(chunk, list(range(len(chunk))))
        if refused:
            refused = _put_events(chunk, refused)
        if refused:
            return start + refused[0]
    return None


def _put_events(chunk: list[dict[str, Any]], positions: list[int]) -> list[int]:
    """Send ``chunk``'s rows at ``positions``; the positions of those refused."""
    with translated_errors():
        response = aws.client("events").put_events(Entries=[_bus_entry(chunk[p]) for p in positions])
    if not response.get("FailedEntryCount"):
        return []
    return [p for p, result in zip(positions, response["Entries"], strict=True) if result.get("ErrorCode")]


def _bus_entry(item: dict[str, Any]) -> dict[str, Any]:
    detail = {**public_event(item), "tenantId": item["tenantId"], "partnerPath": item["partnerPath"]}
    if item.get("notify"):  # side effects the change asked for (rules route them; webhooks never see it)
        detail["notify"] = item["notify"]
    return {
        "Source": SOURCE,
        "DetailType": item["type"],
        "Detail": json.dumps(detail),
        "EventBusName": settings().event_bus_name,
        "Resources": [],
    }


def fan_out(bus_event: dict[str, Any], live_webhooks: dict[str, list[dict[str, Any]]] | None = None) -> int:
    """One delivery message per live webhook that hears this event; returns how many were sent.

    A delivery record is opened first (once per webhook and event) and marked enqueued after the
    send, so a retried fan-out re-sends only what it had not sent, and never opens twice.
    ``live_webhooks`` keeps each tenant's live webhooks once read, for the rest of a batch of
    messages (one read per tenant and batch instead of one per message)."""
    event = bus_event["detail"]
    tenant_id = event["tenantId"]
    sent = 0
    known = {} if live_webhooks is None else live_webhooks
    if tenant_id not in known:
        known[tenant_id] = webhooks.active_of_tenant(tenant_id)
    for webhook in webhook_rules.listening(tenant_id, event, known[tenant_id]):
        webhook_id = webhook["webhookId"]
        if not webhooks.open_delivery(tenant_id, webhook_id, event, now_iso()):
            existing = webhooks.find_delivery(tenant_id, webhook_id, event["eventId"]) or {}
            if existing.get("enqueued", True):
                continue
        queues.enqueue_delivery(tenant_id, webhook_id, event["eventId"], 0)
        webhooks.mark_enqueued(tenant_id, webhook_id, event["eventId"])
        sent += 1
    return sent


@dataclass(frozen=True)
class Outcome:
    """What to do with a delivery message: done (delete it) or retry after ``delay`` seconds."""

    done: bool
    delay: int = 0


def deliver(message: dict[str, Any], receive_count: int) -> Outcome:
    """Attempt one delivery; ``receive_count`` (SQS's) is this attempt's number."""
    tenant_id, webhook_id, event_id = message["tenantId"], message["webhookId"], message["eventId"]
    round_ = int(message.get("round", 0))
    webhook = webhooks.find(tenant_id, webhook_id)
    event = get(settings().events_table, {"PK": keys.tenant(tenant_id), "SK": keys.event(event_id)})
    if webhook is None or webhook["status"] != "active" or event is None:
        return Outcome(done=True)  # nothing to deliver any more
    if not webhooks.take_lease(tenant_id, webhook_id, event_id, round_, int(time.time()), LEASE_SECONDS):
        delivery = webhooks.find_delivery(tenant_id, webhook_id, event_id) or {}
        if delivery.get("status") == "succeeded" or int(delivery.get("round", round_)) != round_:
            return Outcome(done=True)  # delivered already, or superseded by a redelivery
        return Outcome(done=False, delay=LEASE_SECONDS)  # another attempt is in flight
    attempt = _post(webhook, event)
    schedule = settings().retry_schedule
    succeeded = attempt["error"] is None
    last = receive_count > len(schedule)
    status = "succeeded" if succeeded else ("failed" if last else "pending")
    webhooks.record_attempt(tenant_id, webhook_id, event_id, attempt, status, now_iso())
    if succeeded:
        return Outcome(done=True)
    # After the last scheduled retry the message comes straight back and SQS dead-letters it.
    return Outcome(done=False, delay=0 if last else schedule[receive_count - 1])


def payload(event: dict[str, Any]) -> str:
    return json.dumps(
        {"type": event["type"], "timestamp": event["occurredAt"], "data": public_event(event)},
        separators=(",", ":"),
    )


def signature(webhook: dict[str, Any], msg_id: str, moment: datetime, body: str) -> str:
    """``v1,<sig>``, plus a second signature with the previous secret within 24 h of a rotation."""
    from standardwebhooks.webhooks import Webhook

    secrets = [sealed.unseal(webhook["secretSealed"])]
    previous = webhook.get("previousSecretSealed")
    if previous and webhook.get("previousSecretExpiresAt", "") > now_iso():
        secrets.append(sealed.unseal(previous))
    return " ".join(Webhook(s).sign(msg_id=msg_id, timestamp=moment, data=body) for s in secrets)


def _post(webhook: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """POST the signed event; the attempt as recorded (time, status code, duration, error)."""
    import urllib3

    started_at = now_iso()
    started = time.perf_counter()
    status_code = None
    error: str | None = None
    try:
        target = delivery_target(webhook["url"])
        body = payload(event)
        moment = datetime.now(UTC)
        headers = {
            "Host": target.host if target.port in (80, 443) else f"{target.host}:{target.port}",
            "Content-Type": "application/json",
            "User-Agent": "partner-api-webhooks/1",
            "webhook-id": event["eventId"],
            "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": signature(webhook, event["eventId"], moment, body),
        }
        timeout = urllib3.Timeout(total=TIMEOUT_SECONDS)
        # Connect to the address just checked, not to whatever the name resolves to next.
        if target.scheme == "https":
            pool: Any = urllib3.HTTPSConnectionPool(
                target.address,
                target.port,
                server_hostname=target.host,
                assert_hostname=target.host,
                timeout=timeout,
                retries=False,
            )
        else:
            pool = urllib3.HTTPConnectionPool(target.address, target.port, timeout=timeout, retries=False)
        with pool:
            response = pool.urlopen(
                "POST", target.path, body=body.encode(), headers=headers, redirect=False, preload_content=True
            )
        status_code = int(response.status)
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except RefusedDestination as exc:
        error = f"destination refused: {exc}"
    except urllib3.exceptions.HTTPError as exc:
        error = f"{type(exc).__name__}: {str(exc)[:200]}"
    return {
        "attemptedAt": started_at,
        "statusCode": status_code,
        "durationMs": int((time.perf_counter() - started) * 1000),
        "error": error,
    }
