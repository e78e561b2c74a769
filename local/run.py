"""`make run`: the whole API on http://127.0.0.1:3000 without Docker or an AWS account.

- Routes come from template.yaml through SAM CLI's own local API Gateway service
  (``LocalApigwService`` fed by SAM's stack and API providers).
- Each function's handler runs in-process (layer on the path, the template's environment
  applied), in Lambda-like containers (``local.containers``): one request at a time per
  container, another container when all of a function's are busy, no lock between them. One
  API process per core (this one and ``api_worker``s) serves the one listening socket.
- AWS services come from moto in server mode on loopback, in a process of its own
  (``local.aws``) with ``local.dynamodb``'s patches where moto falls short of DynamoDB; tables,
  keys, secrets, queues, the event bus and its rules are created from the template's own
  resource definitions.
- The template's DynamoDB stream and SQS triggers are driven by polling moto in background
  threads of this process (``local.triggers``), invoking the same in-process handlers with real
  event shapes.
- API Gateway's own errors (unknown route, a crashed function) are rendered from the
  template's Gateway Responses, as API Gateway would.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from typing import Any

from local import pauses
from local import template as tpl
from local.aws import ChildProcess
from local.containers import Container, Containers

LOG = logging.getLogger("local-run")  # not under "partner-api", which Powertools formats as JSON
HOST = "127.0.0.1"
LAYER = str(tpl.ROOT / "layers" / "shared")  # on the path as Lambda puts the layer
# Processes serving the API (one per core, up to four): the handlers' Python work is spread
# over the cores as Lambda spreads containers over hosts.
API_PROCESSES = max(1, min(4, os.cpu_count() or 1))
_WORKER_FLAG = "--api-worker"


class StartupError(Exception):
    """Something the developer can fix; reported as one line, not a traceback."""


# The PARTNER_API_* settings of a local run, and what each must be for the API to accept it.
CLIENT_ID_SETTINGS = ("PARTNER_API_DEMO_CLIENT_ID", "PARTNER_API_OPERATOR_CLIENT_ID")
SECRET_SETTINGS = ("PARTNER_API_DEMO_CLIENT_SECRET", "PARTNER_API_OPERATOR_CLIENT_SECRET")
KNOWN_SETTINGS = (*CLIENT_ID_SETTINGS, *SECRET_SETTINGS, "PARTNER_API_TEMPLATE")
MIN_SECRET_LENGTH = 32


def checked_settings(environ: dict[str, str]) -> tuple[int, dict[str, str]]:
    """The port and the PARTNER_API_* values, or a ``StartupError`` naming the first one the API
    could never accept: the credentials are only usable if the token endpoint would take them."""
    from partner_api.ids import is_uuid

    port_text = environ.get("PORT", "3000").strip()
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise StartupError(f"PORT={port_text!r}: not a TCP port number (1-65535)")
    values = {name: environ[name].strip() for name in environ if name.startswith("PARTNER_API_")}
    for name in values:
        if name not in KNOWN_SETTINGS:
            raise StartupError(f"{name}: not a setting of the local run (known: {', '.join(KNOWN_SETTINGS)})")
    for name in CLIENT_ID_SETTINGS:
        value = values.get(name, "")
        if value and not is_uuid(value):
            raise StartupError(f"{name}={value!r}: a client id must be a lowercase UUID")
    for name in SECRET_SETTINGS:
        value = values.get(name, "")
        if value and len(value) < MIN_SECRET_LENGTH:
            raise StartupError(f"{name}: a client secret must be at least {MIN_SECRET_LENGTH} characters")
        if value and not all(c.isascii() and c.isprintable() and not c.isspace() for c in value):
            raise StartupError(f"{name}: a client secret must be printable ASCII without spaces")
    demo, operator = (values.get(name, "") for name in CLIENT_ID_SETTINGS)
    if demo and demo == operator:
        raise StartupError(f"{CLIENT_ID_SETTINGS[1]}: must differ from {CLIENT_ID_SETTINGS[0]}")
    return int(port_text), {name: value for name, value in values.items() if value}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if LAYER not in sys.path:
        sys.path.insert(0, LAYER)
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    LOG.setLevel(logging.INFO)
    for noisy in ("werkzeug", "samcli", "botocore", "urllib3", "moto"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    if args[:1] == [_WORKER_FLAG]:
        return api_worker(int(args[1]), int(args[2]), int(args[3]))
    server = None
    try:
        port, values = checked_settings(dict(os.environ))
        server = LocalServer(port, values)
        server.start()
        server.serve_forever()
    except StartupError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C while starting, before the server handles it
        print("\nstopped.", file=sys.stderr)
    finally:
        if server:
            server.stop()
    return 0


def read_template() -> tuple[dict[str, Any], Any]:
    """The template, and SAM's view of its API (routes per function)."""
    from samcli.lib.providers.api_provider import ApiProvider
    from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

    from local import apigw

    apigw.apply()  # explicit methods win over a path's ANY method, as in API Gateway
    try:
        template = tpl.load()
        stacks, _ = SamLocalStackProvider.get_stacks(str(tpl.TEMPLATE))
        api = ApiProvider(stacks).api
    except Exception as exc:  # any parse/transform failure is the template's, not ours
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StartupError(f"{tpl.TEMPLATE.name} cannot be used: {first_line}") from exc
    if not api.routes:
        raise StartupError("template.yaml declares no API routes")
    return template, api


