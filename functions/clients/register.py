"""POST /partner/v1/clients: register a client."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import clients
from partner_api.models.clients import ClientCreate, public_client
from partner_api.models.responses import Client

api = Api()


@api.route(
    "POST",
    "/partner/v1/clients",
    scope="clients:write",
    body=ClientCreate,
    response=Client,
    status=201,
    errors=(404, 409),
)
def register_client(call: Call) -> Response:
    record = clients.register(call.principal, call.actor, call.body())
    return call.ok(
        "Client registered successfully.",
        public_client(record),
        status=201,
        version=(record["clientId"], record["version"]),
    )


handler = api.handler
