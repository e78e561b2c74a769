"""Clients under concurrent requests: uniqueness, counters and events stay exact.

Two levels. Through ``api.call`` on threads, as the brief of each route: the envelope and the end
state. But the handlers take one request at a time per process (``partner_api.http.api``, as a
Lambda container does), so those requests do not interleave inside the logic. The second level
therefore calls the clients logic directly from threads and holds every thread at a barrier right
after its read (or right before its write), so that all of them act on the same state: the
conditional writes, retries and uniqueness items are what keeps the result exact.

The ``stack`` fixture makes moto's DynamoDB serialize operations as DynamoDB does. No assertion
depends on timing; the barrier timeouts only turn a deadlock into a failure.
"""

from __future__ import annotations

import importlib
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from partner_api.errors import ClientAlreadyExists, PreconditionFailed
from partner_api.logic import clients as logic
from partner_api.models.clients import ClientCreate, ClientPatch
from tests.conftest import Tenant
from tests.support.apigw import Api, Reply
from tests.support.clients import (
    CLIENTS,
    STATUSES,
    Stored,
    assert_error,
    assert_success,
    expected_counts,
    public_view,
    register,
    remove,
)
from tests.support.logic_callers import actor_of, on_threads, principal_of


@pytest.fixture
def stored(stack: Any) -> Stored:
    return Stored(stack)


