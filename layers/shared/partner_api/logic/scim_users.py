"""SCIM Users: a directory's view of its partner's clients, changed through the clients logic.

Every write goes through ``logic.clients`` (one transaction with the email item, counters, the
account seat and the audit event), so webhooks, reports and seat caps see a SCIM change exactly
like an API change; the directory's token check rides in the same transaction. A directory sees
the live clients of its partner's subtree, or of its account; anything else is 404.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from partner_api.auth.directories import DirectoryCaller
from partner_api.config import settings
from partner_api.errors import ClientNotFound, PreconditionFailed, ScimInvalidValue
from partner_api.logic import clients as client_logic
from partner_api.logic.versions import etag
from partner_api.models.clients import ClientCreate, ClientPatch
from partner_api.models.common import UUID_RE
from partner_api.models.scim import MAX_RESULTS, ScimUserBody
from partner_api.scim import filters, patch, users
from partner_api.store import clients, pages
from partner_api.store.dynamo import batch_get
from partner_api.store.events import Actor

_SCAN_BATCH = 100  # index entries (then whole items) read per call while evaluating a filter
_PATCH_RETRIES = 5
# The client fields SCIM manages; an API-only field (company, roles, metadata...) is left as it is.
_MANAGED = ("email", "name", "firstName", "lastName", "title", "phone", "identifier", "status")
# Where a client field's validation problem is reported, in SCIM's names.
_SCIM_NAMES = {
    "email": "userName",
    "name": "displayName",
    "firstName": "name.givenName",
    "lastName": "name.familyName",
    "phone": "phoneNumbers",
    "identifier": "externalId",
    "title": "title",
}


@dataclass(frozen=True)
class UserPage:
    users: list[dict[str, Any]]  # client records
    total: int
    start_index: int


def create(directory: DirectoryCaller, actor: Actor, resource: dict[str, Any]) -> dict[str, Any]:
    """A new client from a SCIM User; created inactive (holding no seat) when it says ``active: false``."""
    fields = users.client_fields(_checked(resource))
    status = fields.pop("status")
    given = {k: v for k, v in fields.items() if v is not None}
    if directory.account_id:
        given["accountId"] = directory.account_id
    body = _validated(ClientCreate, given)
    return client_logic.register(
        directory.principal, actor, body, guard=[directory.write_guard()], status=status
    )


def confirm_token(directory: DirectoryCaller) -> None:
    """Refuse a token rotated or deleted since this container cached it (one read), for a
    request that reads no User to fetch the token's item with."""
    _read(directory, [])


def get(directory: DirectoryCaller, user_id: str) -> dict[str, Any]:
    """A User the directory may see; an id that is not one of its clients' is 404, malformed or not.
    One read: the client and the token's item together."""
    if not re.fullmatch(UUID_RE, user_id):
        confirm_token(directory)
        raise ClientNotFound("User not found.")
    found, _ = _read(directory, [clients.key(directory.principal.tenant_id, user_id)])
    records = [clients.record_of(i) for i in found]
    if not records or not _visible(directory, records[0]):
        raise ClientNotFound("User not found.")
    return records[0]


def replace(
    directory: DirectoryCaller, actor: Actor, user_id: str, resource: dict[str, Any], if_match: str | None
) -> dict[str, Any]:
    """PUT: the User as sent; a mapped attribute it leaves out is cleared."""
    before = get(directory, user_id)
    return _change(directory, actor, before, users.client_fields(_checked(resource)), if_match)


def modify(
    directory: DirectoryCaller,
    actor: Actor,
    user_id: str,
    operations: Any,
    scim_base: str,
    if_match: str | None,
) -> dict[str, Any]:
    """PATCH: the operations applied to the User as stored, then saved if it is still that
    version (re-read and re-applied when another write came between, unless ``If-Match``)."""
    for _ in range(_PATCH_RETRIES):
        before = get(directory, user_id)
        current = users.to_scim(before, scim_base)
        changed = patch.apply(current, operations)
        fields = users.client_fields(changed, before=current)
        try:
            return _change(directory, actor, before, fields, if_match or etag(user_id, before["version"]))
        except PreconditionFailed:
            if if_match:
                raise
    raise PreconditionFailed()


def remove(directory: DirectoryCaller, actor: Actor, user_id: str, if_match: str | None) -> None:
    """DELETE: the client is removed as ``DELETE /partner/v1/clients/{id}`` removes it."""
    get(directory, user_id)
    client_logic.remove(directory.principal, actor, user_id, if_match, guard=[directory.write_guard()])


