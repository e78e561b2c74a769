"""The webhook delivery queue."""

from __future__ import annotations

import json

from partner_api.config import settings
from partner_api.store import aws
from partner_api.store.dynamo import translated_errors


def enqueue_delivery(tenant_id: str, webhook_id: str, event_id: str, round_: int) -> None:
    """One message: deliver ``event_id`` to ``webhook_id`` (``round_`` > 0 for redeliveries)."""
    body = json.dumps({"tenantId": tenant_id, "webhookId": webhook_id, "eventId": event_id, "round": round_})
    with translated_errors():
        aws.client("sqs").send_message(QueueUrl=settings().delivery_queue_url, MessageBody=body)


def retry_after(receipt_handle: str, seconds: int) -> None:
    """Make a received delivery message visible again in ``seconds`` (SQS caps this at 12 h)."""
    with translated_errors():
        aws.client("sqs").change_message_visibility(
            QueueUrl=settings().delivery_queue_url,
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=min(seconds, 43200),
        )
