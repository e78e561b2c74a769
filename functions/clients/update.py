"""PATCH /partner/v1/clients/{clientId}: change, remove (status deleted) or restore a client."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import clients
from partner_api.models.clients import ClientPatch, public_client
from partner_api.models.responses import Client

api = Api()


@api.route(
    "PATCH",
    "/partner/v1/clients/{clientId}",
    scope="clients:write",
    body=ClientPatch,
    if_match=True,
    response=Client,
    errors=(404, 409),
)
def update_client(call: Call) -> Response:
    client_id = call.path_id("clientId")
    record = clients.update(call.principal, call.actor, client_id, call.body(), call.if_match)
    return call.ok(
        "Client updated successfully.", public_client(record), version=(record["clientId"], record["version"])
    )


handler = api.handler
