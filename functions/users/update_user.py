"""PATCH /partner/v1/update-user: the legacy name for updating a client (``userId`` in the body)."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import clients
from partner_api.models.clients import ClientPatch, LegacyUserPatch, public_client
from partner_api.models.responses import User

api = Api()


@api.route(
    "PATCH",
    "/partner/v1/update-user",
    scope="clients:write",
    body=LegacyUserPatch,
    if_match=True,
    response=User,
    errors=(404, 409),
)
def update_user(call: Call) -> Response:
    body = call.body()
    patch = ClientPatch.model_validate(body.model_dump(exclude_unset=True, exclude={"userId"}))
    record = clients.update(call.principal, call.actor, body.userId, patch, call.if_match)
    return call.ok(
        "User updated successfully.",
        public_client(record, "userId"),
        version=(record["clientId"], record["version"]),
    )


handler = api.handler