def list_users(directory: DirectoryCaller, filter_text: str | None, start_index: int, count: int) -> UserPage:
    """One page of the directory's users matching ``filter_text``. ``userName eq`` (and
    ``emails.value eq``) is one key lookup; no filter pages the index; any other filter reads
    the directory's clients in batches and keeps those that match."""
    start_index, count = max(start_index, 1), max(min(count, MAX_RESULTS), 0)
    if not filter_text:
        spec = _spec(directory)
        page = pages.read_keys(spec, limit=count, offset=start_index - 1, cursor=None) if count else None
        records = _records(directory, page.keys if page else [])
        return UserPage(records, pages.count(spec), start_index)
    condition = filters.parse(filter_text)
    email = filters.equality_value(condition, "username") or filters.equality_value(condition, "emails.value")
    if email is not None:
        tenant_id = directory.principal.tenant_id
        owners, _ = _read(directory, [clients.email_key(tenant_id, email)])
        keys = [clients.key(tenant_id, o["clientId"]) for o in owners]
        items = _read(directory, keys, check=False)[0] if keys else []
        candidates = [r for r in (clients.record_of(i) for i in items) if _visible(directory, r)]
    else:
        candidates = _all_records(directory)
    scim_base = ""  # location is not filterable; matching needs no URL
    matching = [r for r in candidates if condition.matches(users.to_scim(r, scim_base))]
    return UserPage(matching[start_index - 1 : start_index - 1 + count], len(matching), start_index)


def _change(
    directory: DirectoryCaller,
    actor: Actor,
    before: dict[str, Any],
    fields: dict[str, Any],
    if_match: str | None,
) -> dict[str, Any]:
    """Save the managed fields that differ from ``before`` through the clients logic."""
    changes = {k: v for k, v in fields.items() if k in _MANAGED and before.get(k) != v}
    body = _validated(ClientPatch, changes)
    return client_logic.update(
        directory.principal, actor, before["clientId"], body, if_match, guard=[directory.write_guard()]
    )


def _checked(resource: dict[str, Any]) -> dict[str, Any]:
    """``resource`` if its attributes have the types the published User has, else ``invalidValue``."""
    _validated(ScimUserBody, resource, strict=True)
    return resource


def _validated(model: type[Any], fields: dict[str, Any], *, strict: bool = False) -> Any:
    """``fields`` parsed by ``model``; its first problem as ``invalidValue``, in SCIM's names."""
    try:
        return model.model_validate(fields, strict=strict)
    except ValidationError as exc:
        problem = exc.errors(include_url=False)[0]
        path = [str(part) for part in problem["loc"]]
        where = ".".join([_SCIM_NAMES.get(path[0], path[0]), *path[1:]]) if path else "User"
        message = str(problem["msg"]).removeprefix("Value error, ")
        raise ScimInvalidValue(f"{where}: {message}.") from exc


def _in_scope(directory: DirectoryCaller, record: dict[str, Any]) -> bool:
    return not directory.account_id or record.get("accountId") == directory.account_id


def _visible(directory: DirectoryCaller, record: dict[str, Any]) -> bool:
    return (
        record["status"] != "deleted"
        and directory.principal.sees_partner(record["partnerPath"])
        and _in_scope(directory, record)
    )


def _spec(directory: DirectoryCaller) -> pages.IndexQuery:
    caller = directory.principal
    return clients.list_spec(
        tenant_id=caller.tenant_id,
        status=None,
        owner_path=list(caller.partner_path),
        partner_id=None,
        account_id=directory.account_id,
        q=None,
    )


def _read(
    directory: DirectoryCaller, user_keys: list[dict[str, str]], *, check: bool = True
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The users table's items at ``user_keys`` in their order, read in one call with the token's
    item (unless ``check`` is off), which must still be there; and what else was read."""
    users_table, tenants_table = settings().users_table, settings().tenants_table
    wanted = {users_table: user_keys} if user_keys else {}
    if check:
        wanted[tenants_table] = [directory.token_key()]
    found = batch_get(wanted) if wanted else {}
    if check:
        directory.confirm(found.get(tenants_table, []))
    by_key = {(i["PK"], i["SK"]): i for i in found.get(users_table, [])}
    return [by_key[(k["PK"], k["SK"])] for k in user_keys if (k["PK"], k["SK"]) in by_key], found.get(
        tenants_table, []
    )


def _records(
    directory: DirectoryCaller, entries: list[dict[str, Any]], *, check: bool = True
) -> list[dict[str, Any]]:
    """The visible client records behind a page of index entries (and the token confirmed)."""
    items, _ = _read(directory, [{"PK": e["PK"], "SK": e["SK"]} for e in entries], check=check)
    return [r for r in (clients.record_of(i) for i in items) if _visible(directory, r)]


def _all_records(directory: DirectoryCaller) -> list[dict[str, Any]]:
    spec, cursor, found, first = _spec(directory), None, [], True
    while True:
        page = pages.read_keys(spec, limit=_SCAN_BATCH, offset=0, cursor=cursor)
        found += _records(directory, page.keys, check=first)
        first = False
        if not page.has_more or not page.next_cursor:
            return found
        cursor = page.next_cursor
