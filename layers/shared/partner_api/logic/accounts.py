"""Customer accounts (API.md section 6): named groups of clients with consumable caps.

Each change is one transaction: the account, its name uniqueness item, its seat item and
the audit event. Seats themselves are taken and freed by the clients' own transactions
(``logic.clients``), which is what makes the SEATS cap exact under concurrency.
"""

from __future__ import annotations

from typing import Any

from partner_api.auth.principal import Principal
from partner_api.errors import (
    AccountAlreadyExists,
    AccountNotFound,
    ClientAlreadyExists,
    ClientNotFound,
    FieldIssue,
    InvalidInput,
    PreconditionFailed,
)
from partner_api.ids import new_id, now_iso
from partner_api.logic import clients as client_logic
from partner_api.logic import tree
from partner_api.logic.pages import Page, replace_items, subtree_list_page
from partner_api.logic.versions import require_match
from partner_api.models.accounts import (
    AccountCreate,
    AccountListQuery,
    AccountPatch,
    AccountReplace,
    seat_cap,
)
from partner_api.models.clients import ClientCreate, ClientPatch
from partner_api.store import accounts, clients, keys
from partner_api.store.dynamo import TransactionConflict, transact
from partner_api.store.events import Actor, diff, event_about

AUDITED_FIELDS = ("name", "company", "countryCode", "identifier", "consumables", "status")
_DEFAULTS: dict[str, Any] = {"company": None, "identifier": None, "consumables": [], "status": "active"}


def create(caller: Principal, actor: Actor, body: AccountCreate) -> tuple[dict[str, Any], int]:
    """A new account owned by the caller or a live descendant; returns it and its seats in use."""
    fields = {**_DEFAULTS, **{k: v for k, v in body.given().items() if v is not None}}
    path = tree.owner_path(caller, fields.pop("partnerId", None))
    now = now_iso()
    record = {
        **{k: v for k, v in fields.items() if v is not None},
        "accountId": new_id(),
        "tenantId": caller.tenant_id,
        "partnerId": path[-1],
        "partnerPath": path,
        "createdAt": now,
        "updatedAt": now,
        "version": 1,
    }
    account_id = record["accountId"]
    try:
        transact(
            [
                accounts.name_claim(caller.tenant_id, record["name"], account_id),
                accounts.account_put(record, create=True),
                accounts.seats_put(caller.tenant_id, account_id, seat_cap(record)),
                event_about(
                    "account",
                    record,
                    actor=actor,
                    event_type="account.created",
                    changes=diff({}, record, AUDITED_FIELDS),
                    occurred_at=now,
                ),
            ]
        )
    except TransactionConflict as conflict:
        if conflict.failed(0):
            raise _name_taken() from conflict
        raise
    return record, 0


def get(caller: Principal, account_id: str) -> tuple[dict[str, Any], int]:
    """An account of the caller's subtree and its seats in use; anything else is not found."""
    item, used = accounts.find_with_seats(caller.tenant_id, account_id)
    if item is None or not caller.sees_partner(item["partnerPath"]):
        raise AccountNotFound()
    return accounts.record_of(item), used


def list_page(caller: Principal, query: AccountListQuery) -> tuple[Page, dict[str, int]]:
    """A page of the subtree's accounts, oldest first, and the seats each one uses."""
    clauses: list[str] = []
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    if query.q:
        clauses.append("contains(#search, :q)")
        names["#search"], values[":q"] = "search", query.q.lower()
    page = subtree_list_page(
        caller,
        "|".join(["accounts", *(f"{k}={v}" for k, v in sorted(values.items()))]),
        keys.accounts_of(caller.tenant_id),
        query,
        (clauses, names, values),
        companion=lambda entry: accounts.seats_key(
            caller.tenant_id, entry["SK"].removeprefix(keys.account(""))
        ),
    )
    used = accounts.seats_used(page.companions, caller.tenant_id)
    return replace_items(page, [accounts.record_of(i) for i in page.items]), used


def replace(
    caller: Principal, actor: Actor, account_id: str, body: AccountReplace, if_match: str | None
) -> tuple[dict[str, Any], int]:
    """PUT: every mutable field set as given, the omitted ones back to their defaults."""
    before, used = get(caller, account_id)
    given = {**_DEFAULTS, **body.given()}
    after = {k: v for k, v in before.items() if k not in _DEFAULTS}
    after.update({k: v for k, v in given.items() if v is not None})
    return _change(actor, before, after, used, if_match)


