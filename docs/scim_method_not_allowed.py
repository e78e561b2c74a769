"""What API Gateway sends the SCIM paths' ANY methods: a method a SCIM path does not declare (405
in SCIM's error body, ``Allow`` listing the path's methods as the published contract,
``openapi.json`` shipped beside this file, has them), and any other path under ``/scim/v2``
(``{proxy+}``): 404, or 501 for the ``.search`` SCIM defines and this service does not offer.
"""

from pathlib import Path

from partner_api.errors import NotFound, NotImplementedOperation
from partner_api.http.allowed import methods_by_path
from partner_api.http.scim import ScimApi

DOCUMENT = Path(__file__).with_name("openapi.json")
UNKNOWN_PATHS = "/scim/v2/{proxy+}"

api = ScimApi()


def allowed(resource: str) -> list[str]:
    path = str(api.resolver.current_event.raw_event.get("path") or "")
    if path.rstrip("/").endswith("/.search"):  # RFC 7644 section 3.4.3: searching with POST
        raise NotImplementedOperation("POST .search is not supported: use GET with a filter.")
    if resource == UNKNOWN_PATHS:
        raise NotFound("No such SCIM endpoint.")
    return methods_by_path(DOCUMENT).get(resource, [])


api.method_not_allowed(allowed)
handler = api.handler
