"""GET /docs/{asset}: Swagger UI's script and stylesheet for GET /docs, from the swagger-ui-dist package."""

from functools import cache
from pathlib import Path

from aws_lambda_powertools.event_handler import Response

from partner_api.errors import NotFound
from partner_api.http import Api, Call

SWAGGER_UI = Path(__file__).with_name("node_modules") / "swagger-ui-dist"
# Only these names are served: the asset is never a path, so nothing else of the package or the
# function can be read through it.
ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
}
# The page asks for them with Swagger UI's version in the query string: a new version is a new URL.
CACHE_CONTROL = "public, max-age=31536000, immutable"

api = Api()


@cache
def asset(name: str) -> str:
    """An asset's text, read once per container."""
    return (SWAGGER_UI / name).read_text(encoding="utf-8")


@api.route(
    "GET",
    "/docs/{asset}",
    auth="none",
    response=str,
    media_type=("text/javascript", "text/css"),
    errors=(404,),
)
def docs_asset(call: Call) -> Response[str]:
    name = call.path_params.get("asset", "")
    if name not in ASSETS:
        raise NotFound("No such documentation asset.")
    return Response(
        status_code=200,
        content_type=ASSETS[name],
        body=asset(name),
        headers={"Cache-Control": CACHE_CONTROL, "x-request-id": call.request_id},
    )


handler = api.handler
