"""PATCH /admin/v1/partners/{partnerId}: change a root partner, including activating it."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import partners
from partner_api.models.partners import PartnerPatch, public_partner
from partner_api.models.responses import Partner

api = Api()


@api.route(
    "PATCH",
    "/admin/v1/partners/{partnerId}",
    auth="operator",
    body=PartnerPatch,
    if_match=True,
    response=Partner,
    errors=(409,),
)
def update_partner(call: Call) -> Response:
    partner_id = call.path_id("partnerId")
    record = partners.update_root(call.actor, partner_id, call.body(), call.if_match)
    return call.ok(
        "Partner updated successfully.",
        public_partner(record),
        version=(record["partnerId"], record["version"]),
    )


handler = api.handler
