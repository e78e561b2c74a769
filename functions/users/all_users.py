"""GET /partner/v1/all-users: the legacy name for listing clients."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import clients
from partner_api.models.clients import ClientListQuery, public_client
from partner_api.models.responses import UserList

api = Api()


@api.route(
    "GET",
    "/partner/v1/all-users",
    scope="clients:read",
    query=ClientListQuery,
    response=UserList,
    errors=(404,),
)
def all_users(call: Call) -> Response:
    page = clients.list_page(call.principal, call.query())
    data = {"users": [public_client(r, "userId") for r in page.items], "pagination": page.pagination()}
    return call.ok("Users retrieved successfully.", data)


handler = api.handler
