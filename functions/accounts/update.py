"""PATCH /partner/v1/accounts/{accountId}: change some fields of an account."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import accounts
from partner_api.models.accounts import AccountPatch, public_account

api = Api()


@api.route("PATCH", "/partner/v1/accounts/{accountId}", scope="accounts:write")
def update_account(call: Call) -> Response[str]:
    account_id = call.path_id("accountId")
    record, used = accounts.update(
        call.principal, call.actor, account_id, call.body(AccountPatch), call.if_match
    )
    return call.ok(
        "Account updated successfully.",
        public_account(record, used),
        version=(record["accountId"], record["version"]),
    )


handler = api.handler
