"""GET /docs in a real browser: headless Chromium renders the API's operations with no internet.

Swagger UI builds the page in the browser from /openapi.json, so fetching the HTML proves little.
This drives Chromium over the DevTools protocol (a WebSocket): it loads the page from `make run`'s
server, waits until the rendered DOM shows an operation's path, and meanwhile records every console
error, uncaught exception and failed or foreign request.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import websocket

from tests.e2e.conftest import LocalServer

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
START_SECONDS = 30
RENDER_SECONDS = 30
# What the page must show once Swagger UI has rendered the document's operations.
RENDERED_PATH = "/partner/v1/clients"
# Swagger UI puts a zero-width space before each "/" of a path so long ones can wrap.
RENDERED_TEXT = r"document.body ? document.body.innerText.replace(/\u200b/g, '') : ''"
SWAGGER_ERRORS = "Array.from(document.querySelectorAll('.errors-wrapper')).map(e => e.innerText)"


CHROMIUM = next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)
# Skipped before the session's server starts for it.
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium to render /docs with: install it (Debian/Ubuntu: `apt-get install chromium`; "
    ".ci/run does this when it is missing)",
)


@dataclass
class DevTools:
    """One page of a browser, over the Chrome DevTools Protocol; keeps every event it receives."""

    socket: websocket.WebSocket
    events: list[dict[str, Any]] = field(default_factory=list)
    _next_id: int = 0

    def send(self, method: str, params: dict[str, Any] | None = None, timeout: float = 10) -> dict[str, Any]:
        self._next_id += 1
        sent = self._next_id
        self.socket.send(json.dumps({"id": sent, "method": method, "params": params or {}}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self._receive(deadline - time.monotonic())
            if message is not None and message.get("id") == sent:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result") or {})
        raise TimeoutError(f"no answer to {method} within {timeout}s")

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return result["result"].get("value")

    def pump(self, seconds: float) -> None:
        """Receive the events that arrive within ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._receive(deadline - time.monotonic())

    def _receive(self, seconds: float) -> dict[str, Any] | None:
        self.socket.settimeout(max(seconds, 0.01))
        try:
            message = dict(json.loads(self.socket.recv()))
        except websocket.WebSocketTimeoutException:
            return None
        if "method" in message:
            self.events.append(message)
        return message

    def of(self, method: str) -> list[dict[str, Any]]:
        return [e["params"] for e in self.events if e["method"] == method]

    def problems(self, base_url: str) -> list[str]:
        """Console errors, uncaught exceptions, failed loads, error statuses and requests that left
        the API, in the order they happened."""
        found = []
        for e in self.events:
            method, params = e["method"], e["params"]
            if method == "Runtime.consoleAPICalled" and params["type"] in {"error", "assert"}:
                texts = [str(a.get("value", a.get("description", ""))) for a in params["args"]]
                found.append(f"console.{params['type']}: {' '.join(texts)}")
            elif method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                found.append(
                    f"uncaught: {details.get('exception', {}).get('description') or details['text']}"
                )
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(f"log: {params['entry']['text']} {params['entry'].get('url', '')}")
            elif method == "Network.loadingFailed":
                found.append(f"request failed: {params['errorText']} ({params.get('type')})")
            elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
                found.append(f"HTTP {params['response']['status']}: {params['response']['url']}")
            elif method == "Network.requestWillBeSent":
                url = params["request"]["url"]
                if not (url.startswith(base_url + "/") or url.startswith("data:")):
                    found.append(f"request outside the API: {url}")
        return found


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[DevTools]:
    """A fresh headless Chromium (its own profile, no background traffic) and its blank page."""
    assert CHROMIUM is not None
    profile = tmp_path / "profile"
    log = tmp_path / "chromium.log"
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",  # we run as root in CI, where Chromium's sandbox cannot start
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",  # Chromium picks a free port and writes it to DevToolsActivePort
        "about:blank",
    ]
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    socket = None
    try:
        port = _devtools_port(profile, process, log)
        pages = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=5).json()
        (page,) = [p for p in pages if p["type"] == "page"]
        # No Origin header: Chromium refuses DevTools connections from origins it was not told about.
        socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=10, suppress_origin=True)
        yield DevTools(socket)
    finally:
        if socket is not None:
            socket.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _devtools_port(profile: Path, process: subprocess.Popen[bytes], log: Path) -> int:
    active = profile / "DevToolsActivePort"
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"chromium exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        if active.is_file() and active.read_text().strip():
            return int(active.read_text().split()[0])
        time.sleep(0.1)
    pytest.fail(
        f"chromium opened no DevTools port within {START_SECONDS}s:\n{log.read_text(errors='replace')}"
    )


def test_docs_page_renders_the_operations_offline_without_errors(server: LocalServer, browser_page: DevTools):
    # Given a headless browser that reports its console, exceptions and network traffic
    page = browser_page
    for domain in ("Runtime", "Log", "Network", "Page"):
        page.send(f"{domain}.enable")

    # When it opens the API's docs page
    page.send("Page.navigate", {"url": server.url("/docs")})

    # Then Swagger UI renders the document's operations in the page
    rendered = ""
    deadline = time.monotonic() + RENDER_SECONDS
    while RENDERED_PATH not in rendered and time.monotonic() < deadline:
        page.pump(0.25)
        rendered = page.evaluate(RENDERED_TEXT) or ""
    problems = page.problems(server.base_url)
    assert RENDERED_PATH in rendered, (
        f"not rendered in {RENDER_SECONDS}s; {problems}; page text: {rendered!r}"
    )
    page.pump(0.5)  # whatever the page still does once rendered

    # And it logged no error, reported no problem with the document, and every request it made was
    # to the API itself and succeeded (no CDN, no font service, no online validator)
    assert page.evaluate(SWAGGER_ERRORS) == []
    assert page.problems(server.base_url) == []
    requested = {p["request"]["url"].split("?")[0] for p in page.of("Network.requestWillBeSent")}
    requested = {url for url in requested if not url.startswith("data:")}  # the stylesheet's icons
    assert requested == {
        server.url("/docs"),
        server.url("/docs/swagger-ui.css"),
        server.url("/docs/swagger-ui-bundle.js"),
        server.url("/openapi.json"),
    }
