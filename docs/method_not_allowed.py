"""ANY method a route's path does not declare: 405 METHOD_NOT_ALLOWED, its ``Allow`` header listing
the path's methods as the published contract (``openapi.json``, shipped beside this file) has them.
"""

import json
from functools import cache
from pathlib import Path

from partner_api.http import Api

DOCUMENT = Path(__file__).with_name("openapi.json")
OPERATIONS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")  # OpenAPI 3.1


@cache
def methods_by_path() -> dict[str, list[str]]:
    """Each path of the document (template syntax, ``{param}``) and its operations' methods, sorted;
    read once per container, at its first request."""
    paths = json.loads(DOCUMENT.read_text(encoding="utf-8"))["paths"]
    return {path: sorted(m.upper() for m in item if m in OPERATIONS) for path, item in paths.items()}


api = Api()
api.method_not_allowed(lambda resource: methods_by_path().get(resource, []))
handler = api.handler
