"""Offset and cursor paging over a keys-only (or slim) index.

A page reads the index for ``limit + 1`` matching keys (plus the ``offset`` keys it skips,
which are index entries, never full items); callers then fetch the page's full items in one
``BatchGetItem``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from partner_api.errors import FieldIssue, InvalidInput
from partner_api.store import cursors
from partner_api.store.dynamo import query
from partner_api.store.items import from_item


@dataclass(frozen=True)
class IndexQuery:
    """Where to page: a table's index, one partition of it, and an optional filter."""

    table: str
    index: str | None  # None: the table itself
    partition_attr: str
    partition_value: str
    key_attrs: tuple[str, ...]  # the attributes that make up LastEvaluatedKey
    filter_expression: str | None = None
    filter_names: dict[str, str] = field(default_factory=dict)
    filter_values: dict[str, Any] = field(default_factory=dict)
    scope: str = ""  # what a cursor is bound to (tenant, index, filters)
    forward: bool = True
    sort_condition: str | None = None  # e.g. "begins_with(#sk, :prefix)"; names/values in filter_*

    def key_condition(self) -> str:
        return "#pk = :pk" + (f" AND {self.sort_condition}" if self.sort_condition else "")


@dataclass(frozen=True)
class KeyPage:
    keys: list[dict[str, Any]]
    has_more: bool
    next_cursor: str | None


def read_keys(spec: IndexQuery, *, limit: int, offset: int, cursor: str | None) -> KeyPage:
    """The index entries of one page, in index order."""
    start: dict[str, Any] | None = None
    skip = offset
    if cursor:
        start = cursors.decode(cursor, spec.scope)
        skip = 0
        if start.get(spec.partition_attr) != {"S": spec.partition_value}:
            # Only reachable if two scopes collide; refuse rather than read another partition.
            raise InvalidInput(details=[FieldIssue("cursor", "invalid or foreign cursor")])
    wanted = skip + limit + 1
    matched: list[dict[str, Any]] = []
    names = {"#pk": spec.partition_attr, **spec.filter_names}
    values = {":pk": spec.partition_value, **spec.filter_values}
    while len(matched) < wanted:
        response = query(
            spec.table,
            index=spec.index,
            key_condition=spec.key_condition(),
            names=names,
            values=values,
            limit=wanted - len(matched) if not spec.filter_expression else max(wanted, 50),
            start_key=start,
            filter_expression=spec.filter_expression,
            forward=spec.forward,
        )
        matched.extend(response.get("Items", []))
        start = response.get("LastEvaluatedKey")
        if not start:
            break
    page = matched[skip : skip + limit]
    has_more = len(matched) > skip + limit
    next_cursor = None
    if has_more and page:
        last = page[-1]
        next_cursor = cursors.encode({a: last[a] for a in spec.key_attrs}, spec.scope)
    return KeyPage([from_item(k) for k in page], has_more, next_cursor)


def count(spec: IndexQuery) -> int:
    """Count matching index entries (used only when a filter has no counter, such as ``q``)."""
    total = 0
    start: dict[str, Any] | None = None
    while True:
        response = query(
            spec.table,
            index=spec.index,
            key_condition=spec.key_condition(),
            names={"#pk": spec.partition_attr, **spec.filter_names},
            values={":pk": spec.partition_value, **spec.filter_values},
            limit=0,
            start_key=start,
            filter_expression=spec.filter_expression,
            forward=spec.forward,
            select_count=True,
        )
        total += int(response.get("Count", 0))
        start = response.get("LastEvaluatedKey")
        if not start:
            return total


def fetch_items(
    table: str,
    index_entries: list[dict[str, Any]],
    companion: Callable[[dict[str, Any]], dict[str, str]] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The whole items behind a page of index entries, in the page's order, and the items found
    at ``companion(entry)`` keys (say, each account's seat item), all in one BatchGetItem per
    100 keys; an entry whose item vanished in between is skipped, not invented."""
    from partner_api.store.dynamo import batch_get

    wanted = [{"PK": e["PK"], "SK": e["SK"]} for e in index_entries]
    extra = [companion(e) for e in index_entries] if companion else []
    found = batch_get({table: wanted + extra})[table]
    by_key = {(i["PK"], i["SK"]): i for i in found}
    items = [by_key[(e["PK"], e["SK"])] for e in index_entries if (e["PK"], e["SK"]) in by_key]
    companions = [by_key[(k["PK"], k["SK"])] for k in extra if (k["PK"], k["SK"]) in by_key]
    return items, companions


def subtree_filter(
    partner_path: tuple[str, ...] | list[str],
) -> tuple[list[str], dict[str, str], dict[str, Any]]:
    """Filter clauses keeping items whose ``ownerPath`` lies in this partner's subtree (none for a
    root partner, which sees its whole tenant)."""
    if len(partner_path) <= 1:
        return [], {}, {}
    return ["begins_with(#path, :path)"], {"#path": "ownerPath"}, {":path": "/".join(partner_path) + "/"}
