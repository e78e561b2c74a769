"""Lambda's containers, in one process: how the local runner invokes the template's functions.

Lambda gives a container one request at a time and starts another container when every one of
a function's containers is busy. Here a container is a fresh copy of the function's handler
module (its own resolver, its own module state); a request takes an idle one or starts a new
one, so requests to one function run side by side just as requests to different functions do.

What differs from Lambda: the containers share the layer's modules, so the layer's per-container
caches (settings, boto3 clients, the signing key, credential status) are warm for all of them.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from local import template as tpl

LOG = logging.getLogger("local-run")
MAX_CONTAINERS = 32  # per function: beyond it a request waits for one, as Lambda's concurrency limit


@dataclass
class Container:
    logical_id: str
    number: int
    module: ModuleType
    handler_name: str
    timeout: int

    def invoke(self, event: dict[str, Any]) -> Any:
        return getattr(self.module, self.handler_name)(event, LambdaContext(self.logical_id, self.timeout))


@dataclass
class _Pool:
    function: tpl.Function
    idle: list[Container] = field(default_factory=list)
    started: int = 0
    available: threading.Condition = field(default_factory=threading.Condition)


class Containers:
    """Every function's containers; ``invoke`` runs one request in one of them."""

    def __init__(
        self,
        template: dict[str, Any] | None = None,
        *,
        on_start: Callable[[Container], None] | None = None,
    ) -> None:
        self._pools = {name: _Pool(f) for name, f in tpl.functions(template).items()}
        self._on_start = on_start

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        """Run ``event`` through the function's handler as Lambda would; returns what it returns
        and raises what it raises."""
        with self.lease(logical_id) as container:
            return container.invoke(event)

    def started(self, logical_id: str) -> int:
        """How many containers the function has started (they are never stopped)."""
        return self._pools[logical_id].started

    @contextmanager
    def lease(self, logical_id: str) -> Iterator[Container]:
        pool = self._pools[logical_id]
        container = self._take(pool)
        try:
            yield container
        finally:
            with pool.available:
                pool.idle.append(container)
                pool.available.notify()

    def _take(self, pool: _Pool) -> Container:
        with pool.available:
            while not pool.idle and pool.started >= MAX_CONTAINERS:
                pool.available.wait()
            if pool.idle:
                return pool.idle.pop()
            pool.started += 1
            number = pool.started
        try:
            container = _start(pool.function, number)
        except BaseException:
            with pool.available:
                pool.started -= 1
                pool.available.notify()
            raise
        if self._on_start is not None:
            self._on_start(container)
        return container


def _start(function: tpl.Function, number: int) -> Container:
    """A cold start: the handler module imported afresh under a name of its own."""
    module = function.import_handler(f"local_functions.{function.logical_id}.c{number}")
    return Container(function.logical_id, number, module, function.handler_name, function.timeout)


class LambdaContext:
    """What a handler's ``context`` argument offers in Lambda."""

    def __init__(self, function_name: str, timeout: int = 10) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
