"""GET /partner/v1/directories/{directoryId}: one directory, without its token."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import directories
from partner_api.models.responses import Directory
from partner_api.store.directories import public

api = Api()


@api.route("GET", "/partner/v1/directories/{directoryId}", scope="clients:read", response=Directory)
def get_directory(call: Call) -> Response[str]:
    record = directories.get(call.principal, call.path_id("directoryId"))
    return call.ok(
        "Directory retrieved successfully.",
        public(record, call.scim_base_url),
        version=(record["directoryId"], record["version"]),
    )


handler = api.handler
