"""GET /partner/v1/accounts/{accountId}: one account with its seats in use."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import accounts
from partner_api.models.accounts import public_account
from partner_api.models.responses import Account

api = Api()


@api.route("GET", "/partner/v1/accounts/{accountId}", scope="accounts:read", response=Account)
def get_account(call: Call) -> Response[str]:
    record, used = accounts.get(call.principal, call.path_id("accountId"))
    return call.ok(
        "Account retrieved successfully.",
        public_account(record, used),
        version=(record["accountId"], record["version"]),
    )


handler = api.handler
