"""Directories: SCIM connections through which an identity provider manages a partner's clients.

A directory's token is shown once and stored as a hash. Rotating it and deleting the directory
delete the old token's item in the same transaction as the change and its audit event.
"""

from __future__ import annotations

from typing import Any

from partner_api.auth.principal import Principal
from partner_api.errors import AccountNotFound, DirectoryNotFound, FieldIssue
from partner_api.ids import new_id, now_iso
from partner_api.logic import tree
from partner_api.logic.pages import Page, subtree_list_page
from partner_api.models.directories import DirectoryCreate, DirectoryListQuery
from partner_api.store import accounts, directories, keys
from partner_api.store.dynamo import TransactionConflict, transact
from partner_api.store.events import Actor, event_about

_OPTIMISTIC_RETRIES = 5


def create(caller: Principal, actor: Actor, body: DirectoryCreate) -> tuple[dict[str, Any], str]:
    """A directory for the caller's partner or a descendant; returns it and its token."""
    path = tree.owner_path(caller, body.partnerId)
    if body.accountId:
        account = accounts.find(caller.tenant_id, body.accountId)
        # The directory acts as its partner: the account must be one that partner may put clients in.
        if account is None or tuple(account.get("partnerPath", []))[: len(path)] != tuple(path):
            raise AccountNotFound(
                details=[FieldIssue("accountId", "no such account visible to the directory's partner")]
            )
    token, now = directories.new_token(), now_iso()
    record: dict[str, Any] = {
        "directoryId": new_id(),
        "tenantId": caller.tenant_id,
        "partnerId": path[-1],
        "partnerPath": path,
        "name": body.name,
        "tokenHash": directories.hash_token(token),
        "createdAt": now,
        "updatedAt": now,
        "version": 1,
    }
    if body.accountId:
        record["accountId"] = body.accountId
    transact(
        [
            directories.directory_put(record),
            directories.token_put(record["tokenHash"], record),
            _event(record, actor, "directory.created", {"name": {"from": None, "to": body.name}}, now),
        ]
    )
    return record, token


def get(caller: Principal, directory_id: str) -> dict[str, Any]:
    item = directories.find(caller.tenant_id, directory_id)
    if item is None or not caller.sees_partner(item["partnerPath"]):
        raise DirectoryNotFound()
    return item


def list_page(caller: Principal, query: DirectoryListQuery) -> Page:
    """The subtree's directories, oldest first (never their tokens)."""
    return subtree_list_page(caller, "directories", keys.directories_of(caller.tenant_id), query)


def rotate_token(caller: Principal, actor: Actor, directory_id: str) -> tuple[dict[str, Any], str]:
    """A new token; the old one's item goes in the same transaction, so it stops at once."""
    for _ in range(_OPTIMISTIC_RETRIES):
        before = get(caller, directory_id)
        token, now = directories.new_token(), now_iso()
        after = {
            **_record(before),
            "tokenHash": directories.hash_token(token),
            "tokenRotatedAt": now,
            "updatedAt": now,
            "version": before["version"] + 1,
        }
        try:
            transact(
                [
                    directories.directory_put(after, expected_version=before["version"]),
                    directories.token_delete(before["tokenHash"]),
                    directories.token_put(after["tokenHash"], after),
                    _event(after, actor, "directory.token_rotated", {}, now),
                ]
            )
        except TransactionConflict as conflict:
            if conflict.failed(0):
                continue  # rotated or deleted meanwhile: look again
            raise
        return after, token
    raise DirectoryNotFound()


def delete(caller: Principal, actor: Actor, directory_id: str) -> dict[str, Any]:
    """Delete the directory and its token; the clients it made stay."""
    for _ in range(_OPTIMISTIC_RETRIES):
        before = get(caller, directory_id)
        now = now_iso()
        try:
            transact(
                [
                    directories.directory_delete(before),
                    directories.token_delete(before["tokenHash"]),
                    _event(before, actor, "directory.deleted", {}, now),
                ]
            )
        except TransactionConflict as conflict:
            if conflict.failed(0):
                continue  # changed meanwhile; a second delete finds nothing and answers 404
            raise
        return {**_record(before), "updatedAt": now}
    raise DirectoryNotFound()


def _record(item: dict[str, Any]) -> dict[str, Any]:
    derived = {"PK", "SK", "ownerPath", "listPK", "listSK"}
    return {k: v for k, v in item.items() if k not in derived}


def _event(
    record: dict[str, Any], actor: Actor, event_type: str, changes: dict[str, Any], at: str
) -> dict[str, Any]:
    return event_about(
        "directory", record, actor=actor, event_type=event_type, changes=changes, occurred_at=at
    )
