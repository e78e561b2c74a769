"""Client lifecycle: register, read, list, update, remove, restore.

Every change is one DynamoDB transaction holding the record, its email uniqueness item,
the counters and the audit event, so a change is either wholly there or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from partner_api.auth.principal import Principal
from partner_api.config import settings
from partner_api.errors import (
    AccountNotFound,
    ClientAlreadyExists,
    ClientNotFound,
    FieldIssue,
    InvalidInput,
    MissingParameters,
    PartnerNotFound,
    PreconditionFailed,
    SeatLimitExceeded,
    Unauthenticated,
)
from partner_api.ids import new_id, now_iso
from partner_api.logic import tree
from partner_api.logic.pages import Page
from partner_api.logic.versions import require_match
from partner_api.models.clients import OPTIONAL_FIELDS, ClientCreate, ClientListQuery, ClientPatch
from partner_api.statuses import LIVE_STATUSES
from partner_api.store import accounts, clients, keys, pages, partners
from partner_api.store.dynamo import TransactionConflict, batch_get, transact
from partner_api.store.events import Actor, diff, event_about

# Fields whose changes an event records (never secrets; clients have none).
AUDITED_FIELDS = ("name", "email", "status", "partnerId", *OPTIONAL_FIELDS)
_OPTIMISTIC_RETRIES = 5


def register(
    caller: Principal,
    actor: Actor,
    body: ClientCreate,
    guard: Sequence[dict[str, Any]] = (),
    status: str = "active",
) -> dict[str, Any]:
    """Create a client (``active`` unless a directory provisions it ``inactive``, which then
    holds no seat); a live client with the same email (any case) → 409. ``guard``: condition
    checks the caller's own standing must pass in the same transaction (a directory token's
    item), else ``Unauthenticated``."""
    fields = body.given()
    # The model reports a missing name only with other problems (see ClientCreate): a body
    # otherwise valid, or an account's create-or-update turned create, is caught here.
    if not fields.get("name"):
        if fields.get("firstName") and fields.get("lastName"):
            fields["name"] = f"{fields['firstName']} {fields['lastName']}"[:255]
        else:
            raise MissingParameters(
                "Required parameter name is missing.", details=[FieldIssue("name", "required")]
            )
    owner_path = _placement(caller, fields.pop("partnerId", None), fields.get("accountId"))
    now = now_iso()
    record = {
        **fields,
        "clientId": new_id(),
        "tenantId": caller.tenant_id,
        "partnerId": owner_path[-1],
        "partnerPath": owner_path,
        "status": status,
        "registeredAt": now,
        "updatedAt": now,
        "version": 1,
    }
    counters = partners.counts_change(caller.tenant_id, [(owner_path, status, 1)])
    seats = _seat_moves(caller.tenant_id, None, record)
    operations = [
        clients.create_put(record),
        clients.email_claim(caller.tenant_id, record["email"], record["clientId"]),
        *counters,
        *seats,
        event_about(
            "client",
            record,
            actor=actor,
            event_type="client.registered",
            changes=diff({}, record, AUDITED_FIELDS),
            occurred_at=now,
        ),
    ]
    try:
        transact([*operations, *guard])
    except TransactionConflict as conflict:
        _refuse_stale_caller(conflict, first_guard=len(operations), guards=len(guard))
        if conflict.failed(1):
            raise _email_taken() from conflict
        _explain(conflict, counters_at=2, counters=counters, seats=seats)
        raise
    return record


def get(caller: Principal, client_id: str) -> dict[str, Any]:
    """A client of the caller's subtree (deleted ones included); anything else is not found."""
    item = clients.find(caller.tenant_id, client_id)
    if item is None or not caller.sees_partner(item["partnerPath"]):
        raise ClientNotFound()
    return clients.record_of(item)


