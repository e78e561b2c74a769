"""GET /partner/v1/accounts/{accountId}/clients: the account's clients (the clients list's filters)."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import accounts, clients
from partner_api.models.clients import ClientListQuery, public_client
from partner_api.models.responses import ClientList

api = Api()


@api.route(
    "GET",
    "/partner/v1/accounts/{accountId}/clients",
    scope="accounts:read",
    query=ClientListQuery,
    response=ClientList,
)
def list_account_clients(call: Call) -> Response[str]:
    account_id = call.path_id("accountId")
    accounts.get(call.principal, account_id)
    query = call.query().model_copy(update={"accountId": account_id})
    page = clients.list_page(call.principal, query)
    data = {"clients": [public_client(c) for c in page.items], "pagination": page.pagination()}
    return call.ok("Clients retrieved successfully.", data)


handler = api.handler
