"""GET /scim/v2/ServiceProviderConfig: what this SCIM service supports."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http.api import Call
from partner_api.http.scim import ScimApi
from partner_api.logic.scim_users import confirm_token
from partner_api.models.scim import ScimDocument
from partner_api.scim import discovery

api = ScimApi()


@api.route("GET", "/scim/v2/ServiceProviderConfig", response=ScimDocument)
def get_scim_service_provider_config(call: Call) -> Response[str]:
    confirm_token(call.directory)  # a rotated or deleted token stops at once, here too
    return call.scim(200, discovery.service_provider_config(call.scim_base_url))


handler = api.handler
