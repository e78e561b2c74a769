"""DELETE /scim/v2/Users/{userId}: remove the client, as DELETE /partner/v1/clients/{id} does."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http.api import Call
from partner_api.http.scim import ScimApi
from partner_api.logic import scim_users

api = ScimApi()


@api.route("DELETE", "/scim/v2/Users/{userId}", status=204, if_match=True)
def delete_scim_user(call: Call) -> Response[str]:
    scim_users.remove(call.directory, call.actor, call.path_params.get("userId", ""), call.if_match)
    return call.scim(204, None)


handler = api.handler
