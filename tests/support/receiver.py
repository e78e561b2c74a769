"""A local webhook receiver: http.server on 127.0.0.1 (a free port) in a thread.

It records every request (headers, body, arrival time) and answers per a script: the first
answers in order, then ``then`` forever. ``Receiver.failing(2)`` fails twice then answers 200;
``Receiver.always(500)``; ``Receiver([Answer(200, sleep=1.5)])`` answers slowly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Answer:
    """What the receiver answers to one request: a status, after ``sleep`` seconds."""

    status: int = 200
    sleep: float = 0.0
    body: bytes = b'{"ok": true}'


@dataclass(frozen=True)
class Received:
    """One request as it arrived: ``headers`` with lowercase names, the raw body, and when
    (``time.time()`` and ``time.monotonic()``)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    monotonic: float

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        import json

        return json.loads(self.body)


class Receiver:
    """Records what it receives and answers per its script (see the module docstring)."""

    def __init__(self, script: Iterable[Answer | int] = (), then: Answer | int = 200) -> None:
        self._script = [_answer(a) for a in script]
        self._then = _answer(then)
        self._received: list[Received] = []
        self._changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def failing(cls, times: int, status: int = 500) -> Receiver:
        """Answers ``status`` ``times`` times, then 200."""
        return cls([status] * times, then=200)

    @classmethod
    def always(cls, status: int) -> Receiver:
        return cls((), then=status)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                receiver._handle(self)

            do_GET = do_PUT = do_PATCH = do_DELETE = do_POST

            def log_message(self, *_args: Any) -> None:  # keep test output quiet
                pass

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="webhook-receiver", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "the receiver is not started"
        return int(self._server.server_address[1])

    def url(self, path: str = "/hook") -> str:
        return f"http://{HOST}:{self.port}{path}"

    # -- what arrived -------------------------------------------------------------------------

    @property
    def received(self) -> list[Received]:
        with self._changed:
            return list(self._received)

    def wait_for(self, count: int, timeout: float) -> list[Received]:
        """Wait until at least ``count`` requests arrived (or ``timeout``); returns all so far."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            return list(self._received)

    # -- the handler --------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        arrived = Received(
            method=request.command,
            path=request.path,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            at=time.time(),
            monotonic=time.monotonic(),
        )
        with self._changed:
            answer = self._script[len(self._received)] if len(self._received) < len(self._script) else None
            self._received.append(arrived)
            self._changed.notify_all()
        answer = answer or self._then
        if answer.sleep:
            time.sleep(answer.sleep)
        try:
            request.send_response(answer.status)
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(answer.body)))
            request.end_headers()
            request.wfile.write(answer.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller gave up waiting (a timeout test)


def _answer(value: Answer | int) -> Answer:
    return value if isinstance(value, Answer) else Answer(status=value)
