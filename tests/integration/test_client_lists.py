"""GET /partner/v1/clients: pagination (API.md section 1) and the list filters (section 4)."""

from __future__ import annotations

import types
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Tenant
from tests.support.apigw import Api
from tests.support.clients import (
    CLIENTS,
    Stored,
    assert_error,
    assert_success,
    patch,
    register,
    remove,
)

LISTED = "Clients retrieved successfully."


@pytest.fixture
def stored(stack: Any) -> Stored:
    return Stored(stack)


def seed(api: Api, tenant: Tenant, count: int, prefix: str = "c") -> list[dict[str, Any]]:
    """Register ``count`` clients through the API; returns them in list order (oldest first, then id).

    moto backs up every table a transaction touches with a deep copy, which makes N registrations
    cost O(N^2). No registration here may fail (each is asserted 201), so the backups are skipped
    while seeding; every other request in these tests runs with moto's normal rollback.
    """
    import moto.dynamodb.models as moto_dynamodb

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(moto_dynamodb, "copy", types.SimpleNamespace(deepcopy=lambda value: value))
        made = [
            register(api, tenant, f"{prefix}{i:03d}@example.com", name=f"Client {prefix}{i:03d}")
            for i in range(count)
        ]
    return sorted(made, key=lambda c: (c["registeredAt"], c["clientId"]))


def page(api: Api, tenant: Tenant, **query: Any) -> dict[str, Any]:
    reply = api.call("GET", CLIENTS, token=tenant.token, query={k: str(v) for k, v in query.items()})
    data = assert_success(reply, 200, LISTED)
    assert set(data) == {"clients", "pagination"}
    pagination = data["pagination"]
    # nextCursor is present if and only if there is more
    assert ("nextCursor" in pagination) == pagination["hasMore"], pagination
    return data  # type: ignore[no-any-return]


def walk_by_cursor(api: Api, tenant: Tenant, limit: int, **filters: Any) -> Iterator[dict[str, Any]]:
    """Each page of a cursor walk, to the end."""
    cursor = None
    for _ in range(1000):
        query = {"limit": limit, **filters, **({"cursor": cursor} if cursor else {})}
        data = page(api, tenant, **query)
        yield data
        cursor = data["pagination"].get("nextCursor")
        if not cursor:
            return
    raise AssertionError("the cursor walk never ended")


def ids(clients: list[dict[str, Any]]) -> list[str]:
    return [c["clientId"] for c in clients]


# --------------------------------------------------------------------------- pagination


def test_the_default_page_is_the_oldest_20(api: Api, tenant: Tenant) -> None:
    # Given 25 clients
    made = seed(api, tenant, 25)

    # When the list is read without parameters
    data = page(api, tenant)

    # Then it holds the oldest 20, and says there is more
    assert ids(data["clients"]) == ids(made[:20])
    assert data["clients"][0] == made[0]
    pagination = data["pagination"]
    assert {k: v for k, v in pagination.items() if k != "nextCursor"} == {
        "limit": 20,
        "offset": 0,
        "total": 25,
        "hasMore": True,
    }
    assert pagination["nextCursor"]


def test_out_of_range_paging_parameters_are_invalid_parameter(
    api: Api, tenant: Tenant, subtests: pytest.Subtests
) -> None:
    # Given a tenant with a client
    seed(api, tenant, 1)
    for name, value in [
        ("limit", "0"),
        ("limit", "101"),
        ("limit", "abc"),
        ("limit", "-5"),
        ("limit", "2.5"),
        ("offset", "-1"),
        ("offset", "many"),
    ]:
        with subtests.test(f"{name}={value}"):
            # When a list asks for it
            reply = api.call("GET", CLIENTS, token=tenant.token, query={name: value})

            # Then it is refused, naming the parameter
            assert_error(reply, 400, "INVALID_PARAMETER", field=name)


