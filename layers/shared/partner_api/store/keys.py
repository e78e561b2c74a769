"""Every DynamoDB key the API uses, in one place.

Tenant data leads with ``TENANT#<rootPartnerId>`` so one tenant's key can never reach
another tenant's items. Credentials are the one exception: the token endpoint knows only a
client id, so the credential is found by ``CREDENTIAL#<clientId>`` and carries its tenant.
"""

from __future__ import annotations


def tenant(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}"


def partner(partner_id: str) -> str:
    return f"PARTNER#{partner_id}"


def counts(partner_id: str) -> str:
    return f"COUNTS#{partner_id}"


def reference(reference_lower: str) -> str:
    return f"REFERENCE#{reference_lower}"


def client(client_id: str) -> str:
    return f"CLIENT#{client_id}"


def email(email_lower: str) -> str:
    return f"EMAIL#{email_lower}"


def account(account_id: str) -> str:
    return f"ACCOUNT#{account_id}"


def account_name(name_lower: str) -> str:
    return f"ACCOUNTNAME#{name_lower}"


def seats(account_id: str) -> str:
    return f"SEATS#{account_id}"


def accounts_of(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#ACCOUNTS"


def credential(client_id: str) -> str:
    return f"CREDENTIAL#{client_id}"


CREDENTIAL_SK = "CREDENTIAL"
ROOT_PARTNERS = "ROOT_PARTNERS"


def directory(directory_id: str) -> str:
    return f"DIRECTORY#{directory_id}"


def directories_of(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#DIRECTORIES"


def directory_token(token_hash: str) -> str:
    """A directory token is found by its hash alone (a SCIM request names no tenant), like a
    credential by its client id."""
    return f"SCIMTOKEN#{token_hash}"


DIRECTORY_TOKEN_SK = "SCIMTOKEN"


def children_of(tenant_id: str, parent_id: str) -> str:
    return f"TENANT#{tenant_id}#CHILDREN#{parent_id}"


def credentials_of(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#CREDENTIALS"


def event(event_id: str) -> str:
    return f"EVENT#{event_id}"


def resource(tenant_id: str, resource_id: str) -> str:
    return f"TENANT#{tenant_id}#RESOURCE#{resource_id}"


def webhook(webhook_id: str) -> str:
    return f"WEBHOOK#{webhook_id}"


def webhooks_of(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}#WEBHOOKS"


def delivery(webhook_id: str, event_id: str) -> str:
    """Deliveries of a webhook sort by event id, which sorts by time."""
    return f"DELIVERY#{webhook_id}#{event_id}"


def by_status(tenant_id: str, status: str) -> str:
    return f"TENANT#{tenant_id}#STATUS#{status}"


def created_order(created_at: str, item_id: str) -> str:
    """Sort key for lists: oldest first by creation time, ties by id."""
    return f"{created_at}#{item_id}"
