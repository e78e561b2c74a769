"""POST /partner/v1/accounts/{accountId}/clients: create-or-update a client by email, in the account."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import accounts
from partner_api.models.clients import AccountClient, public_client
from partner_api.models.responses import Client

api = Api()


@api.route(
    "POST",
    "/partner/v1/accounts/{accountId}/clients",
    scope="accounts:write",
    body=AccountClient,
    response=Client,
    status=(201, 200),
    errors=(409,),
)
def add_account_client(call: Call) -> Response[str]:
    account_id = call.path_id("accountId")
    record, created = accounts.add_client(call.principal, call.actor, account_id, call.body())
    return call.ok(
        "Client registered successfully." if created else "Client updated successfully.",
        public_client(record),
        status=201 if created else 200,
        version=(record["clientId"], record["version"]),
    )


handler = api.handler
