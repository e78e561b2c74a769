"""GET /partner/v1/directories: the subtree's directories, never their tokens."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import directories
from partner_api.models.directories import DirectoryListQuery
from partner_api.models.responses import DirectoryList
from partner_api.store.directories import public

api = Api()


@api.route(
    "GET", "/partner/v1/directories", scope="clients:read", query=DirectoryListQuery, response=DirectoryList
)
def list_directories(call: Call) -> Response[str]:
    page = directories.list_page(call.principal, call.query())
    data = {
        "directories": [public(d, call.scim_base_url) for d in page.items],
        "pagination": page.pagination(),
    }
    return call.ok("Directories retrieved successfully.", data)


handler = api.handler
