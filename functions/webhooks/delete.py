"""DELETE /partner/v1/webhooks/{webhookId}: stop delivering to a webhook."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import webhooks
from partner_api.models.responses import WebhookDeleted

api = Api()


@api.route(
    "DELETE",
    "/partner/v1/webhooks/{webhookId}",
    scope="webhooks:write",
    if_match=True,
    response=WebhookDeleted,
)
def delete_webhook(call: Call) -> Response[str]:
    record = webhooks.delete(call.principal, call.actor, call.path_id("webhookId"), call.if_match)
    return call.ok(
        "Webhook deleted successfully.", {"webhookId": record["webhookId"], "deletedAt": record["updatedAt"]}
    )


handler = api.handler
