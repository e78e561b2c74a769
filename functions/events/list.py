"""GET /partner/v1/events: the audit trail of the caller's subtree, newest first."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import audit
from partner_api.models.responses import EventList
from partner_api.models.webhooks import EventListQuery
from partner_api.store.events import public_event

api = Api()


@api.route("GET", "/partner/v1/events", scope="events:read", query=EventListQuery, response=EventList)
def list_events(call: Call) -> Response[str]:
    page = audit.list_page(call.principal, call.query())
    data = {"events": [public_event(e) for e in page.items], "pagination": page.pagination()}
    return call.ok("Events retrieved successfully.", data)


handler = api.handler
