"""GET /scim/v2/ResourceTypes/{resourceTypeId}: one resource type."""

from aws_lambda_powertools.event_handler import Response

from partner_api.errors import NotFound
from partner_api.http.api import Call
from partner_api.http.scim import ScimApi
from partner_api.logic.scim_users import confirm_token
from partner_api.models.scim import ScimDocument
from partner_api.scim import discovery

api = ScimApi()


@api.route("GET", "/scim/v2/ResourceTypes/{resourceTypeId}", response=ScimDocument)
def get_scim_resource_type(call: Call) -> Response[str]:
    confirm_token(call.directory)  # a rotated or deleted token stops at once, here too
    found = discovery.resource_type(call.path_params.get("resourceTypeId", ""), call.scim_base_url)
    if found is None:
        raise NotFound("No such resource type.")
    return call.scim(200, found)


handler = api.handler