def listen(port: int) -> socket.socket:
    """The API's listening socket, shared by every process that serves it."""
    listener = socket.socket()
    # As servers bind: closed connections lingering in TIME_WAIT do not count.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((HOST, port))
    except OSError as exc:
        listener.close()
        raise StartupError(f"PORT={port}: the port is in use on {HOST} (set PORT to a free one)") from exc
    listener.listen(128)
    listener.set_inheritable(True)
    # Several processes wait on this socket and one of them takes each connection: the others
    # must find nothing to accept and go on, not block in accept() (where a stop request waits).
    listener.setblocking(False)
    return listener


def serve(app: Any, listener: socket.socket) -> None:
    """Serve ``app`` on ``listener`` (one thread per connection) until SIGINT or SIGTERM.

    Both signals are handled here, explicitly: a shell that starts us in the background leaves
    SIGINT ignored. The handler only asks the server to stop (from another thread, as
    ``shutdown`` waits for the loop): an exception raised from a handler can land anywhere,
    even in a garbage-collector callback that swallows it, and then nothing stops."""
    from werkzeug.serving import make_server

    server = make_server(HOST, listener.getsockname()[1], app, threaded=True, fd=listener.fileno())

    def stop(_signal: int, _frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever()
    finally:
        server.server_close()


def api_worker(listener_fd: int, ready_fd: int, go_fd: int) -> int:
    """A further process serving the API from the local run's listening socket, so that the
    API's handlers use more than one core (each process is a set of Lambda containers; the
    kernel hands each connection to one of them). It says when it is ready, starts serving
    when the local run has printed its banner, and stops with the local run."""
    parent = os.getppid()
    listener = socket.socket(fileno=listener_fd)
    try:
        template, api = read_template()
    except StartupError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    gateway = GatewayResponses(_gateway_responses(template))
    app = api_app(api, InProcessRunner(gateway, on_start=_log_container), gateway)
    pauses.keep_full_collections_short()
    threading.Thread(target=_end_with_parent, args=(parent,), daemon=True).start()
    os.write(ready_fd, b"ready\n")
    os.close(ready_fd)
    if os.read(go_fd, 3) != b"go\n":  # the local run gave up starting
        return 1
    os.close(go_fd)
    serve(app, listener)
    return 0


def _end_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)


class ApiWorker(ChildProcess):
    """One ``api_worker`` process, started and stopped by the local run."""

    def __init__(self, listener: socket.socket) -> None:
        ready_read, ready_write = os.pipe()
        go_read, self._go = os.pipe()
        self._ready = os.fdopen(ready_read)
        fds = (listener.fileno(), ready_write, go_read)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local.run", _WORKER_FLAG, *map(str, fds)], cwd=tpl.ROOT, pass_fds=fds
        )
        os.close(ready_write)
        os.close(go_read)

    def wait_ready(self) -> None:
        line = self._ready.readline().strip()  # empty when the worker died first
        self._ready.close()
        if line != "ready":
            raise StartupError(f"an API process did not start (exit status {self.process.poll()})")

    def go(self) -> None:
        """Start serving (once the banner is out: whoever sees /health answer can read it)."""
        os.write(self._go, b"go\n")
        os.close(self._go)

    def stop(self, grace: float = 1.5) -> None:
        with contextlib.suppress(OSError):
            os.close(self._go)  # never told to go: it ends on its own
        super().stop(grace)


