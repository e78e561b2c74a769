"""PUT /scim/v2/Users/{userId}: replace a User; If-Match honoured."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http.api import Call
from partner_api.http.scim import ScimApi
from partner_api.logic import scim_users
from partner_api.models.scim import ScimUser, ScimUserBody
from partner_api.scim.users import to_scim

api = ScimApi()


@api.route(
    "PUT", "/scim/v2/Users/{userId}", body=ScimUserBody, response=ScimUser, if_match=True, errors=(403, 409)
)
def replace_scim_user(call: Call) -> Response[str]:
    record = scim_users.replace(
        call.directory, call.actor, call.path_params.get("userId", ""), call.json_object(), call.if_match
    )
    user = to_scim(record, call.scim_base_url)
    return call.scim(200, user, {"ETag": user["meta"]["version"]})


handler = api.handler
