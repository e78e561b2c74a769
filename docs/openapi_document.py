"""GET /openapi.json: the API's OpenAPI 3.1 document, served at the URL this request came to."""

import json
from functools import cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call

DOCUMENT = Path(__file__).with_name("openapi.json")

api = Api()


@cache
def document() -> dict[str, Any]:
    """The document shipped beside this file, read once per container."""
    return dict(json.loads(DOCUMENT.read_text(encoding="utf-8")))


@api.route("GET", "/openapi.json", auth="none", response=dict)
def openapi_document(call: Call) -> Response[str]:
    # The same document answers at a custom domain, an API Gateway stage URL and a local run.
    return call.json_response(200, {**document(), "servers": [{"url": call.base_url}]})


handler = api.handler
