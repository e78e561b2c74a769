"""Local run under load: ``make run``'s server (``python -m local.run``) driven over HTTP.

DESIGN.md asks the local run to hold up to real use: requests run concurrently (never behind one
process-wide lock), latency does not grow with the data, memory grows with it by tens of MB per
thousand clients, and nothing fails on the way. This section starts the server as a developer
would, with a fresh demo partner, and measures exactly that:

1. A request mix against the demo partner, per iteration: register a client, get two recently
   registered ones, list the first page, and follow that page's ``nextCursor`` once
   (1 register : 2 get : 1 list : 1 cursor list). Each phase runs for a fixed time after a short
   warm-up, with 1 worker and with 8 workers (threads, one keep-alive connection each).
2. The 8-worker mix again at each level of clients written through the API (default 0, 5,000
   and 20,000; the fill between levels registers clients with 8 workers), with the resident
   memory of the server and all its descendant processes (it may run moto in a child).
3. Every unexpected status and connection error, in the mix and in the fill.

The budget is ratios and counts, so that a slow or busy machine cannot fail it by being slow:
8 workers against 1 (concurrency), requests/s at the last level against the first (latency
does not grow with the data), MB per 1,000 clients (memory grows with the data, not faster),
errors. One absolute line: p99 with 8 workers under 500 ms, a bound far above what a healthy
local run takes on two cores.

A watchdog stops the section (and the server) when the server's memory passes a cap, so that a
runner that degrades with writes cannot take the machine down with it.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import json
import math
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
DEFAULT_LEVELS = "0,5000,20000"
DEFAULT_SECONDS = 10.0
WARM_UP_SECONDS = 2.0
DEFAULT_RSS_CAP_MB = 4096  # 3x what 20,000 clients may take within budget, far below the machine
STARTUP_SECONDS = 120
STOP_SECONDS = 10
REQUEST_TIMEOUT = 30
WORKERS = 8
PAGE_LIMIT = 20
CLIENTS = "/partner/v1/clients"
FIRST_PAGE = f"{CLIENTS}?limit={PAGE_LIMIT}"
RECENT_KEPT = 256  # the gets pick among the latest registrations
FILL_FAILURE_LIMIT = 100  # a fill that keeps failing stops rather than spin
ERRORS_SHOWN = 5
WATCH_EVERY = 0.5

GENERATOR_CORES_NOTE = 0.5  # a quarter of this two-core machine: the client may shape the figures
SPEEDUP_BUDGET = 1.5
P99_BUDGET_MS = 500.0
RPS_KEPT_BUDGET = 0.8
MB_PER_1000_BUDGET = 50.0

# As bench.py's: a finding is (OVER or NOTE, what).
OVER, NOTE = "OVER BUDGET", "NOTE"
Findings = list[tuple[str, str]]


def verdict(ok: bool) -> str:
    return "OK" if ok else OVER


# --------------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------------


def parse_levels(text: str) -> list[int]:
    try:
        levels = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a list of client counts: {text!r}") from exc
    if not levels or levels != sorted(set(levels)) or levels[0] < 0:
        raise argparse.ArgumentTypeError(f"levels must be ascending counts >= 0, like 0,500,2000: {text!r}")
    return levels


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """bench.py's flags for this section: run only it, skip it, or size it down for a quick run."""
    group = parser.add_argument_group("local run under load")
    which = group.add_mutually_exclusive_group()
    which.add_argument("--load-only", action="store_true", help="run only the local run under load")
    which.add_argument("--skip-load", action="store_true", help="skip the local run under load")
    group.add_argument(
        "--load-levels",
        type=parse_levels,
        default=os.environ.get("BENCH_LOAD_LEVELS", DEFAULT_LEVELS),
        metavar="N,N,...",
        help=f"clients written before each measurement (env BENCH_LOAD_LEVELS; default {DEFAULT_LEVELS})",
    )
    group.add_argument(
        "--load-seconds",
        type=float,
        default=float(os.environ.get("BENCH_LOAD_SECONDS", DEFAULT_SECONDS)),
        metavar="S",
        help=f"measured seconds per phase, after {WARM_UP_SECONDS:g} s of warm-up "
        f"(env BENCH_LOAD_SECONDS; default {DEFAULT_SECONDS:g})",
    )
    group.add_argument(
        "--load-rss-cap-mb",
        type=int,
        default=int(os.environ.get("BENCH_LOAD_RSS_CAP_MB", DEFAULT_RSS_CAP_MB)),
        metavar="MB",
        help=f"stop when the server's memory passes this (default {DEFAULT_RSS_CAP_MB})",
    )


