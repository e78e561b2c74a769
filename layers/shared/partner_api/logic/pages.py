"""A page of results as every list returns it."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from partner_api.auth.principal import Principal
from partner_api.config import settings
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
    companions: list[dict[str, Any]] = field(default_factory=list)  # items read alongside

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


def replace_items(page: Page, items: list[dict[str, Any]]) -> Page:
    """The same page holding ``items`` (say, records stripped of their keys)."""
    return dataclasses.replace(page, items=items)


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


def subtree_list_page(
    caller: Principal,
    kind: str,
    partition: str,
    query: ListQuery,
    extra: tuple[list[str], dict[str, str], dict[str, Any]] = ([], {}, {}),
    companion: Callable[[dict[str, Any]], dict[str, str]] | None = None,
) -> Page:
    """A page of the tenants table's ``ListIndex`` partition ``partition`` (credentials, webhooks...),
    limited to the caller's subtree and ``extra`` filter clauses; whole items, oldest first.
    ``companion`` names one more item per entry to read in the same call (``Page.companions``)."""
    clauses, names, values = list(extra[0]), dict(extra[1]), dict(extra[2])
    path_clauses, path_names, path_values = pages.subtree_filter(caller.partner_path)
    clauses += path_clauses
    names |= path_names
    values |= path_values
    spec = pages.IndexQuery(
        table=settings().tenants_table,
        index="ListIndex",
        partition_attr="listPK",
        partition_value=partition,
        key_attrs=("PK", "SK", "listPK", "listSK"),
        filter_expression=" AND ".join(clauses) or None,
        filter_names=names,
        filter_values=values,
        scope="|".join([kind, caller.tenant_id, *caller.partner_path]),
    )
    found = pages.read_keys(spec, limit=query.limit, offset=query.offset, cursor=query.cursor)
    items, companions = pages.fetch_items(settings().tenants_table, found.keys, companion)
    return Page(
        items,
        query.limit,
        0 if query.cursor else query.offset,
        pages.count(spec),
        found.has_more,
        found.next_cursor,
        companions,
    )
