"""PATCH /partner/v1/partners/{partnerId}: change the caller or a descendant (never a parent)."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import subpartners
from partner_api.models.partners import PartnerPatch, public_partner
from partner_api.models.responses import Partner

api = Api()


@api.route(
    "PATCH",
    "/partner/v1/partners/{partnerId}",
    scope="partners:write",
    body=PartnerPatch,
    if_match=True,
    response=Partner,
    errors=(409,),
)
def update_partner(call: Call) -> Response[str]:
    partner_id = call.path_id("partnerId")
    record, parent = subpartners.update(call.principal, call.actor, partner_id, call.body(), call.if_match)
    return call.ok(
        "Partner updated successfully.",
        public_partner(record, parent),
        version=(record["partnerId"], record["version"]),
    )


handler = api.handler
