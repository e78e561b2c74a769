"""GET /.well-known/oauth-authorization-server: RFC 8414 metadata."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import oauth
from partner_api.models.responses import ServerMetadata

api = Api()


@api.route("GET", "/.well-known/oauth-authorization-server", auth="none", response=ServerMetadata)
def server_metadata(call: Call) -> Response:
    return call.json_response(
        200, oauth.server_metadata(call.base_url), {"Cache-Control": "public, max-age=300"}
    )


handler = api.handler
