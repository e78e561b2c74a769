"""GET /partner/v1/partners/{partnerId}: the caller itself or a descendant."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import subpartners
from partner_api.models.partners import public_partner
from partner_api.models.responses import Partner

api = Api()


@api.route("GET", "/partner/v1/partners/{partnerId}", scope="partners:read", response=Partner)
def get_partner(call: Call) -> Response[str]:
    record, parent = subpartners.get(call.principal, call.path_id("partnerId"))
    return call.ok(
        "Partner retrieved successfully.",
        public_partner(record, parent),
        version=(record["partnerId"], record["version"]),
    )


handler = api.handler