def all_at_once[T](count: int, request: Callable[[int], T]) -> list[T]:
    """Run ``request(i)`` for i in 0..count-1 on ``count`` threads released together."""
    barrier = threading.Barrier(count)

    def run(i: int) -> T:
        barrier.wait(timeout=60)
        return request(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def true_counts(stored: Stored, tenant: Tenant) -> dict[str, int]:
    """The counter item a root partner should have: its clients counted by status."""
    by_status = Counter(c["status"] for c in stored.clients(tenant.partner_id))
    return expected_counts(**{s: by_status[s] for s in STATUSES})


def test_twenty_concurrent_registrations_of_one_email_make_one_client(
    api: Api, tenant: Tenant, stored: Stored
) -> None:
    # Given 20 registrations of one email written in various cases
    spellings = ["race@example.com", "RACE@example.com", "Race@Example.Com", "race@EXAMPLE.COM"]

    # When they all arrive at once
    def attempt(i: int) -> Reply:
        return api.call(
            "POST",
            CLIENTS,
            token=tenant.token,
            json_body={"name": f"Racer {i}", "email": spellings[i % len(spellings)]},
            headers={"x-request-id": f"race-{i}"},
        )

    replies = all_at_once(20, attempt)

    # Then exactly one is registered and the other 19 conflict, each answering its own request
    created = [(i, r) for i, r in enumerate(replies) if r.status == 201]
    assert len(created) == 1, [r.status for r in replies]
    (winner_index, winner), *_ = created
    data = assert_success(winner, 201, "Client registered successfully.")
    assert (data["name"], data["email"]) == (
        f"Racer {winner_index}",
        spellings[winner_index % len(spellings)],
    )
    for i, reply in enumerate(replies):
        if i != winner_index:
            assert_error(reply, 409, "CLIENT_ALREADY_EXISTS", field="email", request_id=f"race-{i}")
    # and the store holds one client, one email claim, one event and counters of one
    assert [c["clientId"] for c in stored.clients(tenant.partner_id)] == [data["clientId"]]
    assert [e["clientId"] for e in stored.email_claims(tenant.partner_id)] == [data["clientId"]]
    (event,) = stored.client_events(tenant.partner_id)
    assert (event["type"], event["resource"]["id"]) == ("client.registered", data["clientId"])
    assert event["requestId"] == f"race-{winner_index}"
    assert stored.counts(tenant.partner_id, tenant.partner_id) == expected_counts(active=1)
    # and the list shows that one client
    listed = assert_success(
        api.call("GET", CLIENTS, token=tenant.token), 200, "Clients retrieved successfully."
    )
    assert [c["clientId"] for c in listed["clients"]] == [data["clientId"]]
    assert listed["pagination"]["total"] == 1


def test_concurrent_registrations_of_different_emails_are_all_counted(
    api: Api, tenant: Tenant, stored: Stored
) -> None:
    # Given 20 registrations of different emails
    # When they all arrive at once
    replies = all_at_once(
        20,
        lambda i: api.call(
            "POST",
            CLIENTS,
            token=tenant.token,
            json_body={"name": f"Runner {i}", "email": f"run{i}@example.com"},
        ),
    )

    # Then all are registered, and no counter update or event was lost
    assert [r.status for r in replies] == [201] * 20, [r.text for r in replies if r.status != 201]
    made = {r.body["data"]["clientId"] for r in replies}
    assert {c["clientId"] for c in stored.clients(tenant.partner_id)} == made
    assert len(stored.email_claims(tenant.partner_id)) == 20
    assert len(stored.events(tenant.partner_id, "client.registered")) == 20
    assert stored.counts(tenant.partner_id, tenant.partner_id) == expected_counts(active=20)
    listed = api.call("GET", CLIENTS, token=tenant.token, query={"limit": "50"}).body["data"]
    assert {c["clientId"] for c in listed["clients"]} == made
    assert listed["pagination"]["total"] == 20


def test_concurrent_patches_without_if_match_lose_no_update(api: Api, tenant: Tenant, stored: Stored) -> None:
    # Given a client (and a bystander that no one touches)
    client = register(api, tenant, "busy@example.com")
    register(api, tenant, "bystander@example.com")
    cid = client["clientId"]
    statuses = ["suspended", "inactive", "active"]

    # When 10 PATCHes, each with its own title and a status, arrive at once without If-Match
    def attempt(i: int) -> Reply:
        body = {"title": f"Title {i}", "status": statuses[i % len(statuses)]}
        return api.call("PATCH", f"{CLIENTS}/{cid}", token=tenant.token, json_body=body)

    replies = all_at_once(10, attempt)

    # Then each either succeeded or was refused as a precondition failure, nothing else
    succeeded = [r for r in replies if r.status == 200]
    for reply in replies:
        if reply.status != 200:
            assert_error(reply, 412, "PRECONDITION_FAILED")
    assert succeeded
    # and every success was recorded as exactly one event: no update was silently lost
    assert len(stored.events(tenant.partner_id, "client.updated", cid)) == len(succeeded)
    # and the stored client is the result of one of the successes (the last one applied)
    final = public_view(stored.client(tenant.partner_id, cid) or {})
    matching = [r.body["data"] for r in succeeded if r.body["data"]["title"] == final["title"]]
    assert matching == [final]
    # and the counters equal the real number of clients in each status
    assert stored.counts(tenant.partner_id, tenant.partner_id) == true_counts(stored, tenant)
    assert len(stored.clients(tenant.partner_id)) == 2
    # and GET agrees with the store
    assert api.call("GET", f"{CLIENTS}/{cid}", token=tenant.token).body["data"] == final


def test_ten_concurrent_deletes_remove_the_client_once(api: Api, tenant: Tenant, stored: Stored) -> None:
    # Given an active client
    client = register(api, tenant, "doomed@example.com")
    cid = client["clientId"]

    # When 10 DELETEs of it arrive at once
    replies = all_at_once(10, lambda _: api.call("DELETE", f"{CLIENTS}/{cid}", token=tenant.token))

    # Then all answer 200 with the same removal
    assert [r.status for r in replies] == [200] * 10, [r.text for r in replies if r.status != 200]
    bodies = [assert_success(r, 200, "Client removed successfully.") for r in replies]
    assert all(b == bodies[0] for b in bodies)
    assert bodies[0]["clientId"] == cid
    # and it was removed once: one client.removed event, email released, counters moved once
    assert len(stored.events(tenant.partner_id, "client.removed", cid)) == 1
    item = stored.client(tenant.partner_id, cid) or {}
    assert (item["status"], item["removedAt"]) == ("deleted", bodies[0]["removedAt"])
    assert stored.email_owner(tenant.partner_id, "doomed@example.com") is None
    assert stored.counts(tenant.partner_id, tenant.partner_id) == expected_counts(deleted=1)


def test_a_restore_racing_a_registration_of_the_same_email_lets_one_win(
    api: Api, tenant: Tenant, stored: Stored
) -> None:
    # Given a removed client
    old = register(api, tenant, "contested@example.com")
    remove(api, tenant, old["clientId"])

    # When its restore and a new registration of its email arrive at once
    def attempt(i: int) -> Reply:
        if i == 0:
            return api.call(
                "PATCH", f"{CLIENTS}/{old['clientId']}", token=tenant.token, json_body={"status": "active"}
            )
        return api.call(
            "POST",
            CLIENTS,
            token=tenant.token,
            json_body={"name": "Newcomer", "email": "CONTESTED@example.com"},
        )

    restore, registration = all_at_once(2, attempt)

    # Then exactly one wins, the other conflicts, and the email belongs to the winner
    assert sorted([restore.status, registration.status]) in ([200, 409], [201, 409])
    loser = restore if restore.status == 409 else registration
    assert_error(loser, 409, "CLIENT_ALREADY_EXISTS", field="email")
    winner_id = old["clientId"] if restore.status == 200 else registration.body["data"]["clientId"]
    assert stored.email_owner(tenant.partner_id, "contested@example.com") == winner_id
    live = [c for c in stored.clients(tenant.partner_id) if c["status"] != "deleted"]
    assert [c["clientId"] for c in live] == [winner_id]
    assert stored.counts(tenant.partner_id, tenant.partner_id) == true_counts(stored, tenant)


# --------------------------------------------------------------------------- logic level, forced overlap


def hold_first_call(monkeypatch: pytest.MonkeyPatch, target: str, parties: int, *, after: bool) -> None:
    """Make each thread's first call of ``target`` wait (``after`` it returns, or before it runs)
    until ``parties`` threads have made theirs; later calls (retries) pass straight through."""
    module_name, name = target.rsplit(".", 1)
    real = getattr(importlib.import_module(module_name), name)
    barrier = threading.Barrier(parties)
    local = threading.local()

    def held(*args: Any, **kwargs: Any) -> Any:
        first = not getattr(local, "called", False)
        local.called = True
        if first and not after:
            barrier.wait(timeout=60)
        result = real(*args, **kwargs)
        if first and after:
            barrier.wait(timeout=60)
        return result

    monkeypatch.setattr(target, held)


def test_registrations_reaching_the_store_together_make_one_client(
    tenant: Tenant, stored: Stored, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 20 registrations of one email that all write at the same moment
    hold_first_call(monkeypatch, "partner_api.logic.clients.transact", 20, after=False)
    caller = principal_of(tenant)

    # When they run
    results = on_threads(
        20,
        lambda i: logic.register(
            caller,
            actor_of(tenant, f"req-{i}"),
            ClientCreate(name=f"Racer {i}", email=f"{'RACE' if i % 2 else 'race'}@x.io"),
        ),
    )

    # Then one client is registered and every other attempt is told the email is taken
    made = [r for r in results if isinstance(r, dict)]
    assert len(made) == 1, results
    assert all(isinstance(r, ClientAlreadyExists) for r in results if r is not made[0]), results
    assert [c["clientId"] for c in stored.clients(tenant.partner_id)] == [made[0]["clientId"]]
    assert stored.email_owner(tenant.partner_id, "race@x.io") == made[0]["clientId"]
    assert len(stored.events(tenant.partner_id, "client.registered")) == 1
    assert stored.counts(tenant.partner_id, tenant.partner_id) == expected_counts(active=1)


def test_updates_that_all_read_before_any_writes_lose_nothing(
    api: Api, tenant: Tenant, stored: Stored, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a client, and 10 updates that all read it before any of them writes
    cid = register(api, tenant, "contended@example.com")["clientId"]
    register(api, tenant, "bystander@example.com")
    hold_first_call(monkeypatch, "partner_api.logic.clients.get", 10, after=True)
    caller = principal_of(tenant)
    statuses = ["suspended", "inactive", "active"]

    # When they run, without If-Match
    results = on_threads(
        10,
        lambda i: logic.update(
            caller,
            actor_of(tenant, f"req-{i}"),
            cid,
            ClientPatch(title=f"Title {i}", status=statuses[i % len(statuses)]),
            None,
        ),
    )

    # Then each either applied or failed its precondition; none failed otherwise
    applied = [r for r in results if isinstance(r, dict)]
    assert all(isinstance(r, (dict, PreconditionFailed)) for r in results), results
    assert len(applied) > 1  # all read version 1, so all but one had to re-read and retry
    # and every applied update is one event and one version: nothing was overwritten unseen
    assert len(stored.events(tenant.partner_id, "client.updated", cid)) == len(applied)
    item = stored.client(tenant.partner_id, cid) or {}
    assert item["version"] == 1 + len(applied)
    assert sorted(r["version"] for r in applied) == list(range(2, 2 + len(applied)))
    assert [public_view(r) for r in applied if r["version"] == item["version"]] == [public_view(item)]
    # and the counters equal the real number of clients in each status
    assert stored.counts(tenant.partner_id, tenant.partner_id) == true_counts(stored, tenant)


def test_removals_that_all_read_before_any_writes_remove_once(
    api: Api, tenant: Tenant, stored: Stored, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an active client, and 10 removals that all read it before any of them writes
    cid = register(api, tenant, "removed-once@example.com")["clientId"]
    hold_first_call(monkeypatch, "partner_api.logic.clients.get", 10, after=True)
    caller = principal_of(tenant)

    # When they run
    results = on_threads(10, lambda i: logic.remove(caller, actor_of(tenant, f"req-{i}"), cid, None))

    # Then all answer with the one removal
    assert all(isinstance(r, dict) for r in results), results
    assert {(r["status"], r["removedAt"]) for r in results} == {("deleted", results[0]["removedAt"])}
    # and it was recorded once, the email released once and the counters moved once
    assert len(stored.events(tenant.partner_id, "client.removed", cid)) == 1
    assert stored.email_owner(tenant.partner_id, "removed-once@example.com") is None
    assert stored.counts(tenant.partner_id, tenant.partner_id) == expected_counts(deleted=1)
