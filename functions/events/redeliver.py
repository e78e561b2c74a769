"""POST /partner/v1/events/{eventId}/redeliver: queue the event again for the caller's webhooks."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import audit
from partner_api.models.responses import Redelivery

api = Api()


@api.route(
    "POST", "/partner/v1/events/{eventId}/redeliver", scope="webhooks:write", response=Redelivery, status=202
)
def redeliver_event(call: Call) -> Response[str]:
    event_id = call.path_id("eventId")
    webhook_ids = audit.redeliver(call.principal, event_id)
    return call.ok(
        "Event queued for redelivery.", {"eventId": event_id, "webhookIds": webhook_ids}, status=202
    )


handler = api.handler
