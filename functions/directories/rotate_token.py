"""POST /partner/v1/directories/{directoryId}/rotate-token: a new token; the old one stops working at once."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import directories
from partner_api.models.responses import DirectoryCreated
from partner_api.store.directories import public

api = Api()


@api.route(
    "POST",
    "/partner/v1/directories/{directoryId}/rotate-token",
    scope="clients:write",
    response=DirectoryCreated,
)
def rotate_directory_token(call: Call) -> Response[str]:
    record, token = directories.rotate_token(call.principal, call.actor, call.path_id("directoryId"))
    data = {**public(record, call.scim_base_url), "token": token}
    return call.ok(
        "Directory token rotated successfully.", data, version=(record["directoryId"], record["version"])
    )


handler = api.handler
