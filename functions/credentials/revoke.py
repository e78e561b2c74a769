"""DELETE /partner/v1/credentials/{clientId}: revoke a credential; its tokens stop within 60 s."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import credentials
from partner_api.models.responses import Credential
from partner_api.store.credentials import public

api = Api()


@api.route("DELETE", "/partner/v1/credentials/{clientId}", scope="partners:write", response=Credential)
def revoke_credential(call: Call) -> Response[str]:
    record = credentials.revoke(call.principal, call.actor, call.path_id("clientId"))
    return call.ok("Credential revoked successfully.", public(record))


handler = api.handler
