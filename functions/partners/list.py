"""GET /partner/v1/partners: a page of one partner's children (default: the caller's)."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import subpartners
from partner_api.models.partners import PartnerListQuery, public_partner
from partner_api.models.responses import PartnerList

api = Api()


@api.route(
    "GET",
    "/partner/v1/partners",
    scope="partners:read",
    query=PartnerListQuery,
    response=PartnerList,
    errors=(404,),
)
def list_partners(call: Call) -> Response[str]:
    page, parent = subpartners.list_children(call.principal, call.query())
    data = {"partners": [public_partner(p, parent) for p in page.items], "pagination": page.pagination()}
    return call.ok("Partners retrieved successfully.", data)


handler = api.handler
