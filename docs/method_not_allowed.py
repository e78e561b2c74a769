"""ANY method a route's path does not declare: 405 METHOD_NOT_ALLOWED, its ``Allow`` header listing
the path's methods as the published contract (``openapi.json``, shipped beside this file) has them.
"""

from pathlib import Path

from partner_api.http import Api
from partner_api.http.allowed import methods_by_path

DOCUMENT = Path(__file__).with_name("openapi.json")

api = Api()
api.method_not_allowed(lambda resource: methods_by_path(DOCUMENT).get(resource, []))
handler = api.handler
