"""`make run`: the whole API on http://127.0.0.1:3000 without Docker or an AWS account.

- Routes come from template.yaml through SAM CLI's own local API Gateway service
  (``LocalApigwService`` fed by SAM's stack and API providers).
- Each function's handler runs in this process (layer on the path, the template's
  environment applied) instead of in a container.
- AWS services come from moto in server mode on loopback; tables, keys, secrets, queues,
  the event bus and its rules are created from the template's own resource definitions.
- The template's DynamoDB stream and SQS triggers are driven by polling moto in a background
  thread (``local.triggers``), invoking the same in-process handlers with real event shapes.
- API Gateway's own errors (unknown route, a crashed function) are rendered from the
  template's Gateway Responses, as API Gateway would.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from local import template as tpl

LOG = logging.getLogger("local-run")  # not under "partner-api", which Powertools formats as JSON
HOST = "127.0.0.1"


class StartupError(Exception):
    """Something the developer can fix; reported as one line, not a traceback."""


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    LOG.setLevel(logging.INFO)
    for noisy in ("werkzeug", "samcli", "botocore", "urllib3", "moto"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    port_text = os.environ.get("PORT", "3000")
    server = None
    try:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise StartupError(f"PORT={port_text!r} is not a TCP port number")
        server = LocalServer(int(port_text))
        server.start()
        server.serve_forever()
    except StartupError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopped.", file=sys.stderr)
    finally:
        if server:
            server.stop()
    return 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def require_free(port: int) -> None:
    with socket.socket() as probe:
        # As the server itself binds: closed connections lingering in TIME_WAIT do not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            raise StartupError(f"port {port} on {HOST} is in use (set PORT to another port)") from exc


class LocalServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.base_url = f"http://{HOST}:{port}"
        self.moto: Any = None
        self.service: Any = None
        self.gateway = GatewayResponses({})
        self.stack: Any = None
        self.triggers: Any = None

    def start(self) -> None:
        require_free(self.port)
        started = time.perf_counter()
        template, api = self._read_template()
        self.gateway = GatewayResponses(_gateway_responses(template))
        self._start_aws()
        self.credentials = self._seed()
        self.runner = InProcessRunner(self.gateway)
        self._start_triggers()
        self.service = self._api_service(api)
        self._print_banner(time.perf_counter() - started)

    def serve_forever(self) -> None:
        """Serve until Ctrl-C or SIGTERM. SAM's own ``run()`` turns SIGTERM into an ``Exception``
        that socketserver swallows when it lands mid-request, so both signals interrupt here."""
        import flask.cli

        def interrupt(_signal: int, _frame: Any) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, interrupt)
        flask.cli.show_server_banner = lambda *_args: None
        self.service._app.run(threaded=True, host=HOST, port=self.port)

    def stop(self) -> None:
        if self.triggers is not None:
            self.triggers.stop(timeout=5)  # a daemon thread: an invocation still running dies with us
            self.triggers = None
        if self.moto is not None:
            self.moto.stop()
            self.moto = None

    # -- steps -------------------------------------------------------------------------------

    def _read_template(self) -> tuple[dict[str, Any], Any]:
        from samcli.lib.providers.api_provider import ApiProvider
        from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

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

    def _start_aws(self) -> None:
        from moto.server import ThreadedMotoServer

        from local.stack import provision, serialize_moto_dynamodb

        moto_port = free_port()
        self.moto = ThreadedMotoServer(ip_address=HOST, port=moto_port, verbose=False)
        self.moto.start()
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": f"http://{HOST}:{moto_port}",
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            }
        )
        os.environ.pop("AWS_PROFILE", None)
        serialize_moto_dynamodb()
        self.stack = provision(
            "partner-api-local",
            parameters={"PublicBaseUrl": self.base_url, "AllowLoopbackWebhooks": "true"},
        )
        os.environ.update(self.stack.environment())
        layer = str(tpl.ROOT / "layers" / "shared")
        if layer not in sys.path:
            sys.path.insert(0, layer)

    def _seed(self) -> dict[str, str]:
        """The demo root partner and an operator credential, fixed by env vars when given."""
        from partner_api.logic.credentials import issue_operator_credential
        from partner_api.logic.partners import create_root
        from partner_api.models.partners import RootPartnerCreate
        from partner_api.store.events import Actor

        operator_id, operator_secret = issue_operator_credential(
            "local operator",
            client_id=os.environ.get("PARTNER_API_OPERATOR_CLIENT_ID") or None,
            secret=os.environ.get("PARTNER_API_OPERATOR_CLIENT_SECRET") or None,
        )
        _, credential = create_root(
            Actor(type="operator", client_id=operator_id, request_id="local-seed"),
            RootPartnerCreate(name="Demo Partner"),
            client_id=os.environ.get("PARTNER_API_DEMO_CLIENT_ID") or None,
            secret=os.environ.get("PARTNER_API_DEMO_CLIENT_SECRET") or None,
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

    def _api_service(self, api: Any) -> Any:
        from flask import g, request
        from samcli.lib.utils.stream_writer import StreamWriter
        from samcli.local.apigw.local_apigw_service import LocalApigwService

        service = LocalApigwService(
            api, self.runner, port=self.port, host=HOST, stderr=StreamWriter(sys.stderr, auto_flush=True)
        )
        service.create()
        app = service._app
        # API Gateway answers an unknown route or method with MISSING_AUTHENTICATION_TOKEN.
        for status in (404, 405):
            app.register_error_handler(status, lambda _e: self.gateway.flask("MISSING_AUTHENTICATION_TOKEN"))
        app.register_error_handler(500, lambda _e: self.gateway.flask("DEFAULT_5XX"))

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

        return service

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


@dataclass
class _Function:
    logical_id: str
    module: ModuleType
    handler_name: str = "handler"
    timeout: int = 10

    @property
    def handler(self) -> Any:
        return getattr(self.module, self.handler_name)

    def context(self) -> _Context:
        return _Context(self.logical_id, self.timeout)


class InProcessRunner:
    """Stands in for SAM's container runner: imports each handler once (a warm container).

    ``invoke`` is SAM's API Gateway entry point; ``call`` invokes any function with an event.
    """

    def __init__(self, gateway: GatewayResponses, template: dict[str, Any] | None = None) -> None:
        self.gateway = gateway
        self.functions = tpl.functions(template)
        self._loaded: dict[str, _Function] = {}
        self._lock = threading.Lock()

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
        function = self._function(function_identifier)
        request = json.loads(event)
        # SAM's local event builder reuses one requestId; API Gateway gives each request its own.
        request.setdefault("requestContext", {})["requestId"] = str(uuid.uuid4())
        try:
            result = function.handler(request, function.context())
        except Exception:
            # Lambda reports the crash; API Gateway answers with its DEFAULT_5XX response.
            traceback.print_exc(file=sys.stderr)
            result = self.gateway.proxy("DEFAULT_5XX")
        stdout.write_str(json.dumps(result))

    def call(self, logical_id: str, event: dict[str, Any]) -> Any:
        """Invoke a function with ``event`` as Lambda would; returns what its handler returns
        and raises what it raises."""
        function = self._function(logical_id)
        return function.handler(event, function.context())

    def _function(self, logical_id: str) -> _Function:
        with self._lock:
            if logical_id not in self._loaded:
                declared = self.functions[logical_id]
                path = declared.handler_file
                name = f"local_functions.{logical_id}"
                spec = importlib.util.spec_from_file_location(name, path)
                if spec is None or spec.loader is None:
                    raise RuntimeError(f"cannot load {path}")
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module
                spec.loader.exec_module(module)
                self._loaded[logical_id] = _Function(
                    logical_id, module, declared.handler_name, declared.timeout
                )
            return self._loaded[logical_id]


class _Context:
    def __init__(self, function_name: str, timeout: int = 10) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


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
