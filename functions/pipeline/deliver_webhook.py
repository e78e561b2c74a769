"""Sign and POST one event to one webhook; retries by message visibility."""

from partner_api.triggers import webhook_delivery

handler = webhook_delivery
