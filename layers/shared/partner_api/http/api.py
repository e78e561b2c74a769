"""``Api``: one Powertools resolver per function with our auth, envelope and error mapping.

A handler module is a few lines::

    api = Api()

    @api.route("POST", "/partner/v1/clients", scope="clients:write", body=ClientCreate, response=Client,
               status=201, errors=(404, 409))
    def register_client(call: Call) -> Response[str]: ...

    handler = api.handler

What a route declares (its ``Route``) is all there is about it: ``Call`` parses the request with the
declared models, and ``partner_api.http.openapi`` builds the published document from the same
declarations, so the two cannot disagree.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from pydantic import BaseModel, ValidationError

from partner_api.auth import binding, directories, tokens
from partner_api.auth.directories import DirectoryCaller
from partner_api.auth.principal import Principal
from partner_api.config import settings
from partner_api.errors import (
    DomainError,
    FieldIssue,
    InvalidInput,
    InvalidJson,
    MethodNotAllowed,
    MissingScopes,
    OAuthError,
    PayloadTooLarge,
)
from partner_api.http import errors, idempotency
from partner_api.logic.versions import etag
from partner_api.logs import correlate, logger
from partner_api.models.common import EVENT_ID_RE, UUID_RE
from partner_api.store.events import Actor

MAX_BODY_BYTES = 64 * 1024
SCIM_MEDIA_TYPE = "application/scim+json"
_REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,128}$")
# What a path parameter holds: a lowercase UUID unless named here. Call checks it, the document shows it.
PATH_PARAMETER_PATTERNS = {
    "eventId": EVENT_ID_RE,
    "asset": r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
    # SCIM looks these up and answers 404 for anything unknown: a resource type's name, a schema's URN.
    "resourceTypeId": r"^[^/]{1,200}$",
    "schemaId": r"^[^/]{1,200}$",
}
PATH_PARAMETER_ISSUES = {"eventId": "must be an event id", "asset": "must be a file name"}


@dataclass(frozen=True)
class Route:
    """Everything about one route: how it is served, parsed and documented."""

    method: str
    path: str  # template syntax: /partner/v1/clients/{clientId}
    name: str  # the view's name; the operation id
    summary: str  # the handler module's docstring, after "METHOD /path: "
    auth: str  # token | operator | directory (SCIM) | none
    scope: str | None
    body: type[BaseModel] | None  # a JSON body
    form: type[BaseModel] | None  # a form-encoded body (the OAuth endpoints)
    query: type[BaseModel] | None
    response: Any  # the success body's model: ``data`` of the envelope, or the whole body
    status: tuple[int, ...]  # the success statuses, the usual one first
    errors: tuple[int, ...]  # statuses beyond those the declaration implies (404, 409, ...)
    if_match: bool  # reads If-Match (412 on a stale one)
    media_types: tuple[str, ...]  # of the success body

    @property
    def enveloped(self) -> bool:
        """API.md section 1: every ``/partner/v1`` and ``/admin/v1`` answer is in the envelope."""
        return self.path.startswith(("/partner/", "/admin/"))

    @property
    def scim(self) -> bool:
        """API.md section 10: SCIM's own bodies, errors and media type, for directory tokens."""
        return self.auth == "directory"

    @property
    def idempotent_posts(self) -> bool:
        """``Idempotency-Key`` applies: authenticated POSTs under the envelope."""
        return self.method == "POST" and self.auth != "none" and self.enveloped

    @property
    def path_parameters(self) -> list[str]:
        return re.findall(r"\{(\w+)\}", self.path)


