"""Issuing credentials outside a tenant: the operator's."""

from __future__ import annotations

from partner_api.auth.principal import OPERATOR_SCOPES
from partner_api.auth.secrets import hash_secret, new_secret
from partner_api.ids import new_id, now_iso
from partner_api.store import credentials
from partner_api.store.dynamo import transact


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