class LocalServer:
    def __init__(self, port: int, settings: dict[str, str] | None = None) -> None:
        self.port = port
        self.settings = settings or {}
        self.base_url = f"http://{HOST}:{port}"
        self.aws: Any = None
        self.app: Any = None
        self.gateway = GatewayResponses({})
        self.stack: Any = None
        self.triggers: Any = None
        self.listener: socket.socket | None = None
        self.workers: list[ApiWorker] = []

    def start(self) -> None:
        started = time.perf_counter()
        self.listener = listen(self.port)
        template, api = read_template()
        self.gateway = GatewayResponses(_gateway_responses(template))
        self._start_aws()
        self.credentials = self._seed()
        # The other API processes start now, with the stack's environment, and load meanwhile.
        self.workers = [ApiWorker(self.listener) for _ in range(API_PROCESSES - 1)]
        self.runner = InProcessRunner(self.gateway, on_start=_log_container)
        self._start_triggers()
        self.app = api_app(api, self.runner, self.gateway)
        for worker in self.workers:
            worker.wait_ready()
        pauses.keep_full_collections_short()  # what start-up loaded stays: out of the collector's way
        self._print_banner(time.perf_counter() - started)
        for worker in self.workers:
            worker.go()

    def serve_forever(self) -> None:
        """Serve until Ctrl-C or SIGTERM."""
        assert self.listener is not None
        serve(self.app, self.listener)
        print("\nstopped.", file=sys.stderr)

    def stop(self) -> None:
        """Stop every process of the run, all told at once so that together they take seconds."""
        for worker in self.workers:
            worker.terminate()
        if self.aws is not None:
            self.aws.terminate()
        for worker in self.workers:
            worker.stop()
        self.workers = []
        if self.triggers is not None:
            self.triggers.stop(timeout=1)  # daemon threads: an invocation still running dies with us
            self.triggers = None
        if self.aws is not None:
            self.aws.stop()
            self.aws = None
        if self.listener is not None:
            self.listener.close()
            self.listener = None

    # -- steps -------------------------------------------------------------------------------

    def _start_aws(self) -> None:
        from local.aws import AwsProcess
        from local.stack import provision

        self.aws = AwsProcess()
        try:
            endpoint = self.aws.start()
        except RuntimeError as exc:
            raise StartupError(str(exc)) from exc
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            }
        )
        os.environ.pop("AWS_PROFILE", None)
        self.stack = provision(
            "partner-api-local",
            parameters={"PublicBaseUrl": self.base_url, "AllowLoopbackWebhooks": "true"},
        )
        os.environ.update(self.stack.environment())

    def _seed(self) -> dict[str, str]:
        """The demo root partner and an operator credential, fixed by env vars when given."""
        from partner_api.logic.credentials import issue_operator_credential
        from partner_api.logic.partners import create_root
        from partner_api.models.partners import RootPartnerCreate
        from partner_api.store.events import Actor

        given = self.settings.get
        operator_id, operator_secret = issue_operator_credential(
            "local operator",
            client_id=given("PARTNER_API_OPERATOR_CLIENT_ID"),
            secret=given("PARTNER_API_OPERATOR_CLIENT_SECRET"),
        )
        _, credential = create_root(
            Actor(type="operator", client_id=operator_id, request_id="local-seed"),
            RootPartnerCreate(name="Demo Partner"),
            client_id=given("PARTNER_API_DEMO_CLIENT_ID"),
            secret=given("PARTNER_API_DEMO_CLIENT_SECRET"),
        )
        return {
            "demo_client_id": credential["clientId"],
            "demo_client_secret": credential["clientSecret"],
            "operator_client_id": operator_id,
            "operator_client_secret": operator_secret,
        }

    def _start_triggers(self) -> None:
        """Poll the template's stream and queue triggers for the functions whose handler exists."""
        from local.triggers import Triggers

        present = []
        for function in tpl.functions().values():
            if function.handler_file.is_file():
                present.append(function.logical_id)
            elif any(e["Type"] in ("DynamoDB", "SQS") for e in function.events.values()):
                LOG.warning(
                    "%s: %s not found; its trigger is off",
                    function.logical_id,
                    function.handler_file.relative_to(tpl.ROOT),
                )
        self.triggers = Triggers(self.stack, self.runner.call, functions=present)
        self.triggers.start()

    def _print_banner(self, seconds: float) -> None:
        c = self.credentials
        print(
            f"\nPartner Management API on {self.base_url}  (ready in {seconds:.1f}s; Ctrl-C stops)\n\n"
            f"  demo partner (all partner scopes), paste into another terminal:\n"
            f"    export BASE={self.base_url} CLIENT_ID={c['demo_client_id']} "
            f"CLIENT_SECRET={c['demo_client_secret']}\n"
            f"  operator (scope admin):\n"
            f"    export OPERATOR_ID={c['operator_client_id']} "
            f"OPERATOR_SECRET={c['operator_client_secret']}\n"
            f"\n  then follow the README's quickstart. One line per request follows.\n",
            flush=True,
        )


