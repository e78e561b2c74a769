"""POST /partner/v1/credentials: a credential for the caller's partner or a descendant."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import credentials
from partner_api.models.partners import CredentialCreate
from partner_api.models.responses import CredentialCreated
from partner_api.store.credentials import public

api = Api()


@api.route(
    "POST",
    "/partner/v1/credentials",
    scope="partners:write",
    body=CredentialCreate,
    response=CredentialCreated,
    status=201,
    errors=(404,),
)
def create_credential(call: Call) -> Response[str]:
    record, secret = credentials.issue(call.principal, call.actor, call.body())
    return call.ok("Credential created successfully.", {**public(record), "clientSecret": secret}, status=201)


handler = api.handler
