"""POST /oauth/validate_token: is this token live, and was it issued to or for this client?"""

from aws_lambda_powertools.event_handler import Response

from partner_api.errors import OAuthError
from partner_api.http import Api, Call
from partner_api.http.oauth import NO_STORE, require_form
from partner_api.logic import oauth
from partner_api.models.oauth import TokenValidation
from partner_api.models.responses import TokenValidity

api = Api()


@api.route("POST", "/oauth/validate_token", auth="none", form=TokenValidation, response=TokenValidity)
def validate_token(call: Call) -> Response[str]:
    form = require_form(call)
    for name in ("client_id", "token", "type"):
        if not form.get(name):
            raise OAuthError("invalid_request", f"{name} is missing.")
    if form["type"] not in ("access_token", oauth.ACCESS_TOKEN_TYPE):
        raise OAuthError("invalid_request", "type must be access_token.")
    return call.json_response(200, oauth.validate(form["client_id"], form["token"], call.base_url), NO_STORE)


handler = api.handler
