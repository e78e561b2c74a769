"""DELETE /partner/v1/clients/{clientId}: soft-delete a client (emits client.removed once)."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import clients
from partner_api.models.responses import ClientRemoved

api = Api()


@api.route(
    "DELETE", "/partner/v1/clients/{clientId}", scope="clients:write", if_match=True, response=ClientRemoved
)
def remove_client(call: Call) -> Response:
    record = clients.remove(call.principal, call.actor, call.path_id("clientId"), call.if_match)
    return call.ok(
        "Client removed successfully.", {"clientId": record["clientId"], "removedAt": record["removedAt"]}
    )


handler = api.handler
