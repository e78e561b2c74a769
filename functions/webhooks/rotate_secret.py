"""POST /partner/v1/webhooks/{webhookId}/rotate-secret: a new secret; the old one verifies for 24 h."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import webhooks
from partner_api.models.responses import WebhookSecretRotated
from partner_api.models.webhooks import public_webhook

api = Api()


@api.route(
    "POST",
    "/partner/v1/webhooks/{webhookId}/rotate-secret",
    scope="webhooks:write",
    if_match=True,
    response=WebhookSecretRotated,
)
def rotate_webhook_secret(call: Call) -> Response[str]:
    record, secret = webhooks.rotate_secret(call.principal, call.path_id("webhookId"), call.if_match)
    data = {**public_webhook(record, secret), "previousSecretExpiresAt": record["previousSecretExpiresAt"]}
    return call.ok(
        "Webhook secret rotated successfully.", data, version=(record["webhookId"], record["version"])
    )


handler = api.handler
