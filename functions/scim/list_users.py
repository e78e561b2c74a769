"""GET /scim/v2/Users: the directory's Users, filtered and paged (ListResponse)."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http.api import Call
from partner_api.http.scim import ScimApi
from partner_api.logic import scim_users
from partner_api.models.scim import ScimListQuery, ScimListResponse
from partner_api.scim.discovery import list_response
from partner_api.scim.users import project, to_scim

api = ScimApi()


@api.route("GET", "/scim/v2/Users", query=ScimListQuery, response=ScimListResponse)
def list_scim_users(call: Call) -> Response[str]:
    query = call.query()
    page = scim_users.list_users(call.directory, query.filter, query.startIndex, query.count)
    shown = [project(to_scim(r, call.scim_base_url), *query.names()) for r in page.users]
    body = list_response(shown, total=page.total, start_index=page.start_index)
    return call.scim(200, body)


handler = api.handler
