"""GET /partner/v1/webhooks/{webhookId}/deliveries: each event's delivery and its attempts."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import webhooks
from partner_api.models.responses import DeliveryList
from partner_api.models.webhooks import WebhookListQuery, public_delivery

api = Api()


@api.route(
    "GET",
    "/partner/v1/webhooks/{webhookId}/deliveries",
    scope="webhooks:read",
    query=WebhookListQuery,
    response=DeliveryList,
)
def list_deliveries(call: Call) -> Response[str]:
    page = webhooks.deliveries_page(call.principal, call.path_id("webhookId"), call.query())
    data = {"deliveries": [public_delivery(r) for r in page.items], "pagination": page.pagination()}
    return call.ok("Deliveries retrieved successfully.", data)


handler = api.handler
