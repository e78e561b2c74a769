"""GET /partner/v1/clients/{clientId}: one client."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import clients
from partner_api.models.clients import public_client
from partner_api.models.responses import Client

api = Api()


@api.route("GET", "/partner/v1/clients/{clientId}", scope="clients:read", response=Client)
def get_client(call: Call) -> Response:
    record = clients.get(call.principal, call.path_id("clientId"))
    return call.ok(
        "Client retrieved successfully.",
        public_client(record),
        version=(record["clientId"], record["version"]),
    )


handler = api.handler
