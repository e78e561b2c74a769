"""GET /partner/v1/accounts: a page of the subtree's accounts (filter ``q`` on name/company)."""

from aws_lambda_powertools.event_handler import Response

from partner_api.http import Api, Call
from partner_api.logic import accounts
from partner_api.models.accounts import AccountListQuery, public_account

api = Api()


@api.route("GET", "/partner/v1/accounts", scope="accounts:read")
def list_accounts(call: Call) -> Response[str]:
    page, used = accounts.list_page(call.principal, call.query(AccountListQuery))
    shown = [public_account(a, used.get(a["accountId"], 0)) for a in page.items]
    return call.ok("Accounts retrieved successfully.", {"accounts": shown, "pagination": page.pagination()})


handler = api.handler
