"""Directories (SCIM provisioning connections) and their tokens.

A directory item lives in its tenant's partition; its token is a second item keyed by the
token's SHA-256, which is all a SCIM request carries. The token is 256 random bits, so a plain
hash is enough to store it (no salt or slow hash is needed against guessing), and it lets the
item be found by key.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from partner_api.config import settings
from partner_api.store import keys
from partner_api.store.dynamo import check, delete, get, put

TOKEN_PREFIX = "scim_"
# What a token item copies from its directory: all a SCIM request needs to know its caller.
_TOKEN_FIELDS = ("directoryId", "tenantId", "partnerId", "partnerPath", "accountId")


def key(tenant_id: str, directory_id: str) -> dict[str, str]:
    return {"PK": keys.tenant(tenant_id), "SK": keys.directory(directory_id)}


def token_key(token_hash: str) -> dict[str, str]:
    return {"PK": keys.directory_token(token_hash), "SK": keys.DIRECTORY_TOKEN_SK}


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find(tenant_id: str, directory_id: str) -> dict[str, Any] | None:
    return get(settings().tenants_table, key(tenant_id, directory_id))


def find_token(token_hash: str) -> dict[str, Any] | None:
    return get(settings().tenants_table, token_key(token_hash))


def directory_put(record: dict[str, Any], expected_version: int | None = None) -> dict[str, Any]:
    """The transaction item writing a directory (``record`` holds its ``tokenHash``): a new one,
    or with ``expected_version`` its next version, only if nobody wrote another since."""
    item = {
        **record,
        **key(record["tenantId"], record["directoryId"]),
        "ownerPath": "/".join(record["partnerPath"]) + "/",
        "listPK": keys.directories_of(record["tenantId"]),
        "listSK": keys.created_order(record["createdAt"], record["directoryId"]),
    }
    if expected_version is None:
        return put(settings().tenants_table, item, condition="attribute_not_exists(PK)")
    return put(
        settings().tenants_table,
        item,
        condition="#v = :v",
        names={"#v": "version"},
        values={":v": expected_version},
    )


def directory_delete(record: dict[str, Any]) -> dict[str, Any]:
    return delete(
        settings().tenants_table,
        key(record["tenantId"], record["directoryId"]),
        condition="#v = :v",
        names={"#v": "version"},
        values={":v": record["version"]},
    )


def token_put(token_hash: str, record: dict[str, Any]) -> dict[str, Any]:
    fields = {name: record[name] for name in _TOKEN_FIELDS if record.get(name)}
    return put(
        settings().tenants_table, {**token_key(token_hash), **fields}, condition="attribute_not_exists(PK)"
    )


def token_delete(token_hash: str) -> dict[str, Any]:
    return delete(settings().tenants_table, token_key(token_hash))


def token_guard(token_hash: str, directory_id: str) -> dict[str, Any]:
    """A ``ConditionCheck`` that fails once the token is rotated or its directory deleted: in a
    SCIM write's transaction, it stops an old token from changing anything at once, whatever
    a container's cache of the token still says."""
    return check(
        settings().tenants_table,
        token_key(token_hash),
        "#d = :d",
        names={"#d": "directoryId"},
        values={":d": directory_id},
    )


def public(item: dict[str, Any], scim_base_url: str) -> dict[str, Any]:
    """A directory as listed: never its token or the token's hash."""
    shown: dict[str, Any] = {
        "directoryId": item["directoryId"],
        "name": item["name"],
        "partnerId": item["partnerId"],
        "scimBaseUrl": scim_base_url,
        "createdAt": item["createdAt"],
        "updatedAt": item["updatedAt"],
    }
    if item.get("accountId"):
        shown["accountId"] = item["accountId"]
    if item.get("tokenRotatedAt"):
        shown["tokenRotatedAt"] = item["tokenRotatedAt"]
    return shown
