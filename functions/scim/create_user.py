"""POST /scim/v2/Users: a directory creates a client from a SCIM User."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http.api import Call
from partner_api.http.scim import ScimApi
from partner_api.logic import scim_users
from partner_api.models.scim import ScimUser, ScimUserBody
from partner_api.scim.users import to_scim

api = ScimApi()


@api.route("POST", "/scim/v2/Users", body=ScimUserBody, response=ScimUser, status=201, errors=(403, 409))
def create_scim_user(call: Call) -> Response[str]:
    record = scim_users.create(call.directory, call.actor, call.json_object())
    user = to_scim(record, call.scim_base_url)
    headers = {"Location": user["meta"]["location"], "ETag": user["meta"]["version"]}
    return call.scim(201, user, headers)


handler = api.handler
