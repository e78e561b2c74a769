"""PUT /partner/v1/accounts/{accountId}: replace the mutable fields (omitted ones reset)."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import accounts
from partner_api.models.accounts import AccountReplace, public_account
from partner_api.models.responses import Account

api = Api()


@api.route(
    "PUT",
    "/partner/v1/accounts/{accountId}",
    scope="accounts:write",
    body=AccountReplace,
    if_match=True,
    response=Account,
    errors=(409,),
)
def replace_account(call: Call) -> Response[str]:
    account_id = call.path_id("accountId")
    record, used = accounts.replace(call.principal, call.actor, account_id, call.body(), call.if_match)
    return call.ok(
        "Account updated successfully.",
        public_account(record, used),
        version=(record["accountId"], record["version"]),
    )


handler = api.handler