def api_app(api: Any, runner: InProcessRunner, gateway: GatewayResponses) -> Any:
    """SAM's local API Gateway service over ``runner``, as a WSGI app: the template's routes,
    API Gateway's own errors from the template's Gateway Responses, one log line per request."""
    from flask import g, request
    from samcli.lib.utils.stream_writer import StreamWriter
    from samcli.local.apigw.local_apigw_service import LocalApigwService

    service = LocalApigwService(api, runner, host=HOST, stderr=StreamWriter(sys.stderr, auto_flush=True))
    service.create()
    app = service._app
    # API Gateway answers an unknown route or method with MISSING_AUTHENTICATION_TOKEN.
    for status in (404, 405):
        app.register_error_handler(status, lambda _e: gateway.flask("MISSING_AUTHENTICATION_TOKEN"))
    app.register_error_handler(500, lambda _e: gateway.flask("DEFAULT_5XX"))

    @app.before_request
    def _start_clock() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _log_request(response: Any) -> Any:
        ms = (time.perf_counter() - getattr(g, "started", time.perf_counter())) * 1000
        request_id = response.headers.get("x-request-id", "-")
        LOG.info(
            "%s %s %s %.0fms %s",
            request.method,
            request.full_path.rstrip("?"),
            response.status_code,
            ms,
            request_id,
        )
        return response

    return app


def _log_container(container: Container) -> None:
    if container.number > 1:  # the first is the cold start every function has
        LOG.info("%s: container %d started (the others are busy)", container.logical_id, container.number)


class InProcessRunner:
    """Stands in for SAM's container runner: each function's handler runs in this process, in
    Lambda-like containers (``local.containers``).

    ``invoke`` is SAM's API Gateway entry point; ``call`` invokes any function with an event.
    """

    def __init__(
        self,
        gateway: GatewayResponses,
        template: dict[str, Any] | None = None,
        on_start: Callable[[Container], None] | None = None,
    ) -> None:
        self.gateway = gateway
        self.containers = Containers(template, on_start=on_start)

    def is_debugging(self) -> bool:
        return False

    def invoke(
        self,
        function_identifier: str,
        event: str,
        tenant_id: str | None = None,
        stdout: Any = None,
        stderr: Any = None,
        **_: Any,
    ) -> None:
        request = json.loads(event)
        # SAM's local event builder reuses one requestId; API Gateway gives each request its own.
        request.setdefault("requestContext", {})["requestId"] = str(uuid.uuid4())
        try:
            result = self.containers.invoke(function_identifier, request)
        except Exception:
            # Lambda reports the crash; API Gateway answers with its DEFAULT_5XX response.
            traceback.print_exc(file=sys.stderr)
            result = self.gateway.proxy("DEFAULT_5XX")
        stdout.write_str(json.dumps(result))

    def call(self, logical_id: str, event: dict[str, Any]) -> Any:
        """Invoke a function with ``event`` as Lambda would; returns what its handler returns
        and raises what it raises."""
        return self.containers.invoke(logical_id, event)


def _gateway_responses(template: dict[str, Any]) -> dict[str, Any]:
    api = next((r for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Api"), {})
    return dict(api.get("Properties", {}).get("GatewayResponses") or {})


class GatewayResponses:
    """The template's Gateway Responses, rendered as API Gateway would render them."""

    def __init__(self, responses: dict[str, Any]) -> None:
        self.responses = responses

    def render(self, kind: str) -> tuple[int, dict[str, str], str]:
        spec = (
            self.responses.get(kind)
            or self.responses.get("DEFAULT_5XX" if kind.endswith("5XX") else "DEFAULT_4XX")
            or {}
        )
        request_id = str(uuid.uuid4())
        body = spec.get("ResponseTemplates", {}).get("application/json", "")
        body = body.replace("$context.requestId", request_id).replace("$context.error.messageString", '""')
        headers = {"Content-Type": "application/json"}
        for name, value in (spec.get("ResponseParameters", {}).get("Headers") or {}).items():
            if value == "context.requestId":
                headers[name] = request_id
            elif value.startswith("'") and value.endswith("'"):
                headers[name] = value[1:-1]
        return int(spec.get("StatusCode", 500 if kind.endswith("5XX") else 400)), headers, body

    def flask(self, kind: str) -> Any:
        from flask import Response

        status, headers, body = self.render(kind)
        return Response(body, status=status, headers=headers)

    def proxy(self, kind: str) -> dict[str, Any]:
        status, headers, body = self.render(kind)
        return {"statusCode": status, "headers": headers, "body": body}


if __name__ == "__main__":
    sys.exit(main())
