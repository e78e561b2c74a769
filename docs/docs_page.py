"""GET /docs: the API's interactive documentation (Swagger UI), which needs no internet access."""

import json
from functools import cache
from pathlib import Path

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call

SWAGGER_UI = Path(__file__).with_name("node_modules") / "swagger-ui-dist"
# Every URL is relative, so the page works at /docs locally and at /<stage>/docs behind API Gateway:
# from either, "docs/x" is GET /docs/{asset} and "openapi.json" is GET /openapi.json. The assets'
# URLs carry Swagger UI's version, so browsers may cache them for a year. The empty icon saves the
# browser a request for /favicon.ico, which is no route.
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Partner Management API</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="docs/swagger-ui.css?v={version}">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js?v={version}"></script>
<script>
window.ui = SwaggerUIBundle({{
  url: "openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout"
}});
</script>
</body>
</html>
"""

api = Api()


@cache
def page() -> str:
    version = json.loads((SWAGGER_UI / "package.json").read_text(encoding="utf-8"))["version"]
    return PAGE.format(version=version)


@api.route("GET", "/docs", auth="none", response=str, media_type="text/html")
def docs_page(call: Call) -> Response[str]:
    return Response(
        status_code=200,
        content_type="text/html; charset=utf-8",
        body=page(),
        headers={"Cache-Control": "no-cache", "x-request-id": call.request_id},
    )


handler = api.handler