class Call:
    """One request as a route sees it: who is calling, and its parsed parts."""

    def __init__(
        self,
        event: dict[str, Any],
        request_id: str,
        path_params: dict[str, str],
        principal: Principal | None,
        route: Route | None = None,
        directory: DirectoryCaller | None = None,
    ) -> None:
        self.event = event
        self.request_id = request_id
        self.path_params = path_params
        self._principal = principal
        self.route = route
        self._directory = directory

    @property
    def directory(self) -> DirectoryCaller:
        """The directory a SCIM request speaks for (routes declared with ``auth="directory"``)."""
        if self._directory is None:
            raise RuntimeError("route is not authenticated by a directory token")
        return self._directory

    @property
    def principal(self) -> Principal:
        if self._principal is None:  # a route declared without auth asked for a caller
            raise RuntimeError("route has no authenticated caller")
        return self._principal

    @property
    def actor(self) -> Actor:
        p = self.principal  # a directory's: its client_id is the directoryId, its token_use "directory"
        return Actor(
            type=p.token_use, client_id=p.client_id, partner_id=p.partner_id, request_id=self.request_id
        )

    def path_id(self, name: str) -> str:
        """An id path parameter (``path_pattern``); a malformed one is a 400, not a lookup."""
        value = self.path_params.get(name, "")
        if not re.fullmatch(path_pattern(name), value):  # fullmatch: `$` alone lets a final newline in
            issue = PATH_PARAMETER_ISSUES.get(name, "must be a lowercase UUID")
            raise InvalidInput(f"The {name} value specified is invalid.", details=[FieldIssue(name, issue)])
        return value

    def header(self, name: str) -> str | None:
        return _header(self.event, name)

    def none_match(self, current: str) -> bool:
        """Whether ``If-None-Match`` names ``current`` (or ``*``): the client's copy is current."""
        offered = [tag.strip().removeprefix("W/") for tag in (self.header("if-none-match") or "").split(",")]
        return "*" in offered or current in offered

    @property
    def if_match(self) -> str | None:
        """The ``If-Match`` value; an empty one (no entity tag at all) is no condition."""
        self._declared("if_match")
        return (self.header("if-match") or "").strip() or None

    def _declared(self, part: str) -> Any:
        declared = getattr(self.route, part, None) if self.route else None
        if not declared:  # the route uses a part of the request its declaration does not document
            raise RuntimeError(f"route does not declare {part}")
        return declared

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

    def json_object(self) -> dict[str, Any]:
        """The JSON object body, unvalidated: for SCIM, whose mapping judges it (the route's ``body``
        model documents it)."""
        self._declared("body")
        data = self.json()
        if not isinstance(data, dict):
            raise InvalidInput(
                "The request body must be a JSON object.",
                details=[FieldIssue("body", "must be a JSON object")],
            )
        return data

    def body(self) -> Any:
        """The JSON body validated by the route's ``body`` model; a JSON value other than an object
        is invalid."""
        model = self._declared("body")
        data = self.json_object()
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise errors.from_validation(exc) from exc

    def form(self) -> dict[str, str]:
        """The route's ``application/x-www-form-urlencoded`` body (a repeated field keeps its first
        value; its ``form`` model documents the fields, the OAuth logic judges them)."""
        self._declared("form")
        fields: dict[str, str] = {}
        for name, value in parse_qsl(self.raw_body().decode("utf-8", "replace"), keep_blank_values=True):
            fields.setdefault(name, value)
        return fields

    def query(self) -> Any:
        """The query string validated by the route's ``query`` model."""
        model = self._declared("query")
        params = dict(self.event.get("queryStringParameters") or {})
        try:
            return model.model_validate(params)
        except ValidationError as exc:
            raise errors.from_validation(exc) from exc

    @property
    def base_url(self) -> str:
        return base_url(self.event)

    @property
    def scim_base_url(self) -> str:
        """Where a directory's identity provider sends SCIM requests."""
        return base_url(self.event) + "/scim/v2"

    @property
    def auth_request(self) -> binding.Request:
        """The request as authentication sees it (a DPoP proof is checked against it)."""
        return auth_request(self.event)

    def ok(
        self, message: str, data: Any, *, status: int = 200, version: tuple[str, int] | None = None
    ) -> Response[str]:
        """A success envelope; ``version`` = (resource id, version) adds the ``ETag``."""
        headers = {"ETag": etag(*version)} if version else {}
        return self.json_response(status, {"success": True, "message": message, "data": data}, headers)

    def json_response(
        self,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> Response[str]:
        return Response(
            status_code=status,
            content_type=content_type,
            body=errors.json_body(body) if body is not None else "",
            headers={**(headers or {}), "x-request-id": self.request_id},
        )

    def scim(self, status: int, resource: Any, headers: dict[str, str] | None = None) -> Response[str]:
        """A SCIM answer (``application/scim+json``); ``resource`` None: no body (204, 304)."""
        return self.json_response(status, resource, headers, content_type=SCIM_MEDIA_TYPE)


def path_pattern(name: str) -> str:
    return PATH_PARAMETER_PATTERNS.get(name, UUID_RE)


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


def auth_request(event: dict[str, Any]) -> binding.Request:
    """Method, public URL (``base_url`` + the path API Gateway matched, no query), the
    ``Authorization`` header and every ``DPoP`` header of the request."""
    return binding.Request(
        method=str(event.get("httpMethod") or "").upper(),
        url=base_url(event) + str(event.get("path") or ""),
        authorization=_header(event, "authorization"),
        dpop=tuple(_header_values(event, "dpop")),
    )


def _header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def _header_values(event: dict[str, Any], name: str) -> list[str]:
    """Every non-empty value of a header sent once or more. ``headers`` keeps one value per name;
    ``multiValueHeaders`` (API Gateway REST, SAM local) all of them. A value a proxy folded from
    several headers is split at its commas (which neither a token nor a JWS contains)."""
    multi = event.get("multiValueHeaders") or {}
    values = [str(v) for key, found in multi.items() if key.lower() == name for v in found or []]
    if not values:
        single = _header(event, name)
        values = [single] if single is not None else []
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def request_id_of(event: dict[str, Any]) -> str:
    given = _header(event, "x-request-id")
    if given and _REQUEST_ID.match(given):
        return given
    return str((event.get("requestContext") or {}).get("requestId") or _new_request_id())


def _new_request_id() -> str:
    import uuid

    return str(uuid.uuid4())


View = Callable[[Call], Response[str]]


def _summary(view: View) -> str:
    """The first line of the handler module's docstring, without its ``METHOD /path: `` prefix."""
    doc = (view.__globals__.get("__doc__") or view.__doc__ or "").strip().splitlines()
    first = doc[0] if doc else view.__name__.replace("_", " ")
    return first.split(": ", 1)[-1].rstrip(".")


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

    error_media_type = "application/json"  # of the answers ``_on_error`` / ``_on_not_found`` build

    def __init__(self) -> None:
        self.resolver = _PerThreadResolver()
        self._current = threading.local()  # this thread's request id
        self.resolver.exception_handler(Exception)(self._on_error)
        self.resolver.not_found()(self._on_not_found)
        self.declared: list[Route] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        scope: str | None = None,
        auth: str = "token",
        body: type[BaseModel] | None = None,
        form: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: Any = None,
        status: int | tuple[int, ...] = 200,
        errors: tuple[int, ...] = (),
        if_match: bool = False,
        media_type: str | tuple[str, ...] = "application/json",
    ) -> Callable[[View], View]:
        """Register ``view`` for ``method path`` (template syntax, ``{param}``).

        ``auth``: ``token`` (a valid token whose ``scope`` the route needs, if given),
        ``operator`` (an operator token with ``admin``), or ``none``. ``body``/``form``/``query``
        are the models ``Call`` parses with; ``response`` the model of what a success answers
        (``data`` of the envelope) with ``status`` (or one of several); ``errors`` the statuses
        the route's logic can answer beyond those its declaration implies.
        """
        method = method.upper()
        powertools_path = re.sub(r"\{(\w+)\}", r"<\1>", path)

        def register(view: View) -> View:
            route = Route(
                method=method,
                path=path,
                name=view.__name__,
                summary=_summary(view),
                auth=auth,
                scope=scope,
                body=body,
                form=form,
                query=query,
                response=response,
                status=status if isinstance(status, tuple) else (status,),
                errors=errors,
                if_match=if_match,
                media_types=media_type if isinstance(media_type, tuple) else (media_type,),
            )
            self.declared.append(route)

            def run(**path_params: str) -> Response[str]:
                event = self.resolver.current_event.raw_event
                principal, directory = None, None
                if auth == "directory":
                    directory = directories.authenticate(_header(event, "authorization"))
                    principal = directory.principal
                elif auth != "none":
                    principal = tokens.authenticate(auth_request(event), base_url(event))
                    needed = "admin" if auth == "operator" else scope
                    if auth == "operator" and principal.token_use != "operator":
                        raise MissingScopes()
                    if auth == "token" and principal.token_use == "operator" and scope:
                        raise MissingScopes()  # operators manage partners, not their data
                    if needed and not principal.has_scope(needed):
                        raise MissingScopes()
                call = Call(event, self._request_id, path_params, principal, route, directory)
                key = call.header("idempotency-key")
                if key is not None and route.idempotent_posts and principal is not None:
                    response = idempotency.once(
                        principal.client_id,
                        key,
                        f"{method} {event.get('path', '')}\n".encode() + call.raw_body(),
                        self.resolver.lambda_context,
                        lambda: view(call),
                    )
                    response.headers["x-request-id"] = self._request_id  # this request's, not the first's
                    return response
                return view(call)

            self.resolver.route(powertools_path, method)(run)
            return view

        return register

    @property
    def routes(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.declared]

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

    def method_not_allowed(self, allowed: Callable[[str], Sequence[str]]) -> None:
        """Answer any method on any path with ``405 METHOD_NOT_ALLOWED``, its ``Allow`` header
        listing ``allowed(resource)`` (``resource``: the template path API Gateway matched).

        For the function behind each route path's ``ANY`` method, which API Gateway reaches only
        with the methods the path's own routes do not declare. It declares no route of its own.
        """

        def refuse() -> Response[str]:
            event = self.resolver.current_event.raw_event
            resource = str(event.get("resource") or "")
            raise MethodNotAllowed(str(event.get("httpMethod") or ""), allowed(resource))

        any_method = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]  # what ANY receives
        self.resolver.route(".+", any_method, include_in_schema=False)(refuse)

    def _respond(self, status: int, body: Any, headers: dict[str, str]) -> Response[str]:
        return Response(
            status_code=status,
            content_type=self.error_media_type,
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