def test_the_limit_bounds_are_accepted(api: Api, tenant: Tenant, subtests: pytest.Subtests) -> None:
    made = seed(api, tenant, 3)
    for limit, expected in [(1, made[:1]), (100, made)]:
        with subtests.test(f"limit={limit}"):
            data = page(api, tenant, limit=limit)

            assert ids(data["clients"]) == ids(expected)
            assert data["pagination"]["limit"] == limit


def test_walking_250_clients_visits_each_once_oldest_first(
    api: Api, tenant: Tenant, subtests: pytest.Subtests
) -> None:
    # Given 250 clients
    made = seed(api, tenant, 250)
    expected = ids(made)

    for limit in (100, 7):
        with subtests.test(f"cursor walk, limit {limit}"):
            # When they are walked by cursor
            pages = list(walk_by_cursor(api, tenant, limit))

            # Then each comes exactly once, oldest first, in full pages but the last
            assert [c for p in pages for c in ids(p["clients"])] == expected
            assert len(pages) == -(-250 // limit)
            assert all(len(p["clients"]) == limit for p in pages[:-1])
            # and every page reports the total and the limit; only the last says there is no more
            assert {p["pagination"]["total"] for p in pages} == {250}
            assert {p["pagination"]["limit"] for p in pages} == {limit}
            assert [p["pagination"]["hasMore"] for p in pages] == [True] * (len(pages) - 1) + [False]

    with subtests.test("offset walk, limit 60"):
        # When they are walked by offset
        pages = [page(api, tenant, limit=60, offset=offset) for offset in range(0, 250, 60)]

        # Then each comes exactly once, oldest first, and each page echoes its offset
        assert [c for p in pages for c in ids(p["clients"])] == expected
        assert [p["pagination"]["offset"] for p in pages] == [0, 60, 120, 180, 240]
        assert {p["pagination"]["total"] for p in pages} == {250}
        assert [p["pagination"]["hasMore"] for p in pages] == [True, True, True, True, False]

    with subtests.test("offset past the end"):
        data = page(api, tenant, limit=10, offset=250)

        assert data["clients"] == []
        assert data["pagination"]["hasMore"] is False
        assert data["pagination"]["total"] == 250


def test_a_cursor_wins_over_an_offset(api: Api, tenant: Tenant) -> None:
    # Given 6 clients and the cursor after the first 2
    made = seed(api, tenant, 6)
    cursor = page(api, tenant, limit=2)["pagination"]["nextCursor"]

    # When the next page is asked for with both the cursor and an offset
    data = page(api, tenant, limit=2, cursor=cursor, offset=3)

    # Then the offset is ignored
    assert ids(data["clients"]) == ids(made[2:4])


def test_clients_registered_in_the_same_millisecond_are_ordered_by_id(
    api: Api, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 6 clients registered at the very same instant
    monkeypatch.setattr("partner_api.logic.clients.now_iso", lambda: "2025-09-30T15:01:53.188Z")
    made = [register(api, tenant, f"tie{i}@example.com") for i in range(6)]
    assert {c["registeredAt"] for c in made} == {"2025-09-30T15:01:53.188Z"}

    # When they are listed whole and walked two at a time
    whole = page(api, tenant)
    walked = [c for p in walk_by_cursor(api, tenant, 2) for c in ids(p["clients"])]

    # Then both orders are by id
    assert ids(whole["clients"]) == sorted(ids(made))
    assert walked == sorted(ids(made))


def _flip(text: str, index: int) -> str:
    replacement = "A" if text[index] != "A" else "B"
    return text[:index] + replacement + text[index + 1 :]


def test_a_tampered_cursor_is_invalid_parameter(api: Api, tenant: Tenant, subtests: pytest.Subtests) -> None:
    # Given a genuine cursor
    seed(api, tenant, 5)
    cursor = page(api, tenant, limit=2)["pagination"]["nextCursor"]
    assert page(api, tenant, limit=2, cursor=cursor)["clients"]
    for case, bad in [
        ("first character flipped", _flip(cursor, 0)),
        ("middle character flipped", _flip(cursor, len(cursor) // 2)),
        ("a character of the signature flipped", _flip(cursor, len(cursor) - 10)),
        ("truncated", cursor[:-4]),
        ("extended", cursor + "AAAA"),
        ("not a cursor", "not-a-cursor"),
        ("another shape", "e30.e30"),
    ]:
        with subtests.test(case):
            # When a list is asked for with it
            reply = api.call("GET", CLIENTS, token=tenant.token, query={"limit": "2", "cursor": bad})

            # Then it is refused
            assert_error(reply, 400, "INVALID_PARAMETER", field="cursor")


def test_a_foreign_cursor_is_invalid_parameter(
    api: Api, tenant: Tenant, other_tenant: Tenant, subtests: pytest.Subtests
) -> None:
    # Given clients in two tenants, some of them suspended
    made = seed(api, tenant, 4)
    for client in made[:3]:
        assert patch(api, tenant, client["clientId"], {"status": "suspended"}).status == 200
    seed(api, other_tenant, 3, prefix="o")
    foreign = page(api, other_tenant, limit=1)["pagination"]["nextCursor"]
    live_cursor = page(api, tenant, limit=1)["pagination"]["nextCursor"]
    suspended_cursor = page(api, tenant, limit=1, status="suspended")["pagination"]["nextCursor"]
    q_cursor = page(api, tenant, limit=1, q="client")["pagination"]["nextCursor"]

    for case, query in [
        ("another tenant's cursor", {"cursor": foreign}),
        (
            "a cursor of the unfiltered list used with status=suspended",
            {"cursor": live_cursor, "status": "suspended"},
        ),
        (
            "a status=suspended cursor used with status=active",
            {"cursor": suspended_cursor, "status": "active"},
        ),
        ("a status=suspended cursor used without a filter", {"cursor": suspended_cursor}),
        ("a q=client cursor used with q=other", {"cursor": q_cursor, "q": "other"}),
    ]:
        with subtests.test(case):
            # When it is used where it does not belong
            reply = api.call("GET", CLIENTS, token=tenant.token, query={"limit": "1", **query})

            # Then it is refused
            assert_error(reply, 400, "INVALID_PARAMETER", field="cursor")


def test_a_cursor_walk_survives_creations_and_removals_between_pages(
    api: Api, tenant: Tenant, stored: Stored
) -> None:
    # Given 30 clients
    made = seed(api, tenant, 30)
    removed_before_visit: set[str] = set()
    visited: list[str] = []

    # When they are walked 7 at a time while, between pages, clients are removed (the page's last
    # one, which the cursor points at, some already seen and some not yet seen) and new ones added
    cursor = None
    for step in range(100):
        data = page(api, tenant, limit=7, **({"cursor": cursor} if cursor else {}))
        visited += ids(data["clients"])
        cursor = data["pagination"].get("nextCursor")
        if not cursor:
            break
        unseen = [c for c in ids(made) if c not in visited and c not in removed_before_visit]
        for client_id in [visited[-1], visited[step], *unseen[1:3]]:
            if (stored.client(tenant.partner_id, client_id) or {}).get("status") != "deleted":
                remove(api, tenant, client_id)
                if client_id not in visited:
                    removed_before_visit.add(client_id)
        register(api, tenant, f"new{step}@example.com", name=f"Newcomer {step}")
    else:
        raise AssertionError("the walk never ended")

    # Then no client came twice, and every pre-existing client not removed before its turn came once
    assert len(visited) == len(set(visited))
    survivors = [c for c in ids(made) if c not in removed_before_visit]
    assert [c for c in visited if c in set(ids(made))] == survivors
    assert not removed_before_visit & set(visited)
    assert removed_before_visit  # the walk really did lose clients ahead of it


# --------------------------------------------------------------------------- filters


def test_status_filter_and_deleted_clients(api: Api, tenant: Tenant, subtests: pytest.Subtests) -> None:
    # Given 8 clients: 3 active, 2 suspended, 1 inactive and 2 removed
    made = seed(api, tenant, 8)
    for client, status in zip(made[3:6], ["suspended", "suspended", "inactive"], strict=True):
        assert patch(api, tenant, client["clientId"], {"status": status}).status == 200
    for client in made[6:]:
        remove(api, tenant, client["clientId"])
    expected = {
        None: made[:6],
        "active": made[:3],
        "suspended": made[3:5],
        "inactive": made[5:6],
        "deleted": made[6:],
    }
    for status, clients in expected.items():
        with subtests.test(f"status={status}"):
            # When the list is filtered by status (or not: every status but deleted)
            data = page(api, tenant, **({"status": status} if status else {}))

            # Then it holds exactly those clients, oldest first, and the total counts them
            assert ids(data["clients"]) == ids(clients)
            assert data["pagination"]["total"] == len(clients)
            if status:
                assert {c["status"] for c in data["clients"]} == {status}

    with subtests.test("unknown status"):
        assert_error(
            api.call("GET", CLIENTS, token=tenant.token, query={"status": "gone"}),
            400,
            "INVALID_PARAMETER",
            field="status",
        )


def test_q_matches_name_or_email_case_insensitively(
    api: Api, tenant: Tenant, subtests: pytest.Subtests
) -> None:
    # Given clients whose names and emails differ
    ada = register(api, tenant, "ada@analytical.example", name="Ada Lovelace")
    grace = register(api, tenant, "grace@navy.example", name="Grace Hopper")
    alan = register(api, tenant, "alan@bletchley.example", name="Alan Turing")
    gone = register(api, tenant, "ada.gone@analytical.example", name="Ada Gone")
    remove(api, tenant, gone["clientId"])
    for q, expected in [
        ("LOVE", [ada]),
        ("hopper", [grace]),
        ("BLETCHLEY", [alan]),
        ("a", [ada, grace, alan]),
        ("analytical", [ada]),
        ("zzz", []),
    ]:
        with subtests.test(f"q={q}"):
            # When the list is searched
            data = page(api, tenant, q=q)

            # Then it holds the live clients whose name or email contains q in any case
            assert ids(data["clients"]) == ids(expected)
            assert data["pagination"]["total"] == len(expected)

    with subtests.test("q walked by cursor"):
        pages = list(walk_by_cursor(api, tenant, 1, q="a"))

        assert [c for p in pages for c in ids(p["clients"])] == ids([ada, grace, alan])
        assert {p["pagination"]["total"] for p in pages} == {3}


def test_partner_id_filter(api: Api, tenant: Tenant, other_tenant: Tenant, subtests: pytest.Subtests) -> None:
    # Given a tenant's clients, one of them removed
    made = seed(api, tenant, 3)
    remove(api, tenant, made[2]["clientId"])

    with subtests.test("own partner id"):
        # When the list is filtered by the caller's own partner id
        data = page(api, tenant, partnerId=tenant.partner_id)

        # Then it holds the caller's own live clients
        assert ids(data["clients"]) == ids(made[:2])
        assert data["pagination"]["total"] == 2

    for case, query, code in [
        ("unknown partnerId", {"partnerId": str(uuid.uuid4())}, "PARTNER_NOT_FOUND"),
        ("another tenant's partnerId", {"partnerId": other_tenant.partner_id}, "PARTNER_NOT_FOUND"),
        ("unknown accountId", {"accountId": str(uuid.uuid4())}, "ACCOUNT_NOT_FOUND"),
    ]:
        with subtests.test(case):
            # When the filter names something the caller cannot see
            reply = api.call("GET", CLIENTS, token=tenant.token, query=query)

            # Then it is not found
            assert_error(reply, 404, code)

    with subtests.test("malformed partnerId"):
        assert_error(
            api.call("GET", CLIENTS, token=tenant.token, query={"partnerId": "p-1"}),
            400,
            "INVALID_PARAMETER",
            field="partnerId",
        )
