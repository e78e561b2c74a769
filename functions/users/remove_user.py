"""DELETE /partner/v1/remove-user: the legacy name for removing a client (``userId`` in the body)."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import clients
from partner_api.models.clients import LegacyUserRef
from partner_api.models.responses import UserRemoved

api = Api()


@api.route(
    "DELETE",
    "/partner/v1/remove-user",
    scope="clients:write",
    body=LegacyUserRef,
    if_match=True,
    response=UserRemoved,
    errors=(404,),
)
def remove_user(call: Call) -> Response:
    user_id = call.body().userId
    record = clients.remove(call.principal, call.actor, user_id, call.if_match)
    return call.ok(
        "User removed successfully.", {"userId": record["clientId"], "removedAt": record["removedAt"]}
    )


handler = api.handler
