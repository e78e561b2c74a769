"""GET /admin/v1/partners: a page of root partners (filters ``q``, ``status``)."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import partners
from partner_api.models.partners import PartnerListQuery, public_partner
from partner_api.models.responses import PartnerList

api = Api()


@api.route("GET", "/admin/v1/partners", auth="operator", query=PartnerListQuery, response=PartnerList)
def list_partners(call: Call) -> Response:
    page = partners.list_roots(call.query())
    data = {"partners": [public_partner(r) for r in page.items], "pagination": page.pagination()}
    return call.ok("Partners retrieved successfully.", data)


handler = api.handler
