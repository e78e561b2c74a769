"""`make run` under concurrent requests, as several Lambda containers would serve them.

Races decided by DynamoDB (one email, the last seats of an account) must come out exact over
HTTP too, with the requests really overlapping: the runner starts another container of a
function only when all of its containers are busy, and logs it, so a second container of the
function is the proof that two of the race's requests were inside it at the same time.
"""

from __future__ import annotations

import re
import signal
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import LocalServer, assert_error, assert_success, get_token, unique_email

RACERS = 20
REGISTER, ADD_TO_ACCOUNT = "RegisterClientFunction", "AddAccountClientFunction"


@pytest.fixture(scope="module")
def racing_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A server of this module's own: its containers are started by these races alone."""
    from tests.e2e.conftest import new_server

    running = new_server(tmp_path_factory.mktemp("racing")).start()
    yield running
    running.stop()


def all_at_once(count: int, request: Callable[[int], requests.Response]) -> list[requests.Response]:
    """``request(i)`` on ``count`` threads released together."""
    barrier = threading.Barrier(count)
    replies: list[requests.Response | None] = [None] * count

    def run(i: int) -> None:
        barrier.wait(timeout=30)
        replies[i] = request(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(reply is not None for reply in replies)
    return replies  # type: ignore[return-value]


def containers_started(server: LocalServer, function: str) -> int:
    """The highest container number the runner logged for ``function`` (1 when it logged none)."""
    numbers = [int(n) for n in re.findall(rf"{function}: container (\d+) started", server.stderr())]
    return max(numbers, default=1)


def function_of(route_method: str, route_path: str) -> str:
    """The template's function for a route (so that these names cannot drift from it)."""
    from local import template as tpl

    return next(r.logical_id for r in tpl.routes() if (r.method, r.path) == (route_method, route_path))


def test_the_race_functions_are_the_templates() -> None:
    assert function_of("POST", "/partner/v1/clients") == REGISTER
    assert function_of("POST", "/partner/v1/accounts/{accountId}/clients") == ADD_TO_ACCOUNT


def test_concurrent_registrations_of_one_email_create_exactly_one_client(racing_server: LocalServer) -> None:
    # Given a partner's token and one email
    server = racing_server
    token = get_token(server.base_url, server.demo_client_id, server.demo_client_secret)
    email = unique_email("race")
    headers = {"Authorization": f"Bearer {token}"}

    # When 20 registrations of that email arrive at once
    replies = all_at_once(
        RACERS,
        lambda i: requests.post(
            server.url("/partner/v1/clients"),
            json={"name": f"Racer {i}", "email": email},
            headers=headers,
            timeout=60,
        ),
    )

    # Then exactly one is created and every other one is told the email is taken
    statuses = Counter(reply.status_code for reply in replies)
    assert statuses == {201: 1, 409: RACERS - 1}, "\n".join(r.text for r in replies if r.status_code != 409)
    for reply in replies:
        if reply.status_code == 409:
            assert_error(reply, 409, "CLIENT_ALREADY_EXISTS")
    listed = requests.get(
        server.url("/partner/v1/clients"), params={"q": email}, headers=headers, timeout=15
    ).json()["data"]
    assert [c["email"] for c in listed["clients"]] == [email]
    # and the requests overlapped: the register function needed a second container
    assert containers_started(server, REGISTER) >= 2, server.stderr()


def test_concurrent_additions_to_an_account_fill_exactly_its_seats(racing_server: LocalServer) -> None:
    # Given an account with 3 seats
    server = racing_server
    token = get_token(server.base_url, server.demo_client_id, server.demo_client_secret)
    headers = {"Authorization": f"Bearer {token}"}
    account = assert_success(
        requests.post(
            server.url("/partner/v1/accounts"),
            json={
                "name": f"Race{uuid.uuid4().hex[:12]}",
                "countryCode": "US",
                "consumables": [{"type": "SEATS", "attributes": {"cap": 3}}],
            },
            headers=headers,
            timeout=15,
        ),
        201,
        "Account created successfully.",
    )
    path = f"/partner/v1/accounts/{account['accountId']}/clients"

    # When 20 different clients are added to it at once
    replies = all_at_once(
        RACERS,
        lambda i: requests.post(
            server.url(path),
            json={"name": f"Seat {i}", "email": unique_email(f"seat{i}")},
            headers=headers,
            timeout=60,
        ),
    )

    # Then exactly 3 get a seat, the others are refused by the cap, and the account says 3
    statuses = Counter(reply.status_code for reply in replies)
    assert statuses == {201: 3, 403: RACERS - 3}, [r.text for r in replies]
    for reply in replies:
        if reply.status_code == 403:
            assert_error(reply, 403, "MAXIMUM_USERS_FOR_ACCOUNT_LIMIT_EXCEEDED")
    stored = requests.get(
        server.url(f"/partner/v1/accounts/{account['accountId']}"), headers=headers, timeout=15
    )
    assert stored.json()["data"]["usage"] == {"SEATS": 3}
    members = requests.get(server.url(path), headers=headers, timeout=15).json()["data"]
    assert members["pagination"]["total"] == 3
    # and the requests overlapped inside the function
    assert containers_started(server, ADD_TO_ACCOUNT) >= 2, server.stderr()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_signal_under_write_load_ends_the_run_within_5_seconds(
    start_server: Callable[..., LocalServer], sig: signal.Signals
) -> None:
    # Given a server busy with 8 writers registering clients
    server = start_server()
    token = get_token(server.base_url, server.demo_client_id, server.demo_client_secret)
    stop_writing = threading.Event()
    written = threading.Semaphore(0)

    def write() -> None:
        session = requests.Session()
        while not stop_writing.is_set():
            try:
                session.post(
                    server.url("/partner/v1/clients"),
                    json={"name": "Load", "email": unique_email("load")},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=5,
                )
                written.release()
            except requests.RequestException:
                stop_writing.wait(0.05)

    writers = [threading.Thread(target=write, daemon=True) for _ in range(8)]
    for writer in writers:
        writer.start()
    for _ in range(40):
        assert written.acquire(timeout=60), server.output()

    # When it gets one stop signal
    assert server.process is not None
    aws = children(server.process.pid)
    assert aws, "the runner has no AWS process"
    server.process.send_signal(sig)

    # Then it and its AWS process are gone within 5 seconds, having exited cleanly
    try:
        code = server.process.wait(timeout=5)
    finally:
        stop_writing.set()
    assert code == 0, server.output()
    assert not [pid for pid in aws if Path(f"/proc/{pid}").exists()]
    for writer in writers:
        writer.join(timeout=10)


def children(pid: int) -> list[int]:
    """The processes ``pid`` started (from /proc: each one's parent)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found
