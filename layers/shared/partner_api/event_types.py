"""The audit event types (API.md section 8); webhooks subscribe to a subset."""

EVENT_TYPES = (
    "client.registered",
    "client.updated",
    "client.removed",
    "client.restored",
    "partner.created",
    "partner.updated",
    "partner.removed",
    "account.created",
    "account.updated",
    "credential.created",
    "credential.revoked",
    "webhook.created",
    "webhook.deleted",
    "directory.created",
    "directory.token_rotated",
    "directory.deleted",
)
