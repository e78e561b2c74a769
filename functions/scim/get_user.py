"""GET /scim/v2/Users/{userId}: one User; If-None-Match with its ETag answers 304."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http.api import Call
from partner_api.http.scim import ScimApi
from partner_api.logic import scim_users
from partner_api.models.scim import ScimQuery, ScimUser
from partner_api.scim.users import project, to_scim

api = ScimApi()


@api.route("GET", "/scim/v2/Users/{userId}", query=ScimQuery, response=ScimUser, status=(200, 304))
def get_scim_user(call: Call) -> Response[str]:
    query = call.query()
    user = to_scim(scim_users.get(call.directory, call.path_params.get("userId", "")), call.scim_base_url)
    version = user["meta"]["version"]
    if call.none_match(version):
        return call.scim(304, None, {"ETag": version})
    return call.scim(200, project(user, *query.names()), {"ETag": version})


handler = api.handler
