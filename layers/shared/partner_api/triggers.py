"""The edge for stream and queue triggers: Powertools batch processing with partial failures."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from partner_api.logic import pipeline, welcome
from partner_api.store import queues
from partner_api.store.items import from_item

logger = Logger(service="partner-api")


class RetryLater(Exception):
    """A delivery message goes back to the queue; its visibility says when it returns."""


def outbox_relay(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    """Events table stream -> bus. After a record fails, the rest of its batch is not sent:
    Lambda resumes the stream at the first failed record, so later ones would go twice."""
    logger.set_correlation_id(None)  # a warm container may have logged an HTTP request before
    failed_earlier = False

    def publish(record: DynamoDBRecord) -> None:
        nonlocal failed_earlier
        if failed_earlier:
            raise pipeline.PublishFailed("an earlier record of this batch was not published")
        try:
            pipeline.publish(from_item(record.raw_event["dynamodb"]["NewImage"]))
        except Exception:
            failed_earlier = True
            raise

    processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
    return process_partial_response(event=event, record_handler=publish, processor=processor, context=context)


def webhook_fan_out(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    """Bus events (via SQS) -> one delivery message per matching webhook."""
    logger.set_correlation_id(None)

    def fan_out(record: SQSRecord) -> None:
        sent = pipeline.fan_out(json.loads(record.body))
        logger.info("fanned out", extra={"deliveries": sent})

    processor = BatchProcessor(event_type=EventType.SQS)
    return process_partial_response(event=event, record_handler=fan_out, processor=processor, context=context)


def webhook_delivery(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    """One signed POST per message; a failure comes back after the retry schedule's delay."""

    def deliver(record: SQSRecord) -> None:
        message = json.loads(record.body)
        logger.set_correlation_id(message.get("eventId"))  # the webhook-id the receiver sees
        outcome = pipeline.deliver(message, int(record.attributes.approximate_receive_count))
        if not outcome.done:
            queues.retry_after(record.receipt_handle, outcome.delay)
            raise RetryLater(f"retry in {outcome.delay}s")

    processor = BatchProcessor(event_type=EventType.SQS)
    return process_partial_response(event=event, record_handler=deliver, processor=processor, context=context)


def welcome_emails(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    """Bus events (via SQS) asking for a partner contact's welcome email -> one SES email each."""
    logger.set_correlation_id(None)

    def send(record: SQSRecord) -> None:
        bus_event = json.loads(record.body)
        message_id = welcome.send_once(bus_event, context)
        logger.info(
            "welcome email sent", extra={"eventId": bus_event["detail"]["eventId"], "messageId": message_id}
        )

    processor = BatchProcessor(event_type=EventType.SQS)
    return process_partial_response(event=event, record_handler=send, processor=processor, context=context)
