"""Queries in key order, as DynamoDB runs them.

DynamoDB finds a Query's partition by its hash key and its first item in the sorted range keys,
so a page costs what it returns whatever the table's size. moto 5.2.5 sorts every item of the
table on each Query (and for an index also compares each item's attributes), so a list page
at 20,000 clients cost seconds. Here each table, and each secondary index with a one-attribute
hash key and at most one range key, keeps every partition's entries sorted; writes keep them
current and a Query bisects to its first item. Anything else (the legacy ``KeyConditions`` with
non-key filters, multi-attribute index keys) still goes through moto's own ``Table.query``.

A page that holds ``Limit`` items has a ``LastEvaluatedKey``, as from DynamoDB, even when no
item follows (moto looks ahead for one); and an index page ends at 1 MB of the index's entries,
as DynamoDB's does, not at 1 MB of the whole items behind them as moto's did.

Entries are ``(index range value, table hash value, table range value)``: DynamoDB leaves the order
of index entries with equal keys unspecified; the table key breaks the tie so that an
``ExclusiveStartKey`` names one position.
"""

from __future__ import annotations

import copy
from bisect import bisect_left, bisect_right, insort
from decimal import Decimal
from typing import Any

from moto.dynamodb.exceptions import MockValidationException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, Table

_ATTRIBUTE = "_local_key_order"
MOTO_QUERY = Table.query  # moto's own, for what the key order does not cover (and for tests)
Entry = tuple[Any, Any, Any]
_NO_VALUE = ""  # the range part of an entry whose index or table has no range key


def apply() -> None:
    """Keep key order through every write, and answer Queries from it."""
    original_query = MOTO_QUERY
    original_put, original_delete = Table.put_item, Table.delete_item
    original_update = DynamoDBBackend.update_item

    def query(self: Table, *args: Any, **kwargs: Any) -> Any:
        answered = _query(self, *args, **kwargs)
        return original_query(self, *args, **kwargs) if answered is None else answered

    def put_item(self: Table, *args: Any, **kwargs: Any) -> Item:
        item = original_put(self, *args, **kwargs)
        refresh(self, item.hash_key, item.range_key)
        return item

    def delete_item(self: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Item | None:
        removed = original_delete(self, hash_key, range_key)
        refresh(self, hash_key, range_key)
        return removed

    def update_item(
        self: DynamoDBBackend, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any
    ) -> Any:
        try:
            return original_update(self, table_name, key, *args, **kwargs)
        finally:  # an update changes its item in place, also when it fails half-way
            table = self.get_table(table_name)
            if table.hash_key_attr in key and (table.range_key_attr is None or table.range_key_attr in key):
                refresh(table, *self.get_keys_value(table, key))

    Table.query = query  # type: ignore[method-assign]
    Table.put_item = put_item  # type: ignore[method-assign]
    Table.delete_item = delete_item  # type: ignore[method-assign]
    DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]
    for name in ("execute_statement", "execute_transaction", "batch_execute_statement"):
        setattr(DynamoDBBackend, name, _forgetting_order(getattr(DynamoDBBackend, name)))


