"""Business rules. Speaks in domain errors and records; knows nothing of HTTP."""
