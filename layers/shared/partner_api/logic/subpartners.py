"""Sub-partners, as a partner manages its own subtree (API.md section 5).

A partner sees and changes itself and its descendants only. The tree's shape is fixed at
creation (a parent never changes), so a partner's ``path`` (root .. itself) is a stable key
for visibility checks, client ownership and counters.
"""

from __future__ import annotations

from typing import Any

from partner_api.auth.principal import Principal
from partner_api.config import settings
from partner_api.errors import (
    FieldIssue,
    Forbidden,
    InvalidInput,
    PartnerAlreadyExists,
    PartnerNotEmpty,
    PartnerNotFound,
    PreconditionFailed,
)
from partner_api.ids import now_iso
from partner_api.logic import partners as partner_logic
from partner_api.logic.pages import Page, subtree_list_page
from partner_api.logic.tree import visible_partner
from partner_api.logic.versions import require_match
from partner_api.models.partners import ParentRef, PartnerListQuery, PartnerPatch, SubPartnerCreate
from partner_api.statuses import STATUSES
from partner_api.store import keys, partners
from partner_api.store.dynamo import TransactionConflict, batch_get, transact
from partner_api.store.events import Actor

MAX_DEPTH = 5  # levels below the root
_OPTIMISTIC_RETRIES = 5


def create(caller: Principal, actor: Actor, body: SubPartnerCreate) -> tuple[dict[str, Any], dict[str, Any]]:
    """A sub-partner under the caller or one of its live descendants; returns it and its parent."""
    parent = _parent(caller, body.parent)
    if parent["depth"] + 1 > MAX_DEPTH:
        raise InvalidInput(
            f"Sub-partners may be at most {MAX_DEPTH} levels below the root partner.",
            details=[FieldIssue("parent", f"already {MAX_DEPTH} levels below the root")],
        )
    record, welcome = partner_logic.new_record(body, parent_path=parent["path"], tenant_id=caller.tenant_id)
    tenant_id, partner_id = caller.tenant_id, record["partnerId"]
    operations = [
        partners.reference_put(tenant_id, record["reference"], partner_id),
        partners.partner_put(record, create=True),
        partners.counts_put(tenant_id, record["path"]),
        partners.children_change(tenant_id, parent["partnerId"], 1),
        partner_logic.created_event(record, actor, welcome),
    ]
    try:
        transact(operations)
    except TransactionConflict as conflict:
        if conflict.failed(0):
            raise PartnerAlreadyExists(details=[FieldIssue("reference", "already used")]) from conflict
        if conflict.failed(3):  # the parent was removed meanwhile
            raise PartnerNotFound(
                details=[FieldIssue("parent", "no such partner visible to the caller")]
            ) from conflict
        raise
    return record, parent


def get(caller: Principal, partner_id: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The caller or a descendant (removed ones included), and its parent when the caller
    may see that parent (a partner is never shown its own ancestors)."""
    record = partners.record_of(visible_partner(caller, partner_id, allow_deleted=True, field=None))
    return record, _visible_parent(caller, record)


def list_children(caller: Principal, query_: PartnerListQuery) -> tuple[Page, dict[str, Any]]:
    """A page of one partner's children (default: the caller's), oldest first, and that parent."""
    parent_record = visible_partner(
        caller, query_.parentId or caller.partner_id, allow_deleted=True, field="parentId"
    )
    parent = parent_record["partnerId"]
    clauses, names, values = ["#status <> :deleted"], {"#status": "status"}, {":deleted": "deleted"}
    if query_.status:
        clauses, values = ["#status = :status"], {":status": query_.status}
    if query_.q:
        clauses.append("contains(#search, :q)")
        names["#search"], values[":q"] = "search", query_.q.lower()
    page = subtree_list_page(
        caller,
        "|".join(["partners", parent, *(f"{k}={v}" for k, v in sorted(values.items()))]),
        keys.children_of(caller.tenant_id, parent),
        query_,
        (clauses, names, values),
    )
    return page, parent_record


def update(
    caller: Principal, actor: Actor, partner_id: str, body: PartnerPatch, if_match: str | None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Change the caller or a live descendant. A partner cannot change its own status: that is
    its parent's (or, for a root, the operator's) decision."""
    if partner_id == caller.partner_id and body.wanted_status() is not None:
        raise Forbidden("A partner cannot change its own status.")
    for attempt in range(_OPTIMISTIC_RETRIES):
        before, parent = get(caller, partner_id)
        if before["status"] == "deleted":
            raise InvalidInput(
                "A removed partner cannot be changed.",
                details=[FieldIssue("status", "partner is deleted")],
            )
        require_match(if_match, partner_id, before["version"])
        after, welcome = partner_logic.patched(before, body)
        if after == before:
            return before, parent
        try:
            partner_logic.save_change(actor, before, after, welcome=welcome)
            return after, parent
        except PreconditionFailed:
            if if_match is not None or attempt == _OPTIMISTIC_RETRIES - 1:
                raise
    raise PreconditionFailed()  # pragma: no cover - the loop always returns or raises


