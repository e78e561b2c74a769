"""API Gateway (REST, proxy integration) events, and calling handlers through the template's routes."""

from __future__ import annotations

import base64
import importlib
import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from local import template as tpl


def event(
    method: str,
    path: str,
    *,
    resource: str | None = None,
    path_params: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    body: str | bytes | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    """A REST API proxy event as API Gateway sends it."""
    if isinstance(body, bytes):
        body = base64.b64encode(body).decode() if base64_body else body.decode()
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method,
        "headers": dict(headers or {}),
        "multiValueHeaders": {k: [v] for k, v in (headers or {}).items()},
        "queryStringParameters": dict(query) if query else None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": dict(path_params) if path_params else None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource or path,
            "httpMethod": method,
            "path": f"/test{path}",
            "stage": "test",
            "requestId": str(uuid.uuid4()),
            "domainName": "api.test.local",
            "identity": {"sourceIp": "127.0.0.1"},
        },
        "body": body,
        "isBase64Encoded": base64_body,
    }


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def body(self) -> Any:
        return json.loads(self.text) if self.text else None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


def run(module_name: str, evt: dict[str, Any]) -> Reply:
    """Invoke a function module's ``handler`` with ``evt``."""
    module = importlib.import_module(module_name)
    raw = module.handler(evt, _Context())
    headers = {k: v for k, v in (raw.get("headers") or {}).items()}
    for k, values in (raw.get("multiValueHeaders") or {}).items():
        headers.setdefault(k, values[-1] if values else "")
    text = raw.get("body") or ""
    if raw.get("isBase64Encoded"):
        text = base64.b64decode(text).decode()
    return Reply(raw["statusCode"], headers, text, raw)


class Api:
    """Calls the API the way API Gateway would: the template's route table picks the function."""

    def __init__(self) -> None:
        # A path's explicit methods take precedence over its ANY method (MethodNotAllowedFunction),
        # and any path over a greedy one ({proxy+}), as in API Gateway.
        self.routes = sorted(tpl.routes(), key=lambda route: ("+}" in route.path, route.method == "ANY"))

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json_body: Any = None,
        body: str | bytes | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
    ) -> Reply:
        headers = dict(headers or {})
        if token:
            headers.setdefault("Authorization", f"Bearer {token}")
        if json_body is not None:
            body = json.dumps(json_body)
            headers.setdefault("Content-Type", "application/json")
        if form is not None:
            body = urlencode(form)
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        for route in self.routes:
            params = route.matches(method, path)
            if params is not None:
                evt = event(
                    method,
                    path,
                    resource=route.path,
                    path_params=params or None,
                    query=query,
                    headers=headers,
                    body=body,
                )
                return run(route.module, evt)
        raise AssertionError(f"no route in template.yaml for {method} {path}")


class _Context:
    function_name = "test"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "test-request"
