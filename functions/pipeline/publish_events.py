"""Events table stream -> EventBridge bus (the outbox relay)."""

from partner_api.triggers import outbox_relay

handler = outbox_relay
