"""``Api``: one Powertools resolver per function with our auth, envelope and error mapping.

A handler module is a few lines::

    api = Api()

    @api.route("POST", "/partner/v1/clients", scope="clients:write")
    def register_client(call: Call) -> Response[str]: ...

    handler = api.handler
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from pydantic import BaseModel, ValidationError

from partner_api.auth import tokens
from partner_api.auth.principal import Principal
from partner_api.config import settings
from partner_api.errors import (
    DomainError,
    FieldIssue,
    InvalidInput,
    InvalidJson,
    MissingScopes,
    OAuthError,
    PayloadTooLarge,
)
from partner_api.http import errors, idempotency
from partner_api.ids import is_uuid
from partner_api.logic.versions import etag
from partner_api.logs import correlate, logger
from partner_api.store.events import Actor

MAX_BODY_BYTES = 64 * 1024
_REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,128}$")
Model = TypeVar("Model", bound=BaseModel)


class Call:
    """One request as a route sees it: who is calling, and its parsed parts."""

    def __init__(
        self, event: dict[str, Any], request_id: str, path_params: dict[str, str], principal: Principal | None
    ) -> None:
        self.event = event
        self.request_id = request_id
        self.path_params = path_params
        self._principal = principal

    @property
    def principal(self) -> Principal:
        if self._principal is None:  # a route declared without auth asked for a caller
            raise RuntimeError("route has no authenticated caller")
        return self._principal

    @property
    def actor(self) -> Actor:
        p = self.principal
        return Actor(
            type=p.token_use, client_id=p.client_id, partner_id=p.partner_id, request_id=self.request_id
        )

    def path_id(self, name: str) -> str:
        """A UUID path parameter; a malformed one is a 400, not a lookup."""
        value = self.path_params.get(name, "")
        if not is_uuid(value):
            raise InvalidInput(
                f"The {name} value specified is invalid.",
                details=[FieldIssue(name, "must be a lowercase UUID")],
            )
        return value

    def header(self, name: str) -> str | None:
        return _header(self.event, name)

    @property
    def if_match(self) -> str | None:
        return self.header("if-match")

    def raw_body(self) -> bytes:
        body = self.event.get("body") or ""
        data = base64.b64decode(body) if self.event.get("isBase64Encoded") else body.encode()
        if len(data) > MAX_BODY_BYTES:
            raise PayloadTooLarge()
        return data

    def json(self) -> Any:
        data = self.raw_body()
        if not data.strip():
            return {}
        try:
            return json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidJson() from exc

    def body(self, model: type[Model]) -> Model:
        """The JSON body validated by ``model``; a JSON value other than an object is invalid."""
        data = self.json()
        if not isinstance(data, dict):
            raise InvalidInput(
                "The request body must be a JSON object.",
                details=[FieldIssue("body", "must be a JSON object")],
            )
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise errors.from_validation(exc) from exc

    def form(self) -> dict[str, str]:
        """An ``application/x-www-form-urlencoded`` body (a repeated field keeps its first value)."""
        fields: dict[str, str] = {}
        for name, value in parse_qsl(self.raw_body().decode("utf-8", "replace"), keep_blank_values=True):
            fields.setdefault(name, value)
        return fields

    def query(self, model: type[Model]) -> Model:
        params = dict(self.event.get("queryStringParameters") or {})
        try:
            return model.model_validate(params)
        except ValidationError as exc:
            raise errors.from_validation(exc) from exc

    @property
    def base_url(self) -> str:
        return base_url(self.event)

    def ok(
        self, message: str, data: Any, *, status: int = 200, version: tuple[str, int] | None = None
    ) -> Response[str]:
        """A success envelope; ``version`` = (resource id, version) adds the ``ETag``."""
        headers = {"ETag": etag(*version)} if version else {}
        return self.json_response(status, {"success": True, "message": message, "data": data}, headers)

    def json_response(self, status: int, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
        return Response(
            status_code=status,
            content_type="application/json",
            body=errors.json_body(body),
            headers={**(headers or {}), "x-request-id": self.request_id},
        )


def base_url(event: dict[str, Any]) -> str:
    """The public URL the API is served at: configured, else what API Gateway was called on."""
    configured = settings().public_base_url
    if configured:
        return configured
    context = event.get("requestContext") or {}
    domain = context.get("domainName") or _header(event, "host") or "localhost"
    if domain.endswith(".amazonaws.com") and context.get("stage"):
        return f"https://{domain}/{context['stage']}"
    return f"https://{domain}"


def _header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def request_id_of(event: dict[str, Any]) -> str:
    given = _header(event, "x-request-id")
    if given and _REQUEST_ID.match(given):
        return given
    return str((event.get("requestContext") or {}).get("requestId") or _new_request_id())


def _new_request_id() -> str:
    import uuid

    return str(uuid.uuid4())


View = Callable[[Call], Response[str]]


class _PerThreadResolver(APIGatewayRestResolver):
    """Powertools keeps the request it resolves on its ``BaseRouter`` class: one per process,
    which in Lambda is one per container. Hosts that run several containers' requests on threads
    of one process (the local runner, the tests) would mix them up, so here it is per thread."""

    _request = threading.local()

    @property
    def current_event(self) -> Any:
        return self._request.event

    @current_event.setter
    def current_event(self, value: Any) -> None:
        self._request.event = value

    @property
    def lambda_context(self) -> Any:
        return self._request.context

    @lambda_context.setter
    def lambda_context(self, value: Any) -> None:
        self._request.context = value

    def resolve(self, event: Any, context: Any) -> dict[str, Any]:
        self.current_event = self._to_proxy_event(event)
        self.lambda_context = context
        return super().resolve(event, context)


class Api:
    """A Powertools REST resolver wired with auth, scopes, request ids and the error envelope."""

    def __init__(self) -> None:
        self.resolver = _PerThreadResolver()
        self._current = threading.local()  # this thread's request id
        self.resolver.exception_handler(Exception)(self._on_error)
        self.resolver.not_found()(self._on_not_found)
        self.routes: list[tuple[str, str]] = []

    def route(
        self, method: str, path: str, *, scope: str | None = None, auth: str = "token"
    ) -> Callable[[View], View]:
        """Register ``view`` for ``method path`` (template syntax, ``{param}``).

        ``auth``: ``token`` (a valid token whose ``scope`` the route needs, if given),
        ``operator`` (an operator token with ``admin``), or ``none``.
        """
        self.routes.append((method.upper(), path))
        powertools_path = re.sub(r"\{(\w+)\}", r"<\1>", path)

        def register(view: View) -> View:
            def run(**path_params: str) -> Response[str]:
                event = self.resolver.current_event.raw_event
                principal = None
                if auth != "none":
                    principal = tokens.authenticate(_header(event, "authorization"), base_url(event))
                    needed = "admin" if auth == "operator" else scope
                    if auth == "operator" and principal.token_use != "operator":
                        raise MissingScopes()
                    if auth == "token" and principal.token_use == "operator" and scope:
                        raise MissingScopes()  # operators manage partners, not their data
                    if needed and not principal.has_scope(needed):
                        raise MissingScopes()
                call = Call(event, self._request_id, path_params, principal)
                key = call.header("idempotency-key")
                if key is not None and method.upper() == "POST" and principal is not None:
                    response = idempotency.once(
                        principal.client_id,
                        key,
                        call.raw_body(),
                        self.resolver.lambda_context,
                        lambda: view(call),
                    )
                    response.headers["x-request-id"] = self._request_id  # this request's, not the first's
                    return response
                return view(call)

            self.resolver.route(powertools_path, method.upper())(run)
            return view

        return register

    @property
    def _request_id(self) -> str:
        return str(getattr(self._current, "request_id", ""))

    def handler(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        """The Lambda entry point."""
        started = time.perf_counter()
        self._current.request_id = request_id_of(event)
        correlate(self._request_id)
        response = self.resolver.resolve(event, context)
        logger.info(
            "request",
            extra={
                "method": event.get("httpMethod"),
                "path": event.get("path"),
                "status": response.get("statusCode"),
                "ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return response

    def _respond(self, status: int, body: Any, headers: dict[str, str]) -> Response[str]:
        return Response(
            status_code=status,
            content_type="application/json",
            body=errors.json_body(body),
            headers={**headers, "x-request-id": self._request_id},
        )

    def _on_error(self, exc: Exception) -> Response[str]:
        if isinstance(exc, DomainError):
            status, body, headers = errors.envelope_error(exc, self._request_id)
            if status >= 500:
                logger.warning("dependency unavailable", exc_info=exc)
            return self._respond(status, body, headers)
        if isinstance(exc, OAuthError):
            status, body, headers = errors.oauth_error(exc)
            return self._respond(status, body, {**headers, "Cache-Control": "no-store"})
        logger.exception("unexpected error")
        status, body = errors.unexpected(self._request_id)
        return self._respond(status, body, {})

    def _on_not_found(self, _exc: Exception) -> Response[str]:
        body = {
            "success": False,
            "code": "NOT_FOUND",
            "message": "No such route.",
            "requestId": self._request_id,
        }
        return self._respond(404, body, {})
