"""DELETE /partner/v1/directories/{directoryId}: delete a directory; the clients it made stay."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import directories
from partner_api.models.responses import Directory
from partner_api.store.directories import public

api = Api()


@api.route("DELETE", "/partner/v1/directories/{directoryId}", scope="clients:write", response=Directory)
def delete_directory(call: Call) -> Response[str]:
    record = directories.delete(call.principal, call.actor, call.path_id("directoryId"))
    return call.ok("Directory deleted successfully.", public(record, call.scim_base_url))


handler = api.handler