# --------------------------------------------------------------------------------------------
# The server's process tree, from /proc
# --------------------------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat from field 3 (state) on; the command name before it may hold spaces."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants, by walking every process's parent id."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                parent = int(_stat_fields(int(entry.name))[1])
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
            children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass  # exited meanwhile: it holds nothing
    return 0  # a zombie has no VmRSS


def tree_rss_mb(root: int) -> tuple[float, int]:
    """The summed VmRSS of ``root`` and its descendants in MB, and how many processes that is."""
    tree = process_tree(root)
    return sum(_rss_kb(pid) for pid in tree) / 1024, len(tree)


def tree_cpu_seconds(root: int) -> float:
    ticks = 0
    for pid in process_tree(root):
        try:
            fields = _stat_fields(pid)
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        except (OSError, IndexError, ValueError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class Server:
    """``make run``'s process with fixed demo and operator credentials, its output in a folder."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.demo_client_id = str(uuid.uuid4())
        self.demo_client_secret = secrets.token_urlsafe(32)
        self.log_path = folder / "local-run.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        """Start it and wait for ``GET /health``; returns the seconds that took."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PARTNER_API_", "AWS_"))}
        env.update(
            PORT=str(self.port),
            PYTHONUNBUFFERED="1",
            PARTNER_API_DEMO_CLIENT_ID=self.demo_client_id,
            PARTNER_API_DEMO_CLIENT_SECRET=self.demo_client_secret,
            PARTNER_API_OPERATOR_CLIENT_ID=str(uuid.uuid4()),
            PARTNER_API_OPERATOR_CLIENT_SECRET=secrets.token_urlsafe(32),
        )
        started = time.perf_counter()
        with self.log_path.open("wb") as log:
            # sys.executable is make's .venv/bin/python. A session of its own, so that Ctrl-C on the
            # bench leaves the stopping to ``stop()``, which can then reach the server's children too.
            self.process = subprocess.Popen(
                [sys.executable, "-m", "local.run"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"local.run exited with {self.process.returncode} at startup")
            probe = Connection(self.port)
            status, _ = probe.send("GET", "/health")
            probe.close()
            if status == 200:
                return time.perf_counter() - started
            time.sleep(0.2)
        raise RuntimeError(f"local.run did not answer GET /health within {STARTUP_SECONDS} s")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exit_text(self) -> str:
        code = self.process.returncode if self.process else None
        if code is not None and code < 0:
            return f"killed by {signal.Signals(-code).name}" + (" (out of memory?)" if code == -9 else "")
        return f"exit code {code}"

    def log_tail(self, lines: int = 8) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """Ctrl-C as a terminal sends it (to the whole group), then SIGKILL to whatever is left."""
        if self.process is None:
            return
        group = self.process.pid  # start_new_session: the group is ours alone
        try:
            os.killpg(group, signal.SIGINT)
            self.process.wait(timeout=STOP_SECONDS)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass  # gone already, or hung: the SIGKILL below
        finally:
            # Also reaches a child the server's own shutdown left behind, even after a second Ctrl-C.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
            self.process.wait()


# --------------------------------------------------------------------------------------------
# The load generator: cheap on purpose, the server shares the machine's two cores
# --------------------------------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection; http.client reopens it after a failure."""

    def __init__(self, port: int) -> None:
        self._http = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)

    def send(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """The status and body; status 0 and the exception's text when no answer came."""
        try:
            self._http.request(method, path, body=body, headers=headers or {})
            reply = self._http.getresponse()
            return reply.status, reply.read()
        except (OSError, http.client.HTTPException) as exc:
            self._http.close()
            return 0, f"{type(exc).__name__}: {exc}".encode()

    def close(self) -> None:
        self._http.close()


class Token:
    """The demo partner's access token, renewed at half its lifetime."""

    def __init__(self, port: int, client_id: str, client_secret: str) -> None:
        self._port = port
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        self._basic = f"Basic {basic}"
        self._lock = threading.Lock()
        self._bearer = ""
        self._renew_at = 0.0

    def bearer(self) -> str:
        if time.monotonic() >= self._renew_at:
            with self._lock:
                if time.monotonic() >= self._renew_at:
                    self._fetch()
        return self._bearer

    def _fetch(self) -> None:
        connection = Connection(self._port)
        headers = {"Authorization": self._basic, "Content-Type": "application/x-www-form-urlencoded"}
        status, body = connection.send("POST", "/oauth/token", b"grant_type=client_credentials", headers)
        connection.close()
        if status != 200:
            raise RuntimeError(f"POST /oauth/token answered {status}: {body[:300]!r}")
        grant = json.loads(body)
        self._bearer = f"Bearer {grant['access_token']}"
        self._renew_at = time.monotonic() + int(grant.get("expires_in", 600)) / 2


class Errors:
    """Every unexpected answer: counted per phase, the first few kept to show."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.first: list[str] = []

    def add(self, phase: str, request: str, status: int, body: bytes) -> None:
        excerpt = body[:200].decode(errors="replace").replace("\n", " ")
        what = "no answer" if status == 0 else str(status)
        with self._lock:
            self.counts[phase] += 1
            if len(self.first) < ERRORS_SHOWN:
                self.first.append(f"{phase}: {request} -> {what}: {excerpt}")

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class Window:
    """A phase's clock: requests finishing between warm-up and end count; none start after end."""

    name: str
    measure_from: float
    end: float
    abort: threading.Event

    def over(self) -> bool:
        return self.abort.is_set() or time.perf_counter() >= self.end

    def counts(self, finished: float) -> bool:
        return self.measure_from <= finished <= self.end


Latencies = dict[str, list[float]]  # request kind -> seconds, one list per worker thread


def percentile(ordered: list[float], share: float) -> float:
    """Nearest rank on a sorted list."""
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else math.nan


@dataclass
class Phase:
    clients_before: int
    seconds: float
    latencies: Latencies
    server_cores: float
    generator_cores: float
    errors: int

    @property
    def requests(self) -> int:
        return sum(len(runs) for runs in self.latencies.values())

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def p(self, share: float, kind: str | None = None) -> float:
        runs = self.latencies.get(kind, []) if kind else [x for v in self.latencies.values() for x in v]
        return percentile(sorted(runs), share) * 1000


@dataclass
class Level:
    target: int
    written: int = 0  # clients registered through the API when the memory was read
    rss_mb: float = 0.0
    processes: int = 0
    filled: int = 0
    fill_seconds: float = 0.0
    fill_failures: int = 0
    phase: Phase | None = None


@dataclass
class Load:
    """The running server and what the workers share."""

    server: Server
    token: Token
    errors: Errors = field(default_factory=Errors)
    abort: threading.Event = field(default_factory=threading.Event)
    abort_reason: str = ""
    recent: deque[str] = field(default_factory=lambda: deque(maxlen=RECENT_KEPT))
    written: int = 0  # clients registered
    fill_failures: int = 0  # over all fills
    _claimed: int = 0  # fill registrations under way
    _emails: int = 0  # a new address per registration, across workers
    _run_tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def stop_all(self, reason: str) -> None:
        with self._lock:
            if not self.abort.is_set():
                self.abort_reason = reason
                self.abort.set()

    def call(
        self,
        connection: Connection,
        phase: str,
        method: str,
        path: str,
        expected: int,
        body: bytes | None = None,
    ) -> tuple[bytes | None, float]:
        """The body if the status is the expected one (else None, counted), and the seconds taken."""
        headers = {"Authorization": self.token.bearer()}
        if body is not None:
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        status, reply = connection.send(method, path, body, headers)
        took = time.perf_counter() - started
        if status == expected:
            return reply, took
        self.errors.add(phase, f"{method} {path.split('?')[0]}", status, reply)
        if status == 0 and not self.server.alive():
            self.stop_all(f"the server died ({self.server.exit_text()})")
        return None, took

    def register(self, connection: Connection, phase: str) -> tuple[str | None, float]:
        """One client through the API: its id (None if it failed), and the seconds taken."""
        with self._lock:
            self._emails += 1
            n = self._emails
        body = json.dumps({"name": f"Load Client {n}", "email": f"load-{self._run_tag}-{n}@example.com"})
        reply, took = self.call(connection, phase, "POST", CLIENTS, 201, body.encode())
        if reply is None:
            return None, took
        client_id = str(json.loads(reply)["data"]["clientId"])
        self.recent.append(client_id)
        with self._lock:
            self.written += 1
        return client_id, took

    def claim(self, target: int) -> bool:
        """A fill worker's turn to register one more, while fewer than ``target`` are written or under way."""
        with self._lock:
            if self.abort.is_set() or self.written + self._claimed >= target:
                return False
            self._claimed += 1
            return True

    def settle(self, registered: bool) -> int:
        """A claimed registration is over; returns the fill's failures so far."""
        with self._lock:
            self._claimed -= 1
            self.fill_failures += 0 if registered else 1
            return self.fill_failures


def _guarded(load: Load, work: Callable[[], None]) -> Callable[[], None]:
    """A worker whose crash stops the phase with the reason, rather than vanishing silently."""

    def run() -> None:
        try:
            work()
        except Exception as exc:
            load.stop_all(f"a load worker crashed: {''.join(traceback.format_exception_only(exc)).strip()}")

    return run


def _start_workers(load: Load, works: list[Callable[[], None]]) -> list[threading.Thread]:
    threads = [threading.Thread(target=_guarded(load, work), daemon=True) for work in works]
    for thread in threads:
        thread.start()
    return threads


def _mix_worker(load: Load, window: Window, latencies: Latencies) -> None:
    connection = Connection(load.server.port)

    def timed(kind: str, path: str) -> bytes | None:
        reply, took = load.call(connection, window.name, "GET", path, 200)
        if reply is not None and window.counts(time.perf_counter()):
            latencies[kind].append(took)
        return reply

    try:
        while not window.over():
            client_id, took = load.register(connection, window.name)
            if client_id is not None and window.counts(time.perf_counter()):
                latencies["register"].append(took)
            for _ in range(2):
                if window.over():
                    return
                timed("get", f"{CLIENTS}/{load.recent[random.randrange(len(load.recent))]}")
            if window.over():
                return
            page = timed("list", FIRST_PAGE)
            if page is None or window.over():
                continue
            cursor = json.loads(page)["data"]["pagination"].get("nextCursor")
            if not cursor:
                load.errors.add(window.name, f"GET {CLIENTS}", 200, b"first page without nextCursor")
                continue
            timed("cursor", f"{FIRST_PAGE}&cursor={quote(cursor, safe='')}")
    finally:
        connection.close()


def run_mix(load: Load, name: str, workers: int, seconds: float) -> Phase:
    """The request mix for ``seconds`` after the warm-up; CPU read at the window's edges."""
    clients_before = load.written
    errors_before = load.errors.counts[name]
    start = time.perf_counter()
    window = Window(name, start + WARM_UP_SECONDS, start + WARM_UP_SECONDS + seconds, load.abort)
    per_worker: list[Latencies] = [
        {"register": [], "get": [], "list": [], "cursor": []} for _ in range(workers)
    ]
    threads = _start_workers(load, [partial(_mix_worker, load, window, lat) for lat in per_worker])
    load.abort.wait(max(0.0, window.measure_from - time.perf_counter()))
    server_cpu, generator_cpu = tree_cpu_seconds(load.server.pid), time.process_time()
    load.abort.wait(max(0.0, window.end - time.perf_counter()))
    measured = min(time.perf_counter(), window.end) - window.measure_from
    server_cpu = tree_cpu_seconds(load.server.pid) - server_cpu
    generator_cpu = time.process_time() - generator_cpu
    for thread in threads:
        thread.join()
    merged: Latencies = {kind: [x for lat in per_worker for x in lat[kind]] for kind in per_worker[0]}
    return Phase(
        clients_before,
        measured,
        merged,
        server_cpu / measured if measured > 0 else 0.0,
        generator_cpu / measured if measured > 0 else 0.0,
        load.errors.counts[name] - errors_before,
    )


def fill(load: Load, target: int) -> Level:
    """Register clients with 8 workers until ``target`` are written (or the fill keeps failing)."""
    started = time.perf_counter()
    before, failed_before = load.written, load.fill_failures
    phase = f"fill to {target:,}"

    def work() -> None:
        connection = Connection(load.server.port)
        try:
            while load.claim(target):
                client_id, _ = load.register(connection, phase)
                if load.settle(client_id is not None) - failed_before >= FILL_FAILURE_LIMIT:
                    load.stop_all(f"{phase} stopped after {FILL_FAILURE_LIMIT} failed registrations")
        finally:
            connection.close()

    threading.Thread(target=_fill_progress, args=(load, target, started, before), daemon=True).start()
    for thread in _start_workers(load, [work] * WORKERS):
        thread.join()
    level = Level(target)
    level.filled = load.written - before
    level.fill_seconds = time.perf_counter() - started
    level.fill_failures = load.fill_failures - failed_before
    return level


def _fill_progress(load: Load, target: int, started: float, before: int) -> None:
    """A line every 30 s: a fill of thousands takes minutes."""
    while load.written < target and not load.abort.wait(30):
        if load.written < target:
            rss, _ = tree_rss_mb(load.server.pid)
            rate = (load.written - before) / (time.perf_counter() - started)
            print(
                f"    ... {load.written:,} of {target:,} clients written ({rate:.0f}/s), "
                f"server RSS {rss:,.0f} MB",
                flush=True,
            )


def _watch(load: Load, cap_mb: int, peak: list[float]) -> None:
    """Stops everything when the server dies or its memory passes the cap."""
    while not load.abort.wait(WATCH_EVERY):
        if not load.server.alive():
            load.stop_all(f"the server died ({load.server.exit_text()})")
            return
        rss, _ = tree_rss_mb(load.server.pid)
        peak[0] = max(peak[0], rss)
        if rss > cap_mb:
            load.stop_all(
                f"the server's memory passed {cap_mb:,} MB ({rss:,.0f} MB at {load.written:,} clients); "
                "stopped it (--load-rss-cap-mb)"
            )
            return


# --------------------------------------------------------------------------------------------
# The section
# --------------------------------------------------------------------------------------------


def local_run_under_load(options: argparse.Namespace) -> Findings:
    levels: list[int] = options.load_levels
    seconds: float = options.load_seconds
    print()
    print(
        f"Local run under load (make run's server over HTTP, {WORKERS} workers = threads with a keep-alive "
        f"connection each;\n  mix 1 register : 2 get : 1 list : 1 cursor list; {seconds:g} s per phase after "
        f"{WARM_UP_SECONDS:g} s warm-up; levels {', '.join(f'{n:,}' for n in levels)})"
    )
    # Ctrl-C raises KeyboardInterrupt; SIGTERM (kill, timeout) must unwind through the same finally,
    # or the server would outlive the bench.
    previous_sigterm = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with tempfile.TemporaryDirectory(prefix="bench-load-") as folder:
        server = Server(Path(folder))
        load: Load | None = None
        try:
            ready_in = server.start()
            load = Load(server, Token(server.port, server.demo_client_id, server.demo_client_secret))
            load.token.bearer()
            print(f"  server ready in {ready_in:.1f} s (pid {server.pid}, port {server.port})", flush=True)
            return _measure(load, levels, seconds, options.load_rss_cap_mb)
        except RuntimeError as exc:
            print(f"  FAILED: {exc}")
            if server.process is not None and not server.alive():
                print(f"  server {server.exit_text()}; its last lines:\n{server.log_tail()}")
            return [(OVER, f"local run under load: {exc}")]
        finally:
            if load is not None:
                load.stop_all("finished")
            server.stop()
            signal.signal(signal.SIGTERM, previous_sigterm)


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def warm_without_writing(load: Load) -> None:
    """One request to each function of the mix that writes nothing (an invalid body, an unknown id,
    an empty list), so that the baseline memory holds the imported handlers, not only the data."""
    connection = Connection(load.server.port)
    try:
        load.call(connection, "warm-up", "POST", CLIENTS, 400, b"{}")
        load.call(connection, "warm-up", "GET", f"{CLIENTS}/{uuid.uuid4()}", 404)
        load.call(connection, "warm-up", "GET", FIRST_PAGE, 200)
    finally:
        connection.close()


def _measure(load: Load, levels: list[int], seconds: float, cap_mb: int) -> Findings:
    """Each level: fill to it, read the memory, run the mix; lines printed as they come."""
    peak = [0.0]
    threading.Thread(target=_watch, args=(load, cap_mb, peak), daemon=True).start()
    warm_without_writing(load)
    print(
        f"  {'':<24}{'clients':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
        "   CPU cores: server / load generator"
    )
    one_worker: Phase | None = None
    reached: list[Level] = []
    for target in levels:
        level = fill(load, target)
        if load.abort.is_set():
            break
        level.written = load.written
        level.rss_mb, level.processes = tree_rss_mb(load.server.pid)
        reached.append(level)
        _level_line(level)
        if one_worker is None:
            # The cursor request needs a second page: seeded after the baseline memory was read.
            fill(load, 2 * PAGE_LIMIT + 1)
            one_worker = run_mix(load, f"mix at {target:,}, 1 worker", 1, seconds)
            _phase_line("1 worker", one_worker)
        level.phase = run_mix(load, f"mix at {target:,}, {WORKERS} workers", WORKERS, seconds)
        _phase_line(f"{WORKERS} workers", level.phase)
        if load.abort.is_set():
            break
    return _report(load, one_worker, reached, levels, peak[0])


def _level_line(level: Level) -> None:
    filled = ""
    if level.filled or level.fill_failures:
        rate = level.filled / level.fill_seconds if level.fill_seconds else 0.0
        filled = (
            f"; the fill wrote {level.filled:,} in {level.fill_seconds:.1f} s ({rate:.0f}/s), "
            f"{level.fill_failures} failed"
        )
    print(
        f"  level {level.target:,}: {level.written:,} clients written through the API, server RSS "
        f"{level.rss_mb:,.0f} MB (VmRSS of it and {level.processes - 1} descendant process(es)){filled}",
        flush=True,
    )


def _phase_line(label: str, phase: Phase) -> None:
    kinds = "  ".join(
        f"{kind} {phase.p(0.5, kind):.0f}/{phase.p(0.99, kind):.0f}"
        for kind, runs in phase.latencies.items()
        if runs
    )
    print(
        f"    {label:<22}{phase.clients_before:>8,} {phase.rps:8.1f} {phase.p(0.5):8.1f} {phase.p(0.99):8.1f}"
        f" {phase.errors:>7,}   {phase.server_cores:4.2f} / {phase.generator_cores:4.2f}",
        flush=True,
    )
    print(f"    {'':<22}p50/p99 ms by request: {kinds}", flush=True)


def _budget_line(label: str, figure: str, budget: str, ok: bool) -> None:
    print(f"    {label:<36}{figure:>16}   budget {budget:<20}{verdict(ok)}")


def _report(
    load: Load, one_worker: Phase | None, reached: list[Level], wanted: list[int], peak_mb: float
) -> Findings:
    findings: Findings = []
    print(f"  peak RSS seen {peak_mb:,.0f} MB; {load.written:,} clients written in all")

    print("  budget")
    errors = load.errors.total
    _budget_line("errors", f"{errors:,}", "0", errors == 0)
    if errors:
        per_phase = ", ".join(f"{count:,} in {phase}" for phase, count in load.errors.counts.items())
        findings.append((OVER, f"local run under load: {errors:,} unexpected answers ({per_phase})"))
    if load.abort_reason:
        print(f"    stopped early: {load.abort_reason}  {OVER}")
        findings.append((OVER, f"local run under load stopped early: {load.abort_reason}"))
        if not load.server.alive():
            print(f"    the server's last lines:\n{load.server.log_tail()}")
    missing = [n for n in wanted if n not in {level.target for level in reached}]
    if missing:
        print(f"    levels not reached: {', '.join(f'{n:,}' for n in missing)}  {OVER}")
        findings.append((OVER, f"local run under load: levels not reached: {', '.join(map(str, missing))}"))

    base = reached[0].phase if reached else None
    if one_worker is not None and base is not None and one_worker.rps > 0:
        speedup = base.rps / one_worker.rps
        label = f"{WORKERS} workers / 1 worker, req/s"
        _budget_line(label, f"{speedup:.2f}x", f">= {SPEEDUP_BUDGET}x", speedup >= SPEEDUP_BUDGET)
        if speedup < SPEEDUP_BUDGET:
            findings.append((OVER, f"local run: {label} is {speedup:.2f}x"))
    for level in reached:
        if level.phase is not None:
            p99 = level.phase.p(0.99)
            label = f"p99, {WORKERS} workers, level {level.target:,}"
            _budget_line(label, f"{p99:.0f} ms", f"< {P99_BUDGET_MS:.0f} ms", p99 < P99_BUDGET_MS)
            if not p99 < P99_BUDGET_MS:
                findings.append((OVER, f"local run: {label} is {p99:.0f} ms"))
    last = reached[-1] if len(reached) > 1 else None
    if base is not None and last is not None and last.phase is not None and base.rps > 0:
        kept = last.phase.rps / base.rps
        label = f"req/s at level {last.target:,} / at {reached[0].target:,}"
        _budget_line(label, f"{kept:.2f}x", f">= {RPS_KEPT_BUDGET}x", kept >= RPS_KEPT_BUDGET)
        if kept < RPS_KEPT_BUDGET:
            findings.append((OVER, f"local run: {label} is {kept:.2f}x"))
    for level in reached[1:]:
        grown = level.written - reached[0].written
        if grown <= 0:
            continue
        per_1000 = (level.rss_mb - reached[0].rss_mb) / grown * 1000
        label = f"RSS growth, level {reached[0].target:,} -> {level.target:,}"
        figure = f"{per_1000:.1f} MB/1,000"
        if level is not reached[-1]:
            print(f"    {label:<36}{figure:>16}   for information")
            continue
        _budget_line(label, figure, f"<= {MB_PER_1000_BUDGET:.0f} MB/1,000", per_1000 <= MB_PER_1000_BUDGET)
        if per_1000 > MB_PER_1000_BUDGET:
            findings.append((OVER, f"local run: {label} is {per_1000:.1f} MB per 1,000 clients"))
    phases = [one_worker, *(level.phase for level in reached)]
    generator = max((phase.generator_cores for phase in phases if phase is not None), default=0.0)
    if generator > GENERATOR_CORES_NOTE:
        findings.append(
            (NOTE, f"local run: the load generator itself used {generator:.2f} CPU cores, beside the server")
        )
    if load.errors.first:
        print(f"  first {len(load.errors.first)} of {errors:,} errors")
        for line in load.errors.first:
            print(f"    {line}")
    return findings
