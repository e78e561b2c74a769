"""GET /partner/v1/webhooks/{webhookId}: one webhook (never its secret)."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import webhooks
from partner_api.models.responses import Webhook
from partner_api.models.webhooks import public_webhook

api = Api()


@api.route("GET", "/partner/v1/webhooks/{webhookId}", scope="webhooks:read", response=Webhook)
def get_webhook(call: Call) -> Response[str]:
    record = webhooks.get(call.principal, call.path_id("webhookId"))
    return call.ok(
        "Webhook retrieved successfully.",
        public_webhook(record),
        version=(record["webhookId"], record["version"]),
    )


handler = api.handler
