"""GET /partner/v1/me: the client a user token stands for."""

from aws_lambda_powertools.event_handler import Response

from partner_api.errors import Forbidden
from partner_api.http import Api, Call
from partner_api.logic import clients
from partner_api.models.clients import public_client
from partner_api.models.responses import Client

api = Api()


@api.route("GET", "/partner/v1/me", response=Client)
def me(call: Call) -> Response[str]:
    if call.principal.token_use != "user":
        raise Forbidden("Only a user token stands for a client.")
    record = clients.get(call.principal, call.principal.subject)
    return call.ok(
        "Client retrieved successfully.",
        public_client(record),
        version=(record["clientId"], record["version"]),
    )


handler = api.handler
