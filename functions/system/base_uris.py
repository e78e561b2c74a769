"""GET /baseUris: where to call the API and the web app (any valid token)."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import oauth
from partner_api.models.responses import BaseUris

api = Api()


@api.route("GET", "/baseUris", response=BaseUris)
def base_uris(call: Call) -> Response:
    return call.json_response(200, oauth.base_uris(call.base_url))


handler = api.handler
