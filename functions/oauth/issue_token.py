"""POST /oauth/token: client credentials -> access token; token exchange -> a user token.

With a ``DPoP`` proof header, the token is bound to the proof's key (``token_type: DPoP``)."""

from aws_lambda_powertools.event_handler import Response

from partner_api.errors import OAuthError
from partner_api.http import Api, Call
from partner_api.http.oauth import NO_STORE, client_authentication, require_form
from partner_api.logic import oauth
from partner_api.models.oauth import TokenRequest
from partner_api.models.responses import AccessToken

api = Api()


@api.route("POST", "/oauth/token", auth="none", form=TokenRequest, response=AccessToken, errors=(401,))
def issue_token(call: Call) -> Response:
    form = require_form(call)
    grant_type = form.get("grant_type", "")
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is required.")
    if grant_type not in (oauth.CLIENT_CREDENTIALS, oauth.TOKEN_EXCHANGE):
        raise OAuthError("unsupported_grant_type", f"Unsupported grant_type: {grant_type[:100]}")
    credential = oauth.authenticate_client(*client_authentication(call, form))
    request = call.auth_request  # its DPoP proof, if any, binds the token
    if grant_type == oauth.TOKEN_EXCHANGE:
        granted = oauth.token_exchange_grant(credential, form, call.base_url, request)
    else:
        granted = oauth.client_credentials_grant(credential, form.get("scope"), call.base_url, request)
    return call.json_response(200, granted, NO_STORE)


handler = api.handler
