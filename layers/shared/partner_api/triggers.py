"""The edge for stream and queue triggers: Powertools batch processing with partial failures."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from partner_api.logic import pipeline, welcome
from partner_api.logs import correlate, logger
from partner_api.store import queues
from partner_api.store.items import from_item


class RetryLater(Exception):
    """A delivery message goes back to the queue; its visibility says when it returns."""


def outbox_relay(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    """Events table stream -> bus, ten events per call. When a row is not taken, it is reported
    as the batch's failure: Lambda resumes the stream there, so the rows after it go again too
    (at least once; fan-out opens one delivery per webhook and event whatever it sees twice)."""
    correlate(None)  # a warm container may have logged an HTTP request before
    records = event["Records"]
    rows = [from_item(r["dynamodb"]["NewImage"]) for r in records]
    try:
        failed = pipeline.publish(rows)
    except Exception:  # the bus unreachable or throttling: the whole batch comes again
        logger.exception("publishing failed", extra={"records": len(records)})
        failed = 0
    if failed is None:
        return {"batchItemFailures": []}
    logger.warning("not published; the stream resumes here", extra={"eventId": rows[failed]["eventId"]})
    return {"batchItemFailures": [{"itemIdentifier": records[failed]["dynamodb"]["SequenceNumber"]}]}


def webhook_fan_out(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    """Bus events (via SQS) -> one delivery message per matching webhook."""
    correlate(None)
    live_webhooks: dict[str, list[dict[str, Any]]] = {}  # per tenant, read once per batch

    def fan_out(record: SQSRecord) -> None:
        sent = pipeline.fan_out(json.loads(record.body), live_webhooks)
        logger.info("fanned out", extra={"deliveries": sent})

    processor = BatchProcessor(event_type=EventType.SQS)
    return process_partial_response(event=event, record_handler=fan_out, processor=processor, context=context)


def webhook_delivery(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    """One signed POST per message; a failure comes back after the retry schedule's delay."""

    def deliver(record: SQSRecord) -> None:
        message = json.loads(record.body)
        correlate(message.get("eventId"))  # the webhook-id the receiver sees
        outcome = pipeline.deliver(message, int(record.attributes.approximate_receive_count))
        if not outcome.done:
            queues.retry_after(record.receipt_handle, outcome.delay)
            raise RetryLater(f"retry in {outcome.delay}s")

    processor = BatchProcessor(event_type=EventType.SQS)
    return process_partial_response(event=event, record_handler=deliver, processor=processor, context=context)


def welcome_emails(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    """Bus events (via SQS) asking for a partner contact's welcome email -> one SES email each."""
    correlate(None)

    def send(record: SQSRecord) -> None:
        bus_event = json.loads(record.body)
        message_id = welcome.send_once(bus_event, context)
        logger.info(
            "welcome email sent", extra={"eventId": bus_event["detail"]["eventId"], "messageId": message_id}
        )

    processor = BatchProcessor(event_type=EventType.SQS)
    return process_partial_response(event=event, record_handler=send, processor=processor, context=context)
