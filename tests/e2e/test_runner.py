"""`make run`'s process contract: one-line startup errors, clean stop on SIGINT/SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import (
    HOST,
    ROOT,
    LocalServer,
    free_port,
    get_token,
    port_is_free,
    runner_command,
    runner_env,
)


def run_to_exit(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        runner_command(), cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def assert_one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    """Exit 1, a single ``error: ...`` line on stderr, no traceback anywhere."""
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    return lines[0]


def test_port_in_use_is_one_line_and_exit_1() -> None:
    # Given something already listening on a port
    with socket.socket() as busy:
        busy.bind((HOST, 0))
        busy.listen()
        port = busy.getsockname()[1]

        # When the runner is told to use it
        done = run_to_exit(runner_env(PORT=str(port)))

    # Then it refuses in one line that names the port
    line = assert_one_line_error(done)
    assert str(port) in line
    assert "in use" in line


@pytest.mark.parametrize("value", ["abc", "70000", "-1"])
def test_bad_port_value_is_one_line_and_exit_1(value: str) -> None:
    done = run_to_exit(runner_env(PORT=value))
    line = assert_one_line_error(done)
    assert value in line


GOOD_ID, GOOD_SECRET = "2f0c6a52-7e0c-4c43-9d53-8a2f3c1b9e10", "s" * 32


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("PARTNER_API_DEMO_CLIENT_ID", "demo-client", "lowercase UUID"),
        ("PARTNER_API_DEMO_CLIENT_ID", GOOD_ID.upper(), "lowercase UUID"),
        ("PARTNER_API_OPERATOR_CLIENT_ID", "12345", "lowercase UUID"),
        ("PARTNER_API_DEMO_CLIENT_SECRET", "too-short", "at least 32 characters"),
        ("PARTNER_API_OPERATOR_CLIENT_SECRET", "x" * 31, "at least 32 characters"),
        ("PARTNER_API_DEMO_CLIENT_SECRET", "with a space " + "x" * 32, "without spaces"),
        ("PARTNER_API_DEMO_CLIENT_IDS", GOOD_ID, "not a setting"),
    ],
)
def test_a_value_the_api_could_never_accept_is_one_line_naming_it_and_exit_1(
    variable: str, value: str, reason: str
) -> None:
    # Given a PARTNER_API_* value that no token request could ever succeed with (or a misspelt name)
    port = free_port()

    # When make run starts with it
    done = run_to_exit(runner_env(PORT=str(port), **{variable: value}))

    # Then it stops at once, in one line naming the variable and why, and nothing was started
    line = assert_one_line_error(done)
    assert variable in line and reason in line, line
    assert port_is_free(port)


def test_the_same_client_id_for_demo_and_operator_is_refused() -> None:
    done = run_to_exit(
        runner_env(
            PORT=str(free_port()),
            PARTNER_API_DEMO_CLIENT_ID=GOOD_ID,
            PARTNER_API_OPERATOR_CLIENT_ID=GOOD_ID,
        )
    )
    line = assert_one_line_error(done)
    assert "PARTNER_API_OPERATOR_CLIENT_ID" in line and "PARTNER_API_DEMO_CLIENT_ID" in line


def test_values_the_api_accepts_are_the_printed_usable_credentials(
    start_server: Callable[..., LocalServer],
) -> None:
    # Given valid values, when make run starts with them, then the banner prints them and they work
    server = start_server()
    assert server.demo_client_id in server.stdout()
    assert get_token(server.base_url, server.demo_client_id, server.demo_client_secret)
    assert get_token(server.base_url, server.operator_client_id, server.operator_client_secret)


def test_broken_template_is_one_line_and_exit_1(tmp_path: Path) -> None:
    # Given a template whose first Api event points at an API that does not exist
    text = (ROOT / "template.yaml").read_text()
    assert "RestApiId: !Ref PartnerApi" in text
    broken = tmp_path / "template.yaml"
    broken.write_text(text.replace("RestApiId: !Ref PartnerApi", "RestApiId: !Ref NoSuchApi", 1))
    port = free_port()

    # When the runner is pointed at it
    done = run_to_exit(runner_env(PORT=str(port), PARTNER_API_TEMPLATE=str(broken)))

    # Then it explains in one line, and never started serving
    line = assert_one_line_error(done)
    assert "template" in line
    assert "RestApiId" in line
    assert port_is_free(port)


def test_template_without_routes_is_one_line_and_exit_1(tmp_path: Path) -> None:
    empty = tmp_path / "template.yaml"
    empty.write_text(
        "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\n"
        "Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n"
    )
    done = run_to_exit(runner_env(PORT=str(free_port()), PARTNER_API_TEMPLATE=str(empty)))
    assert_one_line_error(done)


def test_sigint_stops_the_server_cleanly_and_frees_the_port(start_server: Callable[..., LocalServer]) -> None:
    # Given a running server that has answered a request
    server = start_server()
    assert requests.get(server.url("/health"), timeout=5).json() == {"status": "ok"}

    # When it gets Ctrl-C
    code = server.stop(signal.SIGINT)

    # Then it exits 0 within the stop timeout, without a traceback, and the port is free again
    assert code == 0, server.output()
    assert "Traceback" not in server.output()
    assert port_is_free(server.port)
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url("/health"), timeout=2)


def read_to_eof(port: int, request: bytes) -> bytes:
    """One request the way an HTTP/1.0-style client makes it: read until the server hangs up."""
    with socket.create_connection((HOST, port), timeout=10) as connection:
        connection.sendall(request)
        received = b""
        while chunk := connection.recv(4096):
            received += chunk
    return received


def test_make_run_starts_again_on_the_same_port_after_ctrl_c(
    start_server: Callable[..., LocalServer],
) -> None:
    # Given a server that answered a client which read until the server closed the connection
    first = start_server()
    reply = read_to_eof(first.port, b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200"), reply
    # and that was stopped with Ctrl-C
    assert first.stop(signal.SIGINT) == 0, first.output()

    # When `make run` is started again right away on the same PORT
    second = start_server(port=first.port)

    # Then it serves (nothing listens there any more, so "port in use" would be wrong)
    assert requests.get(second.url("/health"), timeout=5).json() == {"status": "ok"}


class Traffic:
    """Keeps a few clients calling GET /health until stopped, as a browser tab or a script would."""

    def __init__(self, server: LocalServer, clients: int = 16) -> None:
        self.server = server
        self.done = threading.Event()
        self.answered = threading.Semaphore(0)
        self.threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(clients)]

    def _loop(self) -> None:
        while not self.done.is_set():
            try:
                requests.get(self.server.url("/health"), timeout=2)
                self.answered.release()
            except requests.RequestException:
                self.done.wait(0.01)

    def __enter__(self) -> Traffic:
        for thread in self.threads:
            thread.start()
        for _ in range(50):  # the server is demonstrably busy before the signal goes out
            assert self.answered.acquire(timeout=30), self.server.output()
        return self

    def __exit__(self, *_: object) -> None:
        self.done.set()
        for thread in self.threads:
            thread.join(timeout=10)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_one_signal_during_traffic_stops_the_server(
    start_server: Callable[..., LocalServer], sig: signal.Signals
) -> None:
    # Given a running server that is answering requests
    server = start_server()

    # When it gets a single stop signal in the middle of that traffic (as from Ctrl-C or `kill`)
    with Traffic(server):
        code = server.stop(sig)

    # Then it exits 0 within the stop timeout instead of being killed, and no longer listens
    assert code == 0, server.output()
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url("/health"), timeout=2)
