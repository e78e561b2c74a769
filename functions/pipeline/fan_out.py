"""Bus events (via SQS) -> one delivery message per matching webhook."""

from partner_api.triggers import webhook_fan_out

handler = webhook_fan_out