def remove(caller: Principal, actor: Actor, partner_id: str, if_match: str | None) -> dict[str, Any]:
    """Soft-delete a descendant with no live children and no live clients; removing a removed
    partner answers the same and records nothing. A partner cannot remove itself."""
    if partner_id == caller.partner_id:
        raise Forbidden("A partner cannot delete itself.")
    for _ in range(_OPTIMISTIC_RETRIES):
        before, _parent = get(caller, partner_id)
        if before["status"] == "deleted":
            return before
        require_match(if_match, partner_id, before["version"])
        now = now_iso()
        after = {**before, "status": "deleted", "removedAt": now, "updatedAt": now}
        after["version"] = before["version"] + 1
        tenant_id = caller.tenant_id
        extra = [
            partners.close_counts(tenant_id, partner_id),
            partners.children_change(tenant_id, before["path"][-2], -1),
        ]
        try:
            partner_logic.save_change(actor, before, after, event_type="partner.removed", extra=extra)
            return after
        except PreconditionFailed:
            continue  # changed meanwhile: look again
        except TransactionConflict as conflict:
            if conflict.failed(2):  # close_counts follows the record and its reference
                raise PartnerNotEmpty() from conflict
            raise
    raise PreconditionFailed()


def client_report(caller: Principal) -> list[dict[str, Any]]:
    """Each partner of the caller's subtree with its own clients counted by status, read from
    the counters (never by counting clients); the caller first, then by depth and age."""
    counters = partners.counters_in(caller.tenant_id, caller.partner_path)
    table = settings().tenants_table
    wanted = [partners.key(caller.tenant_id, c["partnerId"]) for c in counters]
    found = {i["partnerId"]: i for i in batch_get({table: wanted})[table]} if wanted else {}
    rows = []
    for counter in counters:
        partner = found.get(counter["partnerId"])
        if partner is None or not caller.sees_partner(partner["path"]):
            continue
        counts = {status: int(counter.get(f"own_{status}", 0)) for status in STATUSES}
        rows.append((partner, {"partnerId": partner["partnerId"], "name": partner["name"], "counts": counts}))
    rows.sort(key=lambda row: (row[0]["depth"], row[0]["createdAt"], row[0]["partnerId"]))
    return [row for _, row in rows]


def _parent(caller: Principal, wanted: ParentRef | None) -> dict[str, Any]:
    """The live partner a new sub-partner goes under: the caller unless named by id or name."""
    if wanted is None or wanted.partnerId == caller.partner_id:
        return visible_partner(caller, caller.partner_id, field="parent")
    if wanted.partnerId:
        return visible_partner(caller, wanted.partnerId, field="parent.partnerId")
    assert wanted.name is not None
    named = [
        p
        for p in partners.named(caller.tenant_id, wanted.name)
        if p["status"] != "deleted" and caller.sees_partner(p["path"])
    ]
    if not named:
        raise PartnerNotFound(details=[FieldIssue("parent.name", "no such partner visible to the caller")])
    if len(named) > 1:
        raise InvalidInput(
            "More than one partner has this name; name the parent by partnerId.",
            details=[FieldIssue("parent.name", "matches more than one partner")],
        )
    return named[0]


def _visible_parent(caller: Principal, record: dict[str, Any]) -> dict[str, Any] | None:
    if len(record["path"]) < 2 or not caller.sees_partner(record["path"][:-1]):
        return None
    return partners.find(caller.tenant_id, record["path"][-2])
