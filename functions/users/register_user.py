"""POST /partner/v1/register-user: the legacy name for registering a client."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import clients
from partner_api.models.clients import ClientCreate, public_client
from partner_api.models.responses import User

api = Api()


@api.route(
    "POST",
    "/partner/v1/register-user",
    scope="clients:write",
    body=ClientCreate,
    response=User,
    status=201,
    errors=(404, 409),
)
def register_user(call: Call) -> Response:
    record = clients.register(call.principal, call.actor, call.body())
    return call.ok(
        "User registered successfully.",
        public_client(record, "userId"),
        status=201,
        version=(record["clientId"], record["version"]),
    )


handler = api.handler
