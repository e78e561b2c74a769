"""Welcome emails for partner contacts, sent through Amazon SES from the events pipeline.

The request that created the partner only records the wish on its event (the outbox), so a
failing mail service never fails or slows the API, and a committed change is never left
without its email: the queue retries, then dead-letters (with an alarm).
"""

from __future__ import annotations

from typing import Any

from partner_api.config import settings
from partner_api.store import aws
from partner_api.store.dynamo import translated_errors
from partner_api.store.idempotency import persistence_layer

KEEP_SECONDS = 7 * 24 * 3600  # longer than the queue keeps a message redelivering


def send_once(bus_event: dict[str, Any], context: Any = None) -> str:
    """Send the welcome email a bus event asks for, at most once per event (SQS may deliver a
    message twice); returns the SES message id (the first one, on a repeat)."""
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

    config = IdempotencyConfig(event_key_jmespath="eventId", expires_after_seconds=KEEP_SECONDS)
    if hasattr(context, "get_remaining_time_in_millis"):
        config.register_lambda_context(context)
    store = persistence_layer()

    @idempotent_function(data_keyword_argument="event", persistence_store=store, config=config)  # type: ignore[untyped-decorator]
    def send(event: dict[str, Any]) -> str:
        return _send(event["notify"]["welcomeEmail"])

    detail = bus_event["detail"]
    return str(send(event={"eventId": f"welcome#{detail['eventId']}", "notify": detail["notify"]}))


def _send(welcome: dict[str, str]) -> str:
    partner, first_name = welcome["partnerName"], welcome["firstName"]
    text = (
        f"Hello {first_name},\n\n"
        f"{partner} now has a partner account on the Partner Management API, and you are its contact.\n"
        f"Your partner id is {welcome['partnerId']}.\n\n"
        "Ask your administrator for API credentials to get started.\n"
    )
    with translated_errors():
        response = aws.client("ses").send_email(
            Source=settings().welcome_email_sender,
            Destination={"ToAddresses": [welcome["to"]]},
            Message={
                "Subject": {"Data": f"Welcome to the Partner Management API, {partner}", "Charset": "UTF-8"},
                "Body": {"Text": {"Data": text, "Charset": "UTF-8"}},
            },
        )
    return str(response["MessageId"])
