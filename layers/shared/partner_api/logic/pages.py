"""A page of results as every list returns it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    limit: int
    offset: int
    total: int
    has_more: bool
    next_cursor: str | None

    def pagination(self) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "limit": self.limit,
            "offset": self.offset,
            "total": self.total,
            "hasMore": self.has_more,
        }
        if self.next_cursor:
            shown["nextCursor"] = self.next_cursor
        return shown
