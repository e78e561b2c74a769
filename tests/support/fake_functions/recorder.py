"""A handler file loaded by path, as ``make run`` loads a function: records its events."""

from typing import Any

EVENTS: list[tuple[dict[str, Any], str]] = []


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    EVENTS.append((event, context.function_name))
    return {"batchItemFailures": []}
