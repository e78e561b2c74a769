"""DELETE /partner/v1/accounts/{accountId}/clients/{clientId}: the client leaves the account
(its seat is freed) and stays a client."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import accounts
from partner_api.models.clients import public_client
from partner_api.models.responses import Client

api = Api()


@api.route(
    "DELETE",
    "/partner/v1/accounts/{accountId}/clients/{clientId}",
    scope="accounts:write",
    if_match=True,
    response=Client,
)
def remove_account_client(call: Call) -> Response[str]:
    account_id, client_id = call.path_id("accountId"), call.path_id("clientId")
    record = accounts.remove_client(call.principal, call.actor, account_id, client_id, call.if_match)
    return call.ok(
        "Client removed from the account successfully.",
        public_client(record),
        version=(record["clientId"], record["version"]),
    )


handler = api.handler
