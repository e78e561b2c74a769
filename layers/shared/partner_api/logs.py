"""The layer's Powertools logger, and the correlation id its lines carry."""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger(service="partner-api")


def correlate(value: str | None) -> None:
    """Tag this thread's log lines with ``value`` (``None``: no correlation id).

    Per thread, not per process: in Lambda a container runs one request at a time, but the local
    runner and the tests run several containers' requests on threads of one process."""
    if value is None:
        logger.thread_safe_remove_keys(["correlation_id"])
    else:
        logger.thread_safe_append_keys(correlation_id=value)