def update(
    caller: Principal, actor: Actor, account_id: str, body: AccountPatch, if_match: str | None
) -> tuple[dict[str, Any], int]:
    """PATCH: only the fields sent; ``null`` resets one to its default."""
    before, used = get(caller, account_id)
    after = dict(before)
    for name, value in body.given().items():
        if value is None and name in ("name", "countryCode"):
            raise InvalidInput(f"{name} cannot be empty.", details=[FieldIssue(name, "cannot be empty")])
        default = _DEFAULTS.get(name)
        if value is None and default is None:
            after.pop(name, None)
        else:
            after[name] = default if value is None else value
    return _change(actor, before, after, used, if_match)


def _change(
    actor: Actor, before: dict[str, Any], after: dict[str, Any], used: int, if_match: str | None
) -> tuple[dict[str, Any], int]:
    require_match(if_match, before["accountId"], before["version"])
    if after["countryCode"] != before["countryCode"]:
        raise InvalidInput(
            "An account's countryCode cannot change.",
            details=[FieldIssue("countryCode", f"is {before['countryCode']} and cannot change")],
        )
    if after == before:
        return before, used
    after["updatedAt"] = now_iso()
    after["version"] = before["version"] + 1
    tenant_id, account_id = before["tenantId"], before["accountId"]
    operations = [accounts.account_put(after, expected_version=before["version"])]
    claim_index = None
    if after["name"].lower() != before["name"].lower():
        claim_index = len(operations)
        operations.append(accounts.name_claim(tenant_id, after["name"], account_id))
        operations.append(accounts.name_release(tenant_id, before["name"], account_id))
    if seat_cap(after) != seat_cap(before):
        operations.append(accounts.seats_cap_set(tenant_id, account_id, seat_cap(after)))
    operations.append(
        event_about(
            "account",
            after,
            actor=actor,
            event_type="account.updated",
            changes=diff(before, after, AUDITED_FIELDS),
            occurred_at=after["updatedAt"],
        )
    )
    try:
        transact(operations)
    except TransactionConflict as conflict:
        if conflict.failed(0):
            raise PreconditionFailed() from conflict
        if claim_index is not None and conflict.failed(claim_index):
            raise _name_taken() from conflict
        raise
    return after, used


def add_client(
    caller: Principal, actor: Actor, account_id: str, body: ClientCreate
) -> tuple[dict[str, Any], bool]:
    """Create-or-update by email: a new client in the account (``True``), or the caller's live
    client with that email updated with the fields given and moved into the account."""
    get(caller, account_id)  # the path's account first: 404 before anything about the email
    fields = body.given()
    if fields.get("accountId") not in (None, account_id):
        raise InvalidInput(
            "accountId must be this account's id (or omitted).",
            details=[FieldIssue("accountId", "differs from the account in the path")],
        )
    fields["accountId"] = account_id
    for _ in range(2):  # a registration racing ours turns the second round into an update
        existing = clients.find_by_email(caller.tenant_id, fields["email"])
        if existing is None:
            try:
                return client_logic.register(caller, actor, ClientCreate.model_validate(fields)), True
            except ClientAlreadyExists:
                continue
        if not caller.sees_partner(existing["partnerPath"]):
            raise ClientAlreadyExists(details=[FieldIssue("email", "already registered")])
        patch = ClientPatch.model_validate({k: v for k, v in fields.items() if k != "email"})
        return client_logic.update(caller, actor, existing["clientId"], patch, None), False
    raise ClientAlreadyExists(details=[FieldIssue("email", "already registered")])


def remove_client(
    caller: Principal, actor: Actor, account_id: str, client_id: str, if_match: str | None
) -> dict[str, Any]:
    """Take a client out of the account (its seat is freed); it stays a client."""
    get(caller, account_id)
    client = client_logic.get(caller, client_id)
    if client.get("accountId") != account_id:
        raise ClientNotFound()
    return client_logic.update(caller, actor, client_id, ClientPatch(accountId=None), if_match)


def _name_taken() -> AccountAlreadyExists:
    return AccountAlreadyExists(details=[FieldIssue("name", "already used")])
