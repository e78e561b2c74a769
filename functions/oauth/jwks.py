"""GET /.well-known/jwks.json: the public keys that verify our access tokens."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import oauth
from partner_api.models.responses import Jwks

api = Api()


@api.route("GET", "/.well-known/jwks.json", auth="none", response=Jwks)
def jwks(call: Call) -> Response:
    return call.json_response(200, oauth.jwks(), {"Cache-Control": "public, max-age=300"})


handler = api.handler
