"""Lambda's containers in one process (local/containers.py): one request at a time per
container, another container only when every one of the function's is busy."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from local.containers import Container, Containers

FUNCTION = "Gate"


@pytest.fixture
def gate_function(tmp_path: Path) -> dict[str, Any]:
    """A template with one function whose handler waits at a gate the event carries."""
    handler = tmp_path / "gate.py"
    handler.write_text(
        "SEEN = []\n\n\n"
        "def handler(event, context):\n"
        "    SEEN.append(event['n'])\n"
        "    event['inside'].release()\n"
        "    event['gate'].wait(30)\n"
        "    return {'n': event['n'], 'module': id(SEEN), 'function': context.function_name}\n"
    )
    return {
        "Resources": {
            FUNCTION: {
                "Type": "AWS::Serverless::Function",
                "Properties": {"CodeUri": str(tmp_path), "Handler": "gate.handler"},
            }
        }
    }


def invoke_on_threads(containers: Containers, count: int) -> tuple[list[Any], threading.Event]:
    """``count`` invocations held inside the handler until the returned gate opens."""
    gate, inside = threading.Event(), threading.Semaphore(0)
    results: list[Any] = [None] * count

    def call(n: int) -> None:
        results[n] = containers.invoke(FUNCTION, {"n": n, "gate": gate, "inside": inside})

    threads = [threading.Thread(target=call, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for _ in range(count):
        assert inside.acquire(timeout=30), "an invocation never reached the handler"
    gate.set()
    for thread in threads:
        thread.join(timeout=30)
    return results, gate


def test_overlapping_requests_each_get_a_container_of_their_own(gate_function: dict[str, Any]) -> None:
    # Given a function, when three requests are inside its handler at the same time
    started: list[Container] = []
    containers = Containers(gate_function, on_start=started.append)
    results, _ = invoke_on_threads(containers, 3)

    # Then three containers ran them, each its own copy of the module, with Lambda's context
    assert containers.started(FUNCTION) == 3
    assert sorted(c.number for c in started) == [1, 2, 3]
    assert len({r["module"] for r in results}) == 3
    assert {r["function"] for r in results} == {FUNCTION}


def test_requests_one_after_another_reuse_the_warm_container(gate_function: dict[str, Any]) -> None:
    # Given a function that has served one request
    containers = Containers(gate_function)
    (first,), _ = invoke_on_threads(containers, 1)

    # When more requests come one at a time
    later = [invoke_on_threads(containers, 1)[0][0] for _ in range(3)]

    # Then the same container (module) serves them all, and no other is started
    assert containers.started(FUNCTION) == 1
    assert {r["module"] for r in later} == {first["module"]}


def test_a_container_that_raised_is_used_again_and_the_error_reaches_the_caller(
    gate_function: dict[str, Any],
) -> None:
    containers = Containers(gate_function)
    with pytest.raises(KeyError):
        containers.invoke(FUNCTION, {"n": 0})  # no gate in the event: the handler raises
    invoke_on_threads(containers, 1)
    assert containers.started(FUNCTION) == 1
