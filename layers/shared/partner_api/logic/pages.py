"""A page of results as every list returns it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from partner_api.models.common import ListQuery
from partner_api.store import pages


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


def read_page(spec: pages.IndexQuery, query: ListQuery) -> Page:
    """A page of whole items straight from ``spec`` (a table or full index), ``total`` counted."""
    found = pages.read_keys(spec, limit=query.limit, offset=query.offset, cursor=query.cursor)
    return Page(
        found.keys,
        query.limit,
        0 if query.cursor else query.offset,
        pages.count(spec),
        found.has_more,
        found.next_cursor,
    )
