"""GET /scim/v2/ResourceTypes: the resource types (User)."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http.api import Call
from partner_api.http.scim import ScimApi
from partner_api.logic.scim_users import confirm_token
from partner_api.models.scim import ScimListResponse
from partner_api.scim import discovery

api = ScimApi()


@api.route("GET", "/scim/v2/ResourceTypes", response=ScimListResponse)
def list_scim_resource_types(call: Call) -> Response[str]:
    confirm_token(call.directory)  # a rotated or deleted token stops at once, here too
    return call.scim(200, discovery.list_response(discovery.resource_types(call.scim_base_url)))


handler = api.handler
