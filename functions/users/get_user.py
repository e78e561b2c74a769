"""GET /partner/v1/get-user?userId=: the legacy name for reading a client."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import clients
from partner_api.models.clients import LegacyGetUserQuery, public_client
from partner_api.models.responses import User

api = Api()


@api.route(
    "GET",
    "/partner/v1/get-user",
    scope="clients:read",
    query=LegacyGetUserQuery,
    response=User,
    errors=(404,),
)
def get_user(call: Call) -> Response:
    record = clients.get(call.principal, call.query().userId)
    return call.ok(
        "User retrieved successfully.",
        public_client(record, "userId"),
        version=(record["clientId"], record["version"]),
    )


handler = api.handler
