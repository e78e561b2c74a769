"""The local run's AWS: moto's server, with ``local.dynamodb``'s patches, in a process of its own.

Its own process because moto's work (parsing requests, evaluating expressions, copying results)
would otherwise compete with the API's handlers for one interpreter lock; apart, the two use
both cores. ``python -m local.aws`` listens on a free loopback port, prints ``listening <port>``
once it answers, and exits on SIGTERM/SIGINT or when the process that started it is gone.

moto's own server is werkzeug's development server, which closes the connection after every
response and starts a thread per connection; here moto's WSGI application is served by
waitress instead (a pool of threads, keep-alive connections), so the SDK reuses its
connections as it does with AWS.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import threading
from typing import Any

from local.template import ROOT

HOST = "127.0.0.1"
SERVER_THREADS = 32  # each request holds one; each idle queue poller long-polls with one
_READY = "listening "


def main() -> int:
    import waitress
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from local import dynamodb, pauses

    parent = os.getppid()
    dynamodb.apply()
    _without_per_request_lookups()
    pauses.keep_full_collections_short()

    def backend_app(service: str) -> Any:
        app = create_backend_app(service)
        app.debug = False  # moto turns Flask's debug mode on, which builds a class on every request
        return app

    server: Any = waitress.create_server(
        DomainDispatcherApplication(backend_app), host=HOST, port=0, threads=SERVER_THREADS
    )
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    threading.Thread(target=server.run, name="moto", daemon=True).start()
    print(f"{_READY}{server.effective_port}", flush=True)
    while not stopping.wait(0.5):
        if os.getppid() != parent:  # the local run died without stopping us
            break
    server.close()
    return 0


def _without_per_request_lookups() -> None:
    """Work moto does again for every request although its answer never changes, done once:
    which services the server has (it lists its package folder on disk, under a lock), which
    actions a service's handler has (it inspects the class), and, for every event EventBridge
    hands to a rule's target, a JSONPath parser for each path of the target's input template
    (built from its grammar each time: it kept the publisher from keeping up with writes)."""
    import jsonpath_ng.ext
    from moto import backends
    from moto.core import responses

    services = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: services
    responses.method_names_from_class = functools.cache(responses.method_names_from_class)  # type: ignore[assignment]
    jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parse)


class ChildProcess:
    """A process the local run starts and stops with itself."""

    process: subprocess.Popen[Any] | None = None

    def terminate(self) -> None:
        """Ask it to stop (SIGTERM), without waiting: stop every child at once, then wait."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()

    def stop(self, grace: float = 1.5) -> None:
        """Stop it, killing it if it has not ended ``grace`` seconds after SIGTERM."""
        if self.process is None:
            return
        self.terminate()
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class AwsProcess(ChildProcess):
    """``python -m local.aws`` started and stopped by the local run."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None
        self.endpoint = ""

    def start(self, timeout: float = 60) -> str:
        """Start it and return its endpoint URL once it listens."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local.aws"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,  # Ctrl-C reaches the runner, which stops this in order
        )
        line = _read_line(self.process, timeout)
        if not line.startswith(_READY):
            self.stop()
            raise RuntimeError(f"the AWS emulation did not start: {line or 'no output'}")
        self.endpoint = f"http://{HOST}:{int(line[len(_READY) :])}"
        return self.endpoint

    def stop(self, grace: float = 1.5) -> None:
        process = self.process
        super().stop(grace)
        if process is not None and process.stdout:
            process.stdout.close()
        self.process = None


def _read_line(process: subprocess.Popen[str], timeout: float) -> str:
    found: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        found.append(process.stdout.readline().strip())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    return found[0] if found else ""


if __name__ == "__main__":
    sys.exit(main())
