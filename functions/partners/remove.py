"""DELETE /partner/v1/partners/{partnerId}: soft-delete an empty descendant (emits partner.removed)."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import subpartners
from partner_api.models.responses import PartnerRemoved

api = Api()


@api.route(
    "DELETE",
    "/partner/v1/partners/{partnerId}",
    scope="partners:write",
    if_match=True,
    response=PartnerRemoved,
    errors=(409,),
)
def remove_partner(call: Call) -> Response[str]:
    record = subpartners.remove(call.principal, call.actor, call.path_id("partnerId"), call.if_match)
    return call.ok(
        "Partner removed successfully.", {"partnerId": record["partnerId"], "removedAt": record["removedAt"]}
    )


handler = api.handler
