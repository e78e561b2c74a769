"""GET /partner/v1/accounts: a page of the subtree's accounts (filter ``q`` on name/company)."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import accounts
from partner_api.models.accounts import AccountListQuery, public_account
from partner_api.models.responses import AccountList

api = Api()


@api.route(
    "GET",
    "/partner/v1/accounts",
    scope="accounts:read",
    query=AccountListQuery,
    response=AccountList,
    errors=(404,),
)
def list_accounts(call: Call) -> Response[str]:
    page, used = accounts.list_page(call.principal, call.query())
    shown = [public_account(a, used.get(a["accountId"], 0)) for a in page.items]
    return call.ok("Accounts retrieved successfully.", {"accounts": shown, "pagination": page.pagination()})


handler = api.handler