def refresh(table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> None:
    """Bring the key order up to date with what the table holds now under this key."""
    order = getattr(table, _ATTRIBUTE, None)
    if order is not None:
        order.refresh(hash_key, range_key)


def _forgetting_order(operation: Any) -> Any:
    """PartiQL writes change items without the hooks above: rebuild the order on the next Query."""

    def run(self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Any:
        try:
            return operation(self, *args, **kwargs)
        finally:
            for table in self.tables.values():
                table.__dict__.pop(_ATTRIBUTE, None)

    return run


def _sortable(value: DynamoType) -> Any:
    """A key value as Python orders it the way DynamoDB does: numbers by value, strings by code
    point (the same order as UTF-8 bytes), binary by bytes."""
    if value.type == "N":
        return Decimal(value.value)
    return value.value


def _item_key(hash_key: DynamoType, range_key: DynamoType | None) -> tuple[Any, Any]:
    return _sortable(hash_key), _sortable(range_key) if range_key is not None else _NO_VALUE


class KeyOrder:
    """Per table: for the table and each simple secondary index, every partition's entries sorted."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.layouts: dict[str | None, tuple[str, str | None]] = {
            None: (table.hash_key_attr, table.range_key_attr)
        }
        for index in table.all_indexes():
            hashes = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"]
            ranges = [k["AttributeName"] for k in index.schema if k["KeyType"] == "RANGE"]
            if len(hashes) == 1 and len(ranges) <= 1:
                self.layouts[index.name] = (hashes[0], ranges[0] if ranges else None)
        self.partitions: dict[str | None, dict[Any, list[Entry]]] = {name: {} for name in self.layouts}
        self.placed: dict[tuple[Any, Any], list[tuple[str | None, Any, Entry]]] = {}
        self.items: dict[tuple[Any, Any], Item] = {}
        for partition in table.items.values():  # once per table, on its first Query
            for item in partition.values() if table.range_key_attr else [partition]:
                self._place(item)

    @classmethod
    def of(cls, table: Table) -> KeyOrder:
        order: KeyOrder | None = table.__dict__.get(_ATTRIBUTE)
        if order is None:
            order = cls(table)
            setattr(table, _ATTRIBUTE, order)
        return order

    def refresh(self, hash_key: DynamoType, range_key: DynamoType | None) -> None:
        key = _item_key(hash_key, range_key)
        for name, partition_key, entry in self.placed.pop(key, []):
            partition = self.partitions[name][partition_key]
            at = bisect_left(partition, entry)
            if at < len(partition) and partition[at] == entry:
                del partition[at]
            if not partition:
                del self.partitions[name][partition_key]
        self.items.pop(key, None)
        item = self.table.get_item(hash_key, range_key)
        if item is not None:
            self._place(item)

    def _place(self, item: Item) -> None:
        key = _item_key(item.hash_key, item.range_key)
        placed = []
        for name, (hash_attr, range_attr) in self.layouts.items():
            hash_value = item.attrs.get(hash_attr)
            range_value = item.attrs.get(range_attr) if range_attr else None
            if hash_value is None or (range_attr and range_value is None):
                continue  # an index holds only the items that have its key attributes
            partition_key = _sortable(hash_value)
            entry = (_sortable(range_value) if range_value is not None else _NO_VALUE, *key)
            insort(self.partitions[name].setdefault(partition_key, []), entry)
            placed.append((name, partition_key, entry))
        self.placed[key] = placed
        self.items[key] = item


def _query(
    table: Table,
    hash_key: DynamoType | None,
    range_comparison: str | None,
    range_objs: list[DynamoType],
    limit: int | None,
    exclusive_start_key: dict[str, Any] | None,
    scan_index_forward: bool,
    projection_expressions: list[list[str]] | None,
    index_name: str | None = None,
    consistent_read: bool = False,
    filter_expression: Any = None,
    hash_key_conditions: list[tuple[str, DynamoType]] | None = None,
    range_key_conditions: list[tuple[str, str, list[DynamoType]]] | None = None,
    **filter_kwargs: Any,
) -> tuple[list[Item], int, dict[str, Any] | None] | None:
    """moto's ``Table.query`` answered from the key order; ``None`` when the shape is not covered."""
    order = KeyOrder.of(table)
    layout = order.layouts.get(index_name)
    if (
        filter_kwargs
        or layout is None
        or len(hash_key_conditions or []) > 1
        or len(range_key_conditions or []) > 1
    ):
        return None
    hash_attr, range_attr = layout
    if hash_key_conditions:
        attribute, hash_key = hash_key_conditions[0]
        if attribute != hash_attr:
            return None
    if hash_key is None or (range_comparison and not range_attr):
        return None
    index = table.get_index(index_name) if index_name else None
    if index is not None and consistent_read and index in (table.global_indexes or []):
        raise MockValidationException("Consistent reads are not supported on global secondary indexes")

    partition = order.partitions[index_name].get(_sortable(hash_key), [])
    low, high = _range_bounds(partition, range_comparison, range_objs)
    if exclusive_start_key:
        start = _entry_of(table, range_attr, exclusive_start_key)
        if scan_index_forward:
            low = max(low, bisect_right(partition, start))
        else:
            high = min(high, bisect_left(partition, start))
    positions = range(low, high) if scan_index_forward else range(high - 1, low - 1, -1)

    results: list[Item] = []
    size = 0
    last_evaluated_key = None
    for position in positions:
        item = order.items[partition[position][1:]]
        if range_comparison and not item.attrs[range_attr].compare(range_comparison, range_objs):  # type: ignore[index]
            continue  # the bounds narrow the search; the comparison itself decides
        read = _copied(item, index)  # what the index holds: its 1 MB page counts these bytes
        read_size = read.size()
        if results and size + read_size > RESULT_SIZE_LIMIT:  # DynamoDB's 1 MB page
            last_evaluated_key = table._get_last_evaluated_key(results[-1], index_name)
            break
        results.append(read)
        size += read_size
        if len(results) == limit:  # DynamoDB stops here, without looking for a next item
            last_evaluated_key = table._get_last_evaluated_key(read, index_name)
            break
    scanned = len(results)
    if filter_expression is not None:
        results = [r for r in results if filter_expression.expr(r)]
    if projection_expressions:
        results = [r.project(projection_expressions) for r in results]
    return results, scanned, last_evaluated_key


def _copied(item: Item, index: Any) -> Item:
    """A copy of ``item`` as the index holds it: only the attributes its projection keeps.
    (moto's ``SecondaryIndex.project`` gets there through a JSON round trip of the whole item.)"""
    projection = (index.projection if index is not None else None) or {}
    kind = projection.get("ProjectionType", "ALL")
    if kind not in ("KEYS_ONLY", "INCLUDE"):
        return copy.deepcopy(item)
    kept = [*index.table_key_attrs, *index.schema_key_attrs]
    if kind == "INCLUDE":
        kept += projection.get("NonKeyAttributes") or []
    projected = Item.__new__(Item)
    projected.hash_key, projected.range_key = item.hash_key, item.range_key
    projected.attrs = LimitedSizeDict(
        {name: copy.deepcopy(item.attrs[name]) for name in kept if name in item.attrs}
    )
    return projected


def _entry_of(table: Table, range_attr: str | None, key: dict[str, Any]) -> Entry:
    """The entry an ``ExclusiveStartKey`` names."""
    range_value = DynamoType(key[range_attr]) if range_attr and range_attr in key else None
    table_range = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    return (
        _sortable(range_value) if range_value is not None else _NO_VALUE,
        *_item_key(DynamoType(key[table.hash_key_attr]), table_range),
    )


def _range_bounds(
    partition: list[Entry], comparison: str | None, values: list[DynamoType]
) -> tuple[int, int]:
    """Positions ``[low, high)`` of the entries a range condition can match (a superset)."""
    low, high = 0, len(partition)
    if not comparison:
        return low, high
    bounds = [_sortable(v) for v in values]

    def first_at_least(value: Any) -> int:
        return bisect_left(partition, value, key=lambda entry: entry[0])

    def first_above(value: Any) -> int:
        return bisect_right(partition, value, key=lambda entry: entry[0])

    operator = comparison.upper()
    if operator in ("=", "EQ"):
        return first_at_least(bounds[0]), first_above(bounds[0])
    if operator in ("<", "LT"):
        return low, first_at_least(bounds[0])
    if operator in ("<=", "LE"):
        return low, first_above(bounds[0])
    if operator in (">", "GT"):
        return first_above(bounds[0]), high
    if operator in (">=", "GE"):
        return first_at_least(bounds[0]), high
    if operator == "BETWEEN":
        return first_at_least(bounds[0]), first_above(bounds[1])
    if operator == "BEGINS_WITH" and isinstance(bounds[0], str):
        prefix = bounds[0]
        start = first_at_least(prefix)
        # Cutting every value to the prefix's length keeps their order, so bisection still works.
        end = bisect_right(partition, prefix, lo=start, key=lambda entry: str(entry[0])[: len(prefix)])
        return start, end
    return low, high
