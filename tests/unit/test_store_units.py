"""Store building blocks: the attribute codec, counter moves, and list cursors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from local.stack import Stack
from partner_api.config import settings
from partner_api.errors import InvalidInput
from partner_api.store import cursors, partners
from partner_api.store.dynamo import transact
from partner_api.store.items import from_attr, from_item, to_attr, to_item

# --- items: plain values <-> attribute values --------------------------------------------------------


def test_an_item_round_trips_through_attribute_form():
    # Given a record with every kind of value the API stores
    record = {
        "PK": "TENANT#t",
        "name": "Jane Roe",
        "version": 3,
        "zero": 0,
        "negative": -7,
        "active": True,
        "deleted": False,
        "roles": ["MANAGER", "ACCOUNT_ADMIN"],
        "path": ("root", "child"),
        "metadata": {"crm_id": "42", "nested": {"deep": [1, {"x": None}]}},
        "empty": "",
        "emptyList": [],
        "emptyMap": {},
    }

    # When it is encoded and decoded
    item = to_item(record)
    back = from_item(item)

    # Then everything comes back as it was (tuples as lists), with exact types
    assert back == {**record, "path": ["root", "child"]}
    assert type(back["version"]) is int and type(back["active"]) is bool
    assert item["version"] == {"N": "3"} and item["active"] == {"BOOL": True}
    assert item["metadata"]["M"]["nested"]["M"]["deep"]["L"][1] == {"M": {"x": {"NULL": True}}}


def test_to_item_leaves_out_unset_top_level_fields():
    assert to_item({"PK": "p", "title": None, "phone": None}) == {"PK": {"S": "p"}}


def test_booleans_are_not_numbers():
    assert to_attr(True) == {"BOOL": True}
    assert to_attr(1) == {"N": "1"}
    assert from_attr({"BOOL": False}) is False


def test_numbers_with_a_fraction_decode_as_floats_and_sets_as_sets():
    assert from_attr({"N": "2.5"}) == 2.5
    assert from_attr({"N": "10"}) == 10
    assert from_attr({"SS": ["a", "b"]}) == {"a", "b"}


@pytest.mark.parametrize("value", [1.5, b"bytes", object()])
def test_unsupported_values_are_refused_not_coerced(value: Any):
    with pytest.raises(TypeError):
        to_attr(value)


def test_unsupported_attribute_types_are_refused():
    with pytest.raises(TypeError):
        from_attr({"B": b"x"})


# --- partners.counts_change ------------------------------------------------------------------------


@pytest.fixture
def tenants_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name, value in {"TENANTS_TABLE": "tenants", "USERS_TABLE": "users", "EVENTS_TABLE": "events"}.items():
        monkeypatch.setenv(name, value)
    settings.cache_clear()
    yield "tenants"
    settings.cache_clear()


def moves(operations: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per counter item (its SK), the attribute -> delta each ``ADD`` update applies."""
    found: dict[str, dict[str, int]] = {}
    for op in operations:
        update = op["Update"]
        assert set(op) == {"Update"} and update["TableName"] == "tenants"
        sk = update["Key"]["SK"]["S"]
        assert sk not in found, f"{sk} updated twice in one transaction"
        names, values = update["ExpressionAttributeNames"], update["ExpressionAttributeValues"]
        clauses = update["UpdateExpression"].removeprefix("ADD ").split(", ")
        assert update["UpdateExpression"].startswith("ADD ")
        found[sk] = {names[n]: int(values[v]["N"]) for n, v in (c.split(" ") for c in clauses)}
    return found


def test_counts_change_moves_own_and_tree_counters_up_the_path(tenants_table: str):
    operations = partners.counts_change("root", [(["root", "a", "b"], "active", 1)])
    assert moves(operations) == {
        "COUNTS#root": {"tree_active": 1},
        "COUNTS#a": {"tree_active": 1},
        "COUNTS#b": {"tree_active": 1, "own_active": 1},
    }
    assert {op["Update"]["Key"]["PK"]["S"] for op in operations} == {"TENANT#root"}


def test_counts_change_merges_moves_on_shared_ancestors_into_one_update_each(tenants_table: str):
    # Given a client moving from root>a>b (active) to root>a>c (suspended)
    changes = [(["root", "a", "b"], "active", -1), (["root", "a", "c"], "suspended", 1)]

    # When the counter moves are built
    operations = partners.counts_change("root", changes)

    # Then each partner is updated once, the shared ancestors carrying both moves
    assert len(operations) == 4
    assert moves(operations) == {
        "COUNTS#root": {"tree_active": -1, "tree_suspended": 1},
        "COUNTS#a": {"tree_active": -1, "tree_suspended": 1},
        "COUNTS#b": {"tree_active": -1, "own_active": -1},
        "COUNTS#c": {"tree_suspended": 1, "own_suspended": 1},
    }


