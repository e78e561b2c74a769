"""GET /admin/v1/partners/{partnerId}: one root partner."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import partners
from partner_api.models.partners import public_partner
from partner_api.models.responses import Partner

api = Api()


@api.route("GET", "/admin/v1/partners/{partnerId}", auth="operator", response=Partner)
def get_partner(call: Call) -> Response:
    record = partners.get_root(call.path_id("partnerId"))
    return call.ok(
        "Partner retrieved successfully.",
        public_partner(record),
        version=(record["partnerId"], record["version"]),
    )


handler = api.handler
