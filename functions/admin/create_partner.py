"""POST /admin/v1/partners: create a root partner (a tenant) with its first credential."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import partners
from partner_api.models.partners import RootPartnerCreate, public_partner
from partner_api.models.responses import RootPartnerCreated

api = Api()


@api.route(
    "POST",
    "/admin/v1/partners",
    auth="operator",
    body=RootPartnerCreate,
    response=RootPartnerCreated,
    status=201,
    errors=(409,),
)
def create_partner(call: Call) -> Response:
    record, credential = partners.create_root(call.actor, call.body())
    return call.ok(
        "Partner created successfully.",
        {"partner": public_partner(record), "credential": credential},
        status=201,
        version=(record["partnerId"], record["version"]),
    )


handler = api.handler
