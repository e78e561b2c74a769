"""GET /partner/v1/events/{eventId}: one audit event."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import audit
from partner_api.models.responses import Event
from partner_api.store.events import public_event

api = Api()


@api.route("GET", "/partner/v1/events/{eventId}", scope="events:read", response=Event)
def get_event(call: Call) -> Response[str]:
    event = audit.get_event(call.principal, call.path_id("eventId"))
    return call.ok("Event retrieved successfully.", public_event(event))


handler = api.handler