def test_counts_change_drops_moves_that_cancel_out(tenants_table: str):
    # A client moving within the same partner and status changes no counter.
    assert partners.counts_change("root", [(["root", "a"], "active", -1), (["root", "a"], "active", 1)]) == []
    # A status change at a sub-partner leaves the ancestors' totals for other statuses alone.
    operations = partners.counts_change(
        "root", [(["root", "a"], "active", -1), (["root", "a"], "inactive", 1)]
    )
    assert moves(operations) == {
        "COUNTS#root": {"tree_active": -1, "tree_inactive": 1},
        "COUNTS#a": {"tree_active": -1, "tree_inactive": 1, "own_active": -1, "own_inactive": 1},
    }


def test_counts_change_applies_in_one_dynamodb_transaction(stack: Stack):
    # Given zeroed counters for root > a > (b, c), in the template's tenants table
    table = stack.physical_ids["TenantsTable"]
    paths = (["root"], ["root", "a"], ["root", "a", "b"], ["root", "a", "c"])
    transact([partners.counts_put("root", path) for path in paths])
    transact(partners.counts_change("root", [(["root", "a", "b"], "active", 1)]))

    # When a client moves from b (active) to c (suspended)
    transact(
        partners.counts_change(
            "root", [(["root", "a", "b"], "active", -1), (["root", "a", "c"], "suspended", 1)]
        )
    )

    # Then DynamoDB accepted the merged updates, and every counter is where it should be
    ddb = boto3.client("dynamodb", region_name="us-east-1")

    def counters(partner_id: str) -> dict[str, int]:
        item = ddb.get_item(
            TableName=table, Key={"PK": {"S": "TENANT#root"}, "SK": {"S": f"COUNTS#{partner_id}"}}
        )
        return {
            k: int(v["N"])
            for k, v in item["Item"].items()
            if k.startswith(("own_", "tree_")) and v["N"] != "0"
        }

    assert counters("root") == {"tree_suspended": 1}
    assert counters("a") == {"tree_suspended": 1}
    assert counters("b") == {}
    assert counters("c") == {"own_suspended": 1, "tree_suspended": 1}


# --- cursors ---------------------------------------------------------------------------------------

POSITION = {
    "PK": {"S": "TENANT#t"},
    "SK": {"S": "CLIENT#c"},
    "livePK": {"S": "TENANT#t"},
    "listSK": {"S": "x#c"},
}
SCOPE = "clients|t|LiveIndex|TENANT#t"


def invalid_cursor(cursor: str, scope: str = SCOPE) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        cursors.decode(cursor, scope)
    return caught.value


def test_a_cursor_round_trips_and_is_opaque(stack: Stack):
    cursor = cursors.encode(POSITION, SCOPE)
    assert cursors.decode(cursor, SCOPE) == POSITION
    assert re.match(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$", cursor)
    assert "TENANT#t" not in cursor


def test_a_tampered_cursor_is_rejected(stack: Stack):
    # Given a valid cursor, and one whose position was edited (re-encoded, the MAC kept)
    cursor = cursors.encode(POSITION, SCOPE)
    body, mac = cursor.split(".")
    flipped = mac[:-3] + ("B" if mac[-3] != "B" else "C") + mac[-2:]
    edited = cursors.encode({**POSITION, "SK": {"S": "CLIENT#other"}}, SCOPE).split(".")[0]

    # Then edits to either half, or a wrong shape, fail as INVALID_PARAMETER on the cursor field
    for bad in (f"{edited}.{mac}", f"{body}.{flipped}", f"{body}.", f"{body}{mac}", f"{cursor}.x", "", "é.é"):
        error = invalid_cursor(bad)
        assert error.code == "INVALID_PARAMETER"
        assert [(d.field, d.issue) for d in error.details] == [("cursor", "invalid or foreign cursor")]


def test_a_cursor_from_another_query_or_tenant_is_rejected(stack: Stack):
    cursor = cursors.encode(POSITION, SCOPE)
    invalid_cursor(cursor, "clients|other-tenant|LiveIndex|TENANT#other-tenant")
    invalid_cursor(cursor, SCOPE + "|:q=doe")


def test_a_cursor_made_with_another_secret_is_rejected(stack: Stack):
    # Given a cursor, then a new cursor secret (another deployment, or a rotation)
    cursor = cursors.encode(POSITION, SCOPE)
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    secrets.put_secret_value(SecretId=stack.physical_ids["CursorSecret"], SecretString="a different secret")
    cursors.forget_key()

    # Then the old cursor no longer verifies, and new ones do
    invalid_cursor(cursor)
    assert cursors.decode(cursors.encode(POSITION, SCOPE), SCOPE) == POSITION
