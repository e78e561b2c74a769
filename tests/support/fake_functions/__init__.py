"""Stand-ins for the template's functions, for tests of the local triggers.

``FakeFunctions.invoke`` has the signature ``local.triggers.Triggers`` expects; ``recorder.py``
is a handler file for tests that load a function the way ``make run`` does.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable
from typing import Any

Behaviour = Callable[[dict[str, Any], int], Any]  # (event, how many calls before this one) -> result


class FakeFunctions:
    """Records every event per function logical id and answers as each function is told to."""

    def __init__(self) -> None:
        self.calls: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.behaviour: dict[str, Behaviour] = {}

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        earlier = len(self.calls[logical_id])
        self.calls[logical_id].append(copy.deepcopy(event))
        behaviour = self.behaviour.get(logical_id)
        return behaviour(event, earlier) if behaviour else None


def item_failures(identifiers: list[str]) -> dict[str, Any]:
    """A ``ReportBatchItemFailures`` response."""
    return {"batchItemFailures": [{"itemIdentifier": i} for i in identifiers]}


def always_raise(_event: dict[str, Any], _earlier: int) -> Any:
    raise RuntimeError("the fake function failed")
