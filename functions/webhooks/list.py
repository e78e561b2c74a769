"""GET /partner/v1/webhooks: the webhooks of the caller's subtree."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import webhooks
from partner_api.models.responses import WebhookList
from partner_api.models.webhooks import WebhookListQuery, public_webhook

api = Api()


@api.route("GET", "/partner/v1/webhooks", scope="webhooks:read", query=WebhookListQuery, response=WebhookList)
def list_webhooks(call: Call) -> Response[str]:
    page = webhooks.list_page(call.principal, call.query())
    data = {"webhooks": [public_webhook(r) for r in page.items], "pagination": page.pagination()}
    return call.ok("Webhooks retrieved successfully.", data)


handler = api.handler
