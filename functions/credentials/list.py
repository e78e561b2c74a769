"""GET /partner/v1/credentials: the subtree's credentials, never their secrets."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import credentials
from partner_api.models.partners import CredentialListQuery
from partner_api.models.responses import CredentialList
from partner_api.store.credentials import public

api = Api()


@api.route(
    "GET",
    "/partner/v1/credentials",
    scope="partners:read",
    query=CredentialListQuery,
    response=CredentialList,
    errors=(404,),
)
def list_credentials(call: Call) -> Response[str]:
    page = credentials.list_page(call.principal, call.query())
    data = {"credentials": [public(c) for c in page.items], "pagination": page.pagination()}
    return call.ok("Credentials retrieved successfully.", data)


handler = api.handler
