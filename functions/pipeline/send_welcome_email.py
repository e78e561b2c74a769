"""Bus events (via SQS) asking for a partner contact's welcome email -> one SES email each."""

from partner_api.triggers import welcome_emails

handler = welcome_emails
