"""GET /partner/v1/reports/clients: each partner of the caller's subtree with its clients by status."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import subpartners
from partner_api.models.responses import ClientReport

api = Api()


@api.route("GET", "/partner/v1/reports/clients", scope="partners:read", response=ClientReport)
def client_report(call: Call) -> Response[str]:
    rows = subpartners.client_report(call.principal)
    return call.ok("Client report retrieved successfully.", {"partners": rows})


handler = api.handler
