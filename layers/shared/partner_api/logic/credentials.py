"""Credentials: a partner's technical accounts, and the operator's."""

from __future__ import annotations

from typing import Any

from partner_api.auth.principal import OPERATOR_SCOPES, PARTNER_SCOPES, Principal
from partner_api.auth.secrets import hash_secret, new_secret
from partner_api.errors import CredentialNotFound, FieldIssue, Forbidden, InvalidInput
from partner_api.ids import new_id, now_iso
from partner_api.logic.pages import Page, subtree_list_page
from partner_api.logic.tree import owner_path
from partner_api.models.partners import CredentialCreate, CredentialListQuery
from partner_api.store import credentials, keys
from partner_api.store.dynamo import TransactionConflict, transact
from partner_api.store.events import Actor, event_put


def issue_operator_credential(
    name: str, client_id: str | None = None, secret: str | None = None
) -> tuple[str, str]:
    """Create an operator credential (scope ``admin``); returns ``(client_id, secret)``.

    This is the one path that bypasses the API: the first operator has nobody to ask.
    ``client_id``/``secret`` may be given (a local run with fixed demo values).
    """
    client_id = client_id or new_id()
    secret = secret or new_secret()
    transact(
        [
            credentials.credential_put(
                client_id=client_id,
                secret_hash=hash_secret(secret),
                scopes=list(OPERATOR_SCOPES),
                token_use="operator",
                created_at=now_iso(),
                name=name,
            )
        ]
    )
    return client_id, secret


def issue(caller: Principal, actor: Actor, body: CredentialCreate) -> tuple[dict[str, Any], str]:
    """A credential for the caller's partner or a descendant, with a subset of the caller's
    scopes (default: all of them); returns it and its secret, shown only now."""
    path = owner_path(caller, body.partnerId)
    scopes: list[str] = list(body.scopes) if body.scopes else sorted(caller.scopes & set(PARTNER_SCOPES))
    beyond = [s for s in scopes if s not in caller.scopes]
    if beyond:
        raise InvalidInput(
            "A credential may only hold scopes its issuer's token holds.",
            details=[FieldIssue("scopes", f"not held by the caller: {' '.join(beyond)}")],
        )
    client_id, secret, now = new_id(), new_secret(), now_iso()
    transact(
        [
            credentials.credential_put(
                client_id=client_id,
                secret_hash=hash_secret(secret),
                scopes=scopes,
                token_use="partner",
                created_at=now,
                tenant_id=caller.tenant_id,
                partner_path=path,
                name=body.name,
            ),
            event_put(
                tenant_id=caller.tenant_id,
                event_type="credential.created",
                partner_id=path[-1],
                partner_path=path,
                actor=actor,
                resource_type="credential",
                resource_id=client_id,
                changes={"scopes": {"from": None, "to": scopes}},
                occurred_at=now,
            ),
        ]
    )
    record = {
        "clientId": client_id,
        "partnerId": path[-1],
        "scopes": scopes,
        "status": "active",
        "createdAt": now,
        "name": body.name,
    }
    return record, secret


def list_page(caller: Principal, query: CredentialListQuery) -> Page:
    """The subtree's credentials, oldest first (shown without secrets)."""
    return subtree_list_page(caller, "credentials", keys.credentials_of(caller.tenant_id), query)


def revoke(caller: Principal, actor: Actor, client_id: str) -> dict[str, Any]:
    """Revoke a credential of the subtree; its tokens stop working within the status cache's
    60 s. Revoking the credential making the request is refused (it would lock the caller out)."""
    item = credentials.find(client_id)
    if (
        item is None
        or item.get("tenantId") != caller.tenant_id
        or not caller.sees_partner(item.get("partnerPath", []))
    ):
        raise CredentialNotFound()
    if client_id == caller.client_id:
        raise Forbidden("A credential cannot revoke itself; use another credential.")
    if item["status"] == "revoked":
        return item
    now = now_iso()
    try:
        transact(
            [
                credentials.revoke_put(item, now),
                event_put(
                    tenant_id=caller.tenant_id,
                    event_type="credential.revoked",
                    partner_id=item["partnerId"],
                    partner_path=item["partnerPath"],
                    actor=actor,
                    resource_type="credential",
                    resource_id=client_id,
                    changes={"status": {"from": "active", "to": "revoked"}},
                    occurred_at=now,
                ),
            ]
        )
    except TransactionConflict:
        return credentials.find(client_id) or item  # revoked meanwhile: the same answer
    return {**item, "status": "revoked", "revokedAt": now}
