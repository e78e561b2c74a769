"""GET /health: liveness, no auth and no AWS calls."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.models.responses import Health

api = Api()


@api.route("GET", "/health", auth="none", response=Health)
def health(call: Call) -> Response:
    return call.json_response(200, {"status": "ok"})


handler = api.handler
