"""GET /partner/v1/clients: a page of the caller's subtree's clients."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import clients
from partner_api.models.clients import ClientListQuery, public_client
from partner_api.models.responses import ClientList

api = Api()


@api.route(
    "GET",
    "/partner/v1/clients",
    scope="clients:read",
    query=ClientListQuery,
    response=ClientList,
    errors=(404,),
)
def list_clients(call: Call) -> Response:
    page = clients.list_page(call.principal, call.query())
    data = {"clients": [public_client(r) for r in page.items], "pagination": page.pagination()}
    return call.ok("Clients retrieved successfully.", data)


handler = api.handler
