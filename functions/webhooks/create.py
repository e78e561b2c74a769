"""POST /partner/v1/webhooks: register a webhook; its signing secret is shown only here."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import webhooks
from partner_api.models.responses import WebhookCreated
from partner_api.models.webhooks import WebhookCreate, public_webhook

api = Api()


@api.route(
    "POST",
    "/partner/v1/webhooks",
    scope="webhooks:write",
    body=WebhookCreate,
    response=WebhookCreated,
    status=201,
    errors=(404,),
)
def create_webhook(call: Call) -> Response[str]:
    record, secret = webhooks.create(call.principal, call.actor, call.body())
    return call.ok(
        "Webhook created successfully.",
        public_webhook(record, secret),
        status=201,
        version=(record["webhookId"], record["version"]),
    )


handler = api.handler
