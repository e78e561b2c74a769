"""POST /partner/v1/accounts: a customer account with consumable caps."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import accounts
from partner_api.models.accounts import AccountCreate, public_account
from partner_api.models.responses import Account

api = Api()


@api.route(
    "POST",
    "/partner/v1/accounts",
    scope="accounts:write",
    body=AccountCreate,
    response=Account,
    status=201,
    errors=(404, 409),
)
def create_account(call: Call) -> Response[str]:
    record, used = accounts.create(call.principal, call.actor, call.body())
    return call.ok(
        "Account created successfully.",
        public_account(record, used),
        status=201,
        version=(record["accountId"], record["version"]),
    )


handler = api.handler
