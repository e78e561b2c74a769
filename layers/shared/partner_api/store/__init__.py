"""Data access: DynamoDB items, keys and transactions. Knows nothing of HTTP."""
