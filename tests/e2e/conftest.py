"""End-to-end fixtures: the real `make run` server (``python -m local.run``) as a subprocess.

Tests here talk HTTP to it, exactly as a developer following the README would.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
STARTUP_SECONDS = 60
STOP_SECONDS = 15
ISO_MS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def free_port() -> int:
    """A port nobody listens on right now (the kernel's pick for port 0)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
        return True


def runner_env(**overrides: str) -> dict[str, str]:
    """The caller's environment minus anything that would point the runner elsewhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARTNER_API_", "AWS_"))}
    env.pop("PORT", None)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


def runner_command() -> list[str]:
    return [sys.executable, "-m", "local.run"]


@dataclass
class LocalServer:
    """One ``python -m local.run`` process and what it was started with."""

    port: int
    demo_client_id: str
    demo_client_secret: str
    operator_client_id: str
    operator_client_secret: str
    stdout_path: Path
    stderr_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        """The request log: one ``METHOD /path?query STATUS NNms REQUEST_ID`` line per request."""
        return self.stderr_path.read_text(errors="replace")

    def log_lines_for(self, request_id: str) -> list[str]:
        return [line for line in self.stderr().splitlines() if line.split(" ")[-1:] == [request_id]]

    def output(self) -> str:
        return f"--- stdout ---\n{self.stdout()}\n--- stderr ---\n{self.stderr()}"

    def start(self, extra_env: dict[str, str] | None = None) -> LocalServer:
        env = runner_env(
            PORT=str(self.port),
            PARTNER_API_DEMO_CLIENT_ID=self.demo_client_id,
            PARTNER_API_DEMO_CLIENT_SECRET=self.demo_client_secret,
            PARTNER_API_OPERATOR_CLIENT_ID=self.operator_client_id,
            PARTNER_API_OPERATOR_CLIENT_SECRET=self.operator_client_secret,
            **(extra_env or {}),
        )
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(runner_command(), cwd=ROOT, env=env, stdout=out, stderr=err)
        self._wait_until_healthy()
        return self

    def _wait_until_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"local.run exited with {self.process.returncode} at startup\n{self.output()}")
            try:
                if requests.get(self.url("/health"), timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"local.run did not answer GET /health within {STARTUP_SECONDS}s\n{self.output()}")

    def stop(self, sig: int = signal.SIGINT) -> int | None:
        """Send ``sig`` and wait; kill after STOP_SECONDS. Returns the exit code (None if killed)."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return None


def new_server(directory: Path) -> LocalServer:
    directory.mkdir(parents=True, exist_ok=True)
    return LocalServer(
        port=free_port(),
        demo_client_id=str(uuid.uuid4()),
        demo_client_secret=secrets.token_urlsafe(32),
        operator_client_id=str(uuid.uuid4()),
        operator_client_secret=secrets.token_urlsafe(32),
        stdout_path=directory / "stdout.log",
        stderr_path=directory / "stderr.log",
    )


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """The session's running API, shared by every test that does not need a pristine one."""
    running = new_server(tmp_path_factory.mktemp("local-run")).start()
    yield running
    running.stop()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., LocalServer]]:
    """Start a fresh, private server (stopped at teardown) for tests that need a pristine store."""
    started: list[LocalServer] = []

    def start(extra_env: dict[str, str] | None = None, port: int | None = None) -> LocalServer:
        fresh = new_server(tmp_path / f"server-{len(started)}")
        if port is not None:
            fresh.port = port
        started.append(fresh)
        return fresh.start(extra_env)

    yield start
    for running in started:
        running.stop()


def get_token(base_url: str, client_id: str, client_secret: str, basic: bool = True) -> str:
    form = {"grant_type": "client_credentials"}
    if basic:
        reply = requests.post(
            base_url + "/oauth/token", data=form, auth=(client_id, client_secret), timeout=10
        )
    else:
        form |= {"client_id": client_id, "client_secret": client_secret}
        reply = requests.post(base_url + "/oauth/token", data=form, timeout=10)
    assert reply.status_code == 200, reply.text
    return str(reply.json()["access_token"])


@pytest.fixture(scope="session")
def token(server: LocalServer) -> str:
    """An access token of the demo partner (all partner scopes)."""
    return get_token(server.base_url, server.demo_client_id, server.demo_client_secret)


@pytest.fixture(scope="session")
def operator_token(server: LocalServer) -> str:
    return get_token(server.base_url, server.operator_client_id, server.operator_client_secret)


@dataclass
class Partner:
    partner_id: str
    client_id: str
    client_secret: str
    token: str
    body: dict[str, Any]


@pytest.fixture
def new_partner(server: LocalServer, operator_token: str) -> Callable[[str], Partner]:
    """A fresh root partner (an empty tenant) created through the operator API, with a token."""

    def create(name: str = "E2E Partner") -> Partner:
        reply = requests.post(
            server.url("/admin/v1/partners"),
            json={"name": name},
            headers={"Authorization": f"Bearer {operator_token}"},
            timeout=10,
        )
        assert reply.status_code == 201, reply.text
        data = reply.json()["data"]
        credential = data["credential"]
        return Partner(
            partner_id=data["partner"]["partnerId"],
            client_id=credential["clientId"],
            client_secret=credential["clientSecret"],
            token=get_token(server.base_url, credential["clientId"], credential["clientSecret"]),
            body=reply.json(),
        )

    return create


def unique_email(stem: str = "e2e") -> str:
    return f"{stem}.{uuid.uuid4().hex[:12]}@example.com"


def call(
    server: LocalServer, method: str, path: str, token: str | None = None, **kwargs: Any
) -> requests.Response:
    """One HTTP request to the server, with a bearer token when given."""
    headers = dict(kwargs.pop("headers", None) or {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, server.url(path), headers=headers, timeout=15, **kwargs)


def assert_success(reply: requests.Response, status: int, message: str) -> Any:
    """The success envelope with this status and message; returns ``data``."""
    assert reply.status_code == status, reply.text
    assert reply.headers["Content-Type"].startswith("application/json")
    body = reply.json()
    assert body["success"] is True, body
    assert body["message"] == message, body
    assert reply.headers.get("x-request-id"), dict(reply.headers)
    return body["data"]


def assert_error(reply: requests.Response, status: int, code: str) -> dict[str, Any]:
    """The error envelope: this status and code, a message, and the response's request id."""
    assert reply.status_code == status, reply.text
    assert reply.headers["Content-Type"].startswith("application/json")
    body: dict[str, Any] = reply.json()
    assert body["success"] is False, body
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"], body
    assert body["requestId"] == reply.headers["x-request-id"], (body, dict(reply.headers))
    assert set(body) <= {"success", "code", "message", "details", "requestId"}, body
    return body
