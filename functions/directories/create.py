"""POST /partner/v1/directories: create a SCIM directory; its token is shown once."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import directories
from partner_api.models.directories import DirectoryCreate
from partner_api.models.responses import DirectoryCreated
from partner_api.store.directories import public

api = Api()


@api.route(
    "POST",
    "/partner/v1/directories",
    scope="clients:write",
    body=DirectoryCreate,
    response=DirectoryCreated,
    status=201,
    errors=(404,),
)
def create_directory(call: Call) -> Response[str]:
    record, token = directories.create(call.principal, call.actor, call.body())
    data = {**public(record, call.scim_base_url), "token": token}
    return call.ok("Directory created successfully.", data, status=201, version=(record["directoryId"], 1))


handler = api.handler
