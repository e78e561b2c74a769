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


class PublishFailed(Exception):
    """EventBridge did not accept an entry; the stream record is retried."""


def publish(item: dict[str, Any]) -> None:
    """Put one event row (from the stream) on the bus; raise ``PublishFailed`` if not accepted."""
    detail = {**public_event(item), "tenantId": item["tenantId"], "partnerPath": item["partnerPath"]}
    if item.get("notify"):  # side effects the change asked for (rules route them; webhooks never see it)
        detail["notify"] = item["notify"]
    with translated_errors():
        response = aws.client("events").put_events(
            Entries=[
                {
                    "Source": SOURCE,
                    "DetailType": item["type"],
                    "Detail": json.dumps(detail),
                    "EventBusName": settings().event_bus_name,
                    "Resources": [],
                }
            ]
        )
    if response.get("FailedEntryCount"):
        reason = response["Entries"][0].get("ErrorCode", "unknown")
        raise PublishFailed(f"PutEvents refused {item['eventId']}: {reason}")


def fan_out(bus_event: dict[str, Any]) -> int:
    """One delivery message per live webhook that hears this event; returns how many were sent.

    A delivery record is opened first (once per webhook and event) and marked enqueued after the
    send, so a retried fan-out re-sends only what it had not sent, and never opens twice."""
    event = bus_event["detail"]
    tenant_id = event["tenantId"]
    sent = 0
    for webhook in webhook_rules.listening(tenant_id, event):
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