def update(
    caller: Principal,
    actor: Actor,
    client_id: str,
    body: ClientPatch,
    if_match: str | None,
    guard: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """Apply a partial update; ``status`` may remove (``deleted``) or restore (``active``).
    ``guard`` as for ``register``."""
    changes = body.given()
    for attempt in range(_OPTIMISTIC_RETRIES):
        before = get(caller, client_id)
        require_match(if_match, client_id, before["version"])
        after = _patched(caller, before, changes)
        if after == before:
            return before
        try:
            _save(caller, actor, before, after, guard)
            return after
        except _VersionMoved:
            if if_match is not None or attempt == _OPTIMISTIC_RETRIES - 1:
                raise PreconditionFailed() from None
    raise PreconditionFailed()  # pragma: no cover - the loop always returns or raises


def remove(
    caller: Principal,
    actor: Actor,
    client_id: str,
    if_match: str | None,
    guard: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """Soft-delete. Removing an already removed client answers the same and records nothing.
    ``guard`` as for ``register``."""
    for _ in range(_OPTIMISTIC_RETRIES):
        before = get(caller, client_id)
        if before["status"] == "deleted":
            return before
        require_match(if_match, client_id, before["version"])
        after = _patched(caller, before, {"status": "deleted"})
        try:
            _save(caller, actor, before, after, guard)
            return after
        except _VersionMoved:
            continue  # someone else wrote (perhaps removed it): look again
    raise PreconditionFailed()


def list_page(caller: Principal, query: ClientListQuery) -> Page:
    """One page of the caller's subtree's clients, oldest first, with the filters applied."""
    partner_filter = None
    if query.partnerId:
        partner_filter = tree.visible_partner(caller, query.partnerId, allow_deleted=True)["partnerId"]
    if query.accountId:
        _require_account(caller, query.accountId)
    spec = clients.list_spec(
        tenant_id=caller.tenant_id,
        status=query.status,
        owner_path=list(caller.partner_path),
        partner_id=partner_filter,
        account_id=query.accountId,
        q=query.q,
    )
    keys_page = pages.read_keys(spec, limit=query.limit, offset=query.offset, cursor=query.cursor)
    counted_by_counter = not (query.q or query.accountId)
    counter_owner = partner_filter or caller.partner_id
    items, counter = clients.fetch_page(
        caller.tenant_id,
        keys_page.keys,
        partners.counts_key(caller.tenant_id, counter_owner) if counted_by_counter else None,
    )
    wanted = (query.status,) if query.status else LIVE_STATUSES
    records = [clients.record_of(i) for i in items if i["status"] in wanted]
    if counted_by_counter:
        scope = "own" if partner_filter else "tree"
        total = sum(int((counter or {}).get(f"{scope}_{s}", 0)) for s in wanted)
    else:
        total = pages.count(spec)
    return Page(
        records,
        query.limit,
        0 if query.cursor else query.offset,
        total,
        keys_page.has_more,
        keys_page.next_cursor,
    )


class _VersionMoved(Exception):
    """The record changed between read and write."""


def _patched(caller: Principal, before: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """The record after applying ``changes``, validated against the rules of its state."""
    after = dict(before)
    status = changes.get("status")
    if before["status"] == "deleted" and status != "active" and set(changes) - {"status"}:
        raise InvalidInput(
            "A removed client cannot be changed; restore it first.",
            details=[FieldIssue("status", "client is deleted; send status 'active' to restore it")],
        )
    for required in ("name", "email"):
        if required in changes and changes[required] is None:
            raise MissingParameters(
                f"Required parameter {required} cannot be empty.",
                details=[FieldIssue(required, "cannot be empty")],
            )
    for name, value in changes.items():
        if name in ("metadata", "partnerId", "status"):
            continue
        if value is None:
            after.pop(name, None)
        else:
            after[name] = value
    if "metadata" in changes:
        after["metadata"] = _merged_metadata(before.get("metadata") or {}, changes["metadata"])
        if not after["metadata"]:
            after.pop("metadata")
    if changes.get("partnerId") and changes["partnerId"] != before["partnerId"]:
        path = tree.owner_path(caller, changes["partnerId"])
        after["partnerId"], after["partnerPath"] = path[-1], path
    if changes.get("accountId") and changes["accountId"] != before.get("accountId"):
        _require_account(caller, changes["accountId"])
    if status and status != before["status"]:
        after["status"] = status
        if status == "deleted":
            after["removedAt"] = now_iso()
        else:
            after.pop("removedAt", None)
    if after != before:
        after["updatedAt"] = after.get("removedAt") if status == "deleted" else now_iso()
        after["version"] = before["version"] + 1
    return after


def _merged_metadata(current: dict[str, str], patch: dict[str, str | None] | None) -> dict[str, str]:
    if patch is None:
        return {}
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > 50:
        raise InvalidInput(
            "metadata may hold at most 50 keys.", details=[FieldIssue("metadata", "at most 50 keys")]
        )
    return merged


def _save(
    caller: Principal,
    actor: Actor,
    before: dict[str, Any],
    after: dict[str, Any],
    guard: Sequence[dict[str, Any]] = (),
) -> None:
    tenant = caller.tenant_id
    was_live, is_live = before["status"] != "deleted", after["status"] != "deleted"
    operations = [clients.replace_put(after, before["version"])]
    claim_index = None
    email_moved = before["email"].lower() != after["email"].lower()
    if was_live and (not is_live or email_moved):
        operations.append(clients.email_release(tenant, before["email"], before["clientId"]))
    if is_live and (not was_live or email_moved):
        claim_index = len(operations)
        operations.append(clients.email_claim(tenant, after["email"], after["clientId"]))
    moves: list[tuple[list[str], str, int]] = []
    if before["status"] != after["status"] or before["partnerPath"] != after["partnerPath"]:
        moves = [(before["partnerPath"], before["status"], -1), (after["partnerPath"], after["status"], 1)]
    counters = partners.counts_change(tenant, moves)
    counters_at = len(operations)
    operations += counters
    seats = _seat_moves(tenant, before, after)
    operations += seats
    if was_live and not is_live:
        event_type = "client.removed"
    elif is_live and not was_live:
        event_type = "client.restored"
    else:
        event_type = "client.updated"
    operations.append(
        event_about(
            "client",
            after,
            actor=actor,
            event_type=event_type,
            changes=diff(before, after, AUDITED_FIELDS),
            occurred_at=after["updatedAt"],
        )
    )
    try:
        transact([*operations, *guard])
    except TransactionConflict as conflict:
        _refuse_stale_caller(conflict, first_guard=len(operations), guards=len(guard))
        if conflict.failed(0):
            raise _VersionMoved() from conflict
        if claim_index is not None and conflict.failed(claim_index):
            raise _email_taken() from conflict
        _explain(conflict, counters_at=counters_at, counters=counters, seats=seats)
        raise


def _seat_moves(tenant_id: str, before: dict[str, Any] | None, after: dict[str, Any]) -> list[dict[str, Any]]:
    """Seat changes for a client's change: an active client in an account holds one of its seats.
    Taking a seat is the transaction's last item but the event, and fails when none is free."""
    held = _seat_of(before) if before else None
    wanted = _seat_of(after)
    if held == wanted:
        return []
    moves = [accounts.seat_free(tenant_id, held)] if held else []
    if wanted:
        moves.append(accounts.seat_take(tenant_id, wanted))
    return moves


def _seat_of(record: dict[str, Any]) -> str | None:
    account_id = record.get("accountId")
    return account_id if account_id and record["status"] == "active" else None


def _explain(
    conflict: TransactionConflict,
    *,
    counters_at: int,
    counters: list[dict[str, Any]],
    seats: list[dict[str, Any]],
) -> None:
    """Raise the domain error behind a failed counter (owner removed) or seat (cap reached)."""
    if any(conflict.failed(i) for i in range(counters_at, counters_at + len(counters))):
        raise PartnerNotFound(
            details=[FieldIssue("partnerId", "no such partner visible to the caller")]
        ) from conflict
    if seats and conflict.failed(counters_at + len(counters) + len(seats) - 1):
        raise SeatLimitExceeded(
            details=[FieldIssue("accountId", "the account's SEATS cap is reached")]
        ) from conflict


def _refuse_stale_caller(conflict: TransactionConflict, *, first_guard: int, guards: int) -> None:
    if any(conflict.failed(i) for i in range(first_guard, first_guard + guards)):
        raise Unauthenticated("The directory token was rotated or its directory deleted.") from conflict


def _email_taken() -> ClientAlreadyExists:
    return ClientAlreadyExists(details=[FieldIssue("email", "already registered")])


def _placement(caller: Principal, partner_id: str | None, account_id: str | None) -> list[str]:
    """A new client's owner path, with its owner and account checked visible in one read."""
    table = settings().tenants_table
    own = not partner_id or partner_id == caller.partner_id
    wanted = [] if own else [partners.key(caller.tenant_id, str(partner_id))]
    if account_id:
        wanted.append(accounts.key(caller.tenant_id, account_id))
    found = {i["SK"]: i for i in batch_get({table: wanted})[table]} if wanted else {}
    path = list(caller.partner_path)
    if not own:
        path = list(tree.seen_partner(caller, found.get(keys.partner(str(partner_id))))["path"])
    if account_id:
        _seen_account(caller, found.get(keys.account(account_id)))
    return path


def _require_account(caller: Principal, account_id: str) -> dict[str, Any]:
    return _seen_account(caller, accounts.find(caller.tenant_id, account_id))


def _seen_account(caller: Principal, item: dict[str, Any] | None) -> dict[str, Any]:
    if item is None or not caller.sees_partner(item.get("partnerPath", [])):
        raise AccountNotFound(details=[FieldIssue("accountId", "no such account visible to the caller")])
    return item
