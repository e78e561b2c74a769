"""POST /partner/v1/partners: a sub-partner under the caller or one of its descendants."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import subpartners
from partner_api.models.partners import SubPartnerCreate, public_partner
from partner_api.models.responses import Partner

api = Api()


@api.route(
    "POST",
    "/partner/v1/partners",
    scope="partners:write",
    body=SubPartnerCreate,
    response=Partner,
    status=201,
    errors=(404, 409),
)
def create_partner(call: Call) -> Response[str]:
    record, parent = subpartners.create(call.principal, call.actor, call.body())
    return call.ok(
        "Partner created successfully.",
        public_partner(record, parent),
        status=201,
        version=(record["partnerId"], record["version"]),
    )


handler = api.handler
