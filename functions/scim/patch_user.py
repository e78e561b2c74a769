"""PATCH /scim/v2/Users/{userId}: a PatchOp, in the RFC's form or the forms Okta and Entra send."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http.api import Call
from partner_api.http.scim import ScimApi
from partner_api.logic import scim_users
from partner_api.models.scim import ScimPatchBody, ScimUser
from partner_api.scim.users import to_scim

api = ScimApi()


@api.route(
    "PATCH",
    "/scim/v2/Users/{userId}",
    body=ScimPatchBody,
    response=ScimUser,
    if_match=True,
    errors=(403, 409),
)
def patch_scim_user(call: Call) -> Response[str]:
    operations = call.json_object().get("Operations")
    record = scim_users.modify(
        call.directory,
        call.actor,
        call.path_params.get("userId", ""),
        operations,
        call.scim_base_url,
        call.if_match,
    )
    user = to_scim(record, call.scim_base_url)
    return call.scim(200, user, {"ETag": user["meta"]["version"]})


handler = api.handler
