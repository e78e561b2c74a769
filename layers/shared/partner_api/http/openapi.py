"""The OpenAPI 3.1 document of the API, built from the routes' own declarations (``Api.route``).

Nothing here is written by hand per route: parameters come from the query models and the path,
bodies from the body and form models, answers from the response types, the error statuses
from what the declaration implies (auth -> 401/403, a body -> 400/413, ...) plus the route's
``errors``. ``make openapi`` writes the result to ``docs/openapi.json``; tests fail when the
committed file and the code differ. Only the tools import this module, never a function.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any, get_type_hints

from pydantic import BaseModel, TypeAdapter

from partner_api.auth.dpop import ALGORITHMS
from partner_api.auth.principal import OPERATOR_SCOPES, PARTNER_SCOPES
from partner_api.http.api import Route, path_pattern
from partner_api.http.idempotency import MAX_KEY_LENGTH

OPENAPI_VERSION = "3.1.0"
REF = "#/components/schemas/{model}"
TITLE = "Partner Management API"
DESCRIPTION = (
    "Partners register and manage their clients, sub-partners, accounts, credentials and webhooks. "
    "Every `/partner/v1` and `/admin/v1` answer is a JSON envelope "
    '(`{"success": true, "message", "data"}` or the `Error` schema); the OAuth endpoints answer as '
    "RFC 6749 says. Get a token from `POST /oauth/token` (client credentials) and send it as "
    "`Authorization: Bearer <token>`. With a DPoP proof (RFC 9449) in the token request's `DPoP` header "
    "the token is bound to the proof's key: send it as `Authorization: DPoP <token>` with a fresh proof "
    "in `DPoP` on every request. A method a resource does not have answers `405` with `Allow` "
    "(`#/components/responses/Error405`). `/scim/v2` is SCIM 2.0 (RFC 7643/7644) for identity providers: "
    "a directory token (`scim_…`, from `POST /partner/v1/directories`) as `Authorization: Bearer`, "
    "`application/scim+json` bodies, and errors in SCIM's own body (the `ScimError` schema)."
)

# The answers the whole API shares (API.md section 1).
ERROR_MESSAGES = {
    400: "Invalid input: `INVALID_JSON`, `MISSING_REQUIRED_PARAMS` or `INVALID_PARAMETER`, with `details`.",
    401: "`NO_AUTHORIZATION_HEADER`, `INVALID_ACCESS_TOKEN` or `INVALID_DPOP_PROOF` (with a `DPoP` "
    "challenge in `WWW-Authenticate`, and `DPoP-Nonce` when the proof must carry that nonce).",
    403: "`MISSING_SCOPES`, `AUTHENTICATION_FAILED`, `PERMISSION_DENIED` or "
    "`MAXIMUM_USERS_FOR_ACCOUNT_LIMIT_EXCEEDED`.",
    404: "No such resource visible to the caller (`CLIENT_NOT_FOUND`, `PARTNER_NOT_FOUND`, ...).",
    409: "A uniqueness conflict, `PARTNER_NOT_EMPTY`, or `IDEMPOTENCY_KEY_IN_USE`.",
    412: "`PRECONDITION_FAILED`: `If-Match` does not match the current `ETag`.",
    413: "`PAYLOAD_TOO_LARGE`: the body is over 64 KiB.",
    422: "`IDEMPOTENCY_KEY_REUSED`: the same `Idempotency-Key` with another body.",
    429: "`TOO_MANY_REQUESTS`: throttled.",
    500: "`INTERNAL_SERVER_ERROR`.",
    503: "`SERVICE_UNAVAILABLE`: a dependency is throttling or down; retry after `Retry-After` seconds.",
}
SCIM_ERROR_MESSAGES = {
    400: "SCIM `invalidFilter`, `invalidValue`, `invalidSyntax`, `invalidPath`, `noTarget` or `mutability`.",
    401: "No directory token, or one that is unknown, rotated or deleted.",
    403: "The directory's partner is not active, or its account's SEATS cap is reached.",
    404: "No such User for this directory (or no such resource type or schema).",
    405: "The resource exists, the method does not; `Allow` lists those it has.",
    409: "`uniqueness`: a client of the tenant already has this userName (email).",
    412: "`If-Match` does not match the User's current `ETag`.",
    413: "The body is over 64 KiB.",
    429: "Throttled.",
    500: "An unexpected error.",
    503: "A dependency is throttling or down; retry after `Retry-After` seconds.",
}
OAUTH_ERROR_MESSAGES = {
    400: "RFC 6749 error: `invalid_request`, `unsupported_grant_type`, `invalid_scope`, `invalid_grant`; "
    "RFC 9449: `invalid_dpop_proof`, or `use_dpop_nonce` with the nonce in `DPoP-Nonce`.",
    401: "`invalid_client`: wrong secret, revoked credential or inactive partner.",
}
ALWAYS = (429, 500, 503)

ERROR_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["success", "code", "message", "requestId"],
        "properties": {
            "success": {"const": False},
            "code": {"type": "string", "examples": ["CLIENT_ALREADY_EXISTS"]},
            "message": {"type": "string"},
            "details": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "issue"],
                    "properties": {"field": {"type": "string"}, "issue": {"type": "string"}},
                },
            },
            "requestId": {"type": "string"},
        },
    },
    "OAuthError": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "string",
                "enum": [
                    "invalid_request",
                    "invalid_client",
                    "invalid_grant",
                    "invalid_scope",
                    "unsupported_grant_type",
                    "invalid_dpop_proof",
                    "use_dpop_nonce",
                ],
            },
            "error_description": {"type": "string"},
        },
    },
}

ERROR_SCHEMAS["ScimError"] = {
    "type": "object",
    "required": ["schemas", "status"],
    "properties": {
        "schemas": {"type": "array", "items": {"const": "urn:ietf:params:scim:api:messages:2.0:Error"}},
        "status": {"type": "string", "pattern": "^[45][0-9]{2}$"},
        "scimType": {
            "type": "string",
            "enum": [
                "invalidFilter",
                "tooMany",
                "uniqueness",
                "mutability",
                "invalidSyntax",
                "invalidPath",
                "noTarget",
                "invalidValue",
            ],
        },
        "detail": {"type": "string"},
    },
}
SCIM_MEDIA_TYPES = ("application/scim+json", "application/json")

HEADERS: dict[str, Any] = {
    "RequestId": {
        "description": "The request's id: the caller's `x-request-id` if it sent a valid one.",
        "required": True,
        "schema": {"type": "string"},
    },
    "ETag": {"description": "The resource's version, for `If-Match`.", "schema": {"type": "string"}},
    "IdempotentReplayed": {
        "description": "`true` when this is the stored answer to an earlier request with this "
        "`Idempotency-Key`.",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "RetryAfter": {"description": "Seconds to wait.", "required": True, "schema": {"type": "string"}},
    "BasicChallenge": {"description": "The `Basic` challenge.", "schema": {"type": "string"}},
    "DpopChallenge": {
        "description": 'With `INVALID_DPOP_PROOF`: `DPoP error="invalid_dpop_proof"` (or `invalid_token`, '
        f'`use_dpop_nonce`), `algs="{" ".join(ALGORITHMS)}"`.',
        "schema": {"type": "string"},
    },
    "DpopNonce": {
        "description": "The server nonce the next DPoP proof must carry (`use_dpop_nonce`).",
        "schema": {"type": "string"},
    },
    "Allow": {
        "description": "The methods the resource has, e.g. `GET, POST`.",
        "required": True,
        "schema": {"type": "string"},
    },
    "Location": {"description": "The new resource's URL.", "required": True, "schema": {"type": "string"}},
    "BearerChallenge": {"description": 'The `Bearer realm="scim"` challenge.', "schema": {"type": "string"}},
}
REQUEST_ID_HEADER = {"$ref": "#/components/headers/RequestId"}
ETAG_HEADER = {"$ref": "#/components/headers/ETag"}
REPLAYED_HEADER = {"$ref": "#/components/headers/IdempotentReplayed"}
RETRY_AFTER_HEADER = {"$ref": "#/components/headers/RetryAfter"}
BASIC_CHALLENGE_HEADER = {"$ref": "#/components/headers/BasicChallenge"}
DPOP_CHALLENGE_HEADER = {"$ref": "#/components/headers/DpopChallenge"}
DPOP_NONCE_HEADER = {"$ref": "#/components/headers/DpopNonce"}
DPOP_PARAMETER = {
    "name": "DPoP",
    "in": "header",
    "required": False,
    "description": "A DPoP proof (RFC 9449) for this request: signed by the key a DPoP-bound token is bound "
    "to (required with one), or, on the token endpoint, by the key to bind the new token to.",
    "schema": {"type": "string"},
}


def document(routes: Iterable[Route], version: str) -> dict[str, Any]:
    """The whole document for ``routes`` (every function's ``api.declared``)."""
    routes = sorted(routes, key=lambda r: (r.path, r.method))
    schemas = Schemas()
    operation_ids = _operation_ids(routes)
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        operation = _operation(route, operation_ids[route], schemas)
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    _add_links(routes, paths, operation_ids)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": TITLE, "version": version, "description": DESCRIPTION},
        "tags": [{"name": tag} for tag in dict.fromkeys(_tag(r) for r in routes)],
        "paths": paths,
        "components": {
            "schemas": {**ERROR_SCHEMAS, **dict(sorted(schemas.found.items()))},
            "responses": _error_responses(),
            "headers": HEADERS,
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


PLAIN: dict[Any, dict[str, Any]] = {dict: {"type": "object"}, str: {"type": "string"}}


class Schemas:
    """Named component schemas, collected from the pydantic models and TypedDicts routes use."""

    def __init__(self) -> None:
        self.found: dict[str, Any] = {}
        self._owners: dict[str, Any] = {}

    def ref(self, kind: Any, mode: str = "validation") -> dict[str, Any]:
        """A ``$ref`` to ``kind``'s schema, adding it (and what it refers to) to the components."""
        if kind in PLAIN:  # a JSON object or a text of no declared shape
            return dict(PLAIN[kind])
        schema = TypeAdapter(kind).json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
        for name, definition in schema.pop("$defs", {}).items():
            self._add(name, definition, kind)
        name = kind.__name__
        self._add(name, schema, kind)
        return {"$ref": REF.format(model=name)}

    def inline(self, kind: Any) -> dict[str, Any]:
        """``kind``'s own schema (its references still go to the components)."""
        schema = TypeAdapter(kind).json_schema(ref_template=REF)
        for name, definition in schema.pop("$defs", {}).items():
            self._add(name, definition, kind)
        return schema

    def _add(self, name: str, definition: dict[str, Any], owner: Any) -> None:
        definition = _tidy(definition)
        if name in self.found and self.found[name] != definition:
            raise ValueError(f"two different schemas are named {name} (one from {owner!r})")
        self.found[name] = definition


def _tidy(schema: Any) -> Any:
    """pydantic's schema without what only clutters the document (titles, ``default: null``)."""
    if isinstance(schema, dict):
        return {
            k: _tidy(v)
            for k, v in schema.items()
            if not (k == "title" and isinstance(v, str)) and not (k == "default" and v is None)
        }
    if isinstance(schema, list):
        return [_tidy(v) for v in schema]
    return schema


def _operation(route: Route, operation_id: str, schemas: Schemas) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": route.summary[:1].upper() + route.summary[1:],
        "tags": [_tag(route)],
        "security": _security(route),
    }
    if route.auth != "none":
        operation["description"] = _scope_note(route)
    parameters = _parameters(route, schemas)
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        body = {"schema": schemas.ref(route.body)}
        operation["requestBody"] = {
            # Call reads an empty body as {}: required only when {} is not a valid body.
            "required": any(field.is_required() for field in route.body.model_fields.values()),
            "content": {media: body for media in (SCIM_MEDIA_TYPES if route.scim else ("application/json",))},
        }
    if route.form is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": schemas.ref(route.form)}},
        }
    operation["responses"] = _responses(route, schemas)
    return operation


def _parameters(route: Route, schemas: Schemas) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [_path_parameter(name) for name in route.path_parameters]
    if route.auth in ("token", "operator") or _binds_tokens(route):
        found.append(DPOP_PARAMETER)
    if route.query is not None:
        query = schemas.inline(route.query)
        required = set(query.get("required", []))
        for name, schema in query["properties"].items():
            schema = _not_null(_tidy(schema))  # a query parameter is absent or a string, never null
            found.append({"name": name, "in": "query", "required": name in required, "schema": schema})
    if route.idempotent_posts:
        found.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "Makes a retried POST safe: the same key and body within 24 hours answer "
                "as the first request did.",
                "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
            }
        )
    if route.scim and 304 in route.status:
        found.append(
            {
                "name": "If-None-Match",
                "in": "header",
                "required": False,
                "description": "An `ETag` from an earlier answer: `304` without a body while it is current.",
                "schema": {"type": "string"},
            }
        )
    if route.if_match:
        found.append(
            {
                "name": "If-Match",
                "in": "header",
                "required": False,
                "description": "An `ETag` from an earlier answer: the change applies only to that version.",
                "schema": {"type": "string"},
            }
        )
    return found


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    options = [o for o in schema.get("anyOf", []) if o != {"type": "null"}]
    if len(options) == 1:
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        return {**options[0], **rest}
    return schema


def _path_parameter(name: str) -> dict[str, Any]:
    schema = {"type": "string", "pattern": path_pattern(name)}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _responses(route: Route, schemas: Schemas) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    body = schemas.ref(route.response, "serialization") if route.response is not None else None
    for status in route.status:
        responses[str(status)] = _success(route, status, body)
    for status in sorted(_error_statuses(route)):
        if route.scim:
            name = f"ScimError{status}"
        else:
            name = _error_name(status, route.form is not None and status in OAUTH_ERROR_MESSAGES)
        responses[str(status)] = {"$ref": f"#/components/responses/{name}"}
    return responses


def _error_name(status: int, oauth: bool) -> str:
    return f"{'OAuthError' if oauth else 'Error'}{status}"


def _scim_error(status: int) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if status != 429:
        headers["x-request-id"] = REQUEST_ID_HEADER
    if status == 503:
        headers["Retry-After"] = RETRY_AFTER_HEADER
    if status == 401:
        headers["WWW-Authenticate"] = {"$ref": "#/components/headers/BearerChallenge"}
    if status == 405:
        headers["Allow"] = {"$ref": "#/components/headers/Allow"}
    return {
        "description": SCIM_ERROR_MESSAGES[status],
        "headers": headers,
        "content": {media: {"schema": {"$ref": REF.format(model="ScimError")}} for media in SCIM_MEDIA_TYPES},
    }


def _error_responses() -> dict[str, Any]:
    """The error answers every operation shares, by name (``Error404``, ``OAuthError400``...)."""
    found = {_error_name(status, False): _error(status, False) for status in ERROR_MESSAGES}
    # What any resource answers to a method it does not have (no operation of its own).
    found["Error405"] = {
        "description": "`METHOD_NOT_ALLOWED`: the resource exists, the method does not.",
        "headers": {"Allow": {"$ref": "#/components/headers/Allow"}, "x-request-id": REQUEST_ID_HEADER},
        "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}},
    }
    found |= {_error_name(status, True): _error(status, True) for status in OAUTH_ERROR_MESSAGES}
    found |= {f"ScimError{status}": _scim_error(status) for status in SCIM_ERROR_MESSAGES}
    return found


def _success(route: Route, status: int, body: dict[str, Any] | None) -> dict[str, Any]:
    headers: dict[str, Any] = {"x-request-id": REQUEST_ID_HEADER}
    if route.enveloped:
        headers["ETag"] = ETAG_HEADER
        schema: dict[str, Any] = {
            "type": "object",
            "required": ["success", "message", "data"],
            "properties": {"success": {"const": True}, "message": {"type": "string"}, "data": body or {}},
        }
    else:
        schema = body or {"type": "string"}
    if route.idempotent_posts:
        headers["Idempotent-Replayed"] = REPLAYED_HEADER
    if route.scim and body is not None:
        headers["ETag"] = ETAG_HEADER
    if route.scim and status == 201:
        headers["Location"] = {"$ref": "#/components/headers/Location"}
    answer: dict[str, Any] = {"description": route.summary, "headers": headers}
    if status in (204, 304):  # no body
        return answer
    answer["content"] = {media_type: {"schema": schema} for media_type in route.media_types}
    return answer


def _error_statuses(route: Route) -> set[int]:
    statuses = set(ALWAYS) | set(route.errors)
    if route.body or route.form or route.query or route.path_parameters or route.idempotent_posts:
        statuses.add(400)
    if route.body or route.form:
        statuses.add(413)
    if route.auth != "none":
        statuses |= {401, 403}
    if route.path_parameters:
        statuses.add(404)
    if route.idempotent_posts:
        statuses |= {409, 422}
    if route.if_match:
        statuses.add(412)
    return statuses - set(route.status)


def _error(status: int, oauth: bool) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if status != 429:  # API Gateway's own answer carries no request id of ours
        headers["x-request-id"] = REQUEST_ID_HEADER
    if status == 503:
        headers["Retry-After"] = RETRY_AFTER_HEADER
    if oauth and status == 401:
        headers["WWW-Authenticate"] = BASIC_CHALLENGE_HEADER
    if not oauth and status == 401:
        headers["WWW-Authenticate"] = DPOP_CHALLENGE_HEADER
    # use_dpop_nonce: a protected route's 401, the token endpoint's 400
    if (not oauth and status == 401) or (oauth and status == 400):
        headers["DPoP-Nonce"] = DPOP_NONCE_HEADER
    return {
        "description": (OAUTH_ERROR_MESSAGES if oauth else ERROR_MESSAGES)[status],
        "headers": headers,
        "content": {
            "application/json": {"schema": {"$ref": REF.format(model="OAuthError" if oauth else "Error")}}
        },
    }


# -- security -------------------------------------------------------------------------------------

SECURITY_SCHEMES: dict[str, Any] = {
    "oauth2": {
        "type": "oauth2",
        "description": "Client credentials at `POST /oauth/token`, sent as `Authorization: Bearer`.",
        "flows": {
            "clientCredentials": {
                "tokenUrl": "/oauth/token",
                "scopes": {scope: f"The {scope} scope" for scope in (*PARTNER_SCOPES, *OPERATOR_SCOPES)},
            }
        },
    },
    "clientSecretBasic": {
        "type": "http",
        "scheme": "basic",
        "description": "The credential's client id and secret (or send them as form fields).",
    },
    "directoryToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "A directory token (`scim_…`, shown once by `POST /partner/v1/directories`): the SCIM "
        "endpoints take nothing else, and no other route takes it.",
    },
    "dpop": {
        "type": "http",
        "scheme": "DPoP",
        "description": "A DPoP-bound token (RFC 9449) as `Authorization: DPoP <token>`, with a fresh proof "
        "by its key in the `DPoP` header of every request. Its scopes are those of `oauth2`.",
    },
}


def _binds_tokens(route: Route) -> bool:
    """The token endpoint: a ``DPoP`` proof there binds the token it issues."""
    return (route.method, route.path) == ("POST", "/oauth/token")


def _security(route: Route) -> list[dict[str, list[str]]]:
    if route.form is not None and route.auth == "none" and "client_secret" in route.form.model_fields:
        return [{"clientSecretBasic": []}, {}]  # Basic, or client_id/client_secret in the form
    if route.auth == "none":
        return []
    if route.auth == "directory":
        return [{"directoryToken": []}]
    if route.auth == "operator":
        needed = [["admin"]]
    elif route.scope is None:
        needed = [[]]
    elif route.scope.endswith(":read"):  # a write scope of the same resource reads too
        needed = [[route.scope], [route.scope.removesuffix(":read") + ":write"]]
    else:
        needed = [[route.scope]]
    # A bearer token, or a DPoP-bound one with its proof: the same scopes either way.
    return [{scheme: scopes} for scheme in ("oauth2", "dpop") for scopes in needed]


def _scope_note(route: Route) -> str:
    if route.auth == "directory":
        return "Needs a directory token (`scim_…`)."
    if route.auth == "operator":
        return "Needs an operator token (scope `admin`)."
    if route.scope is None:
        return "Needs any valid access token."
    if route.scope.endswith(":read"):
        return f"Needs scope `{route.scope}` or `{route.scope.removesuffix(':read')}:write`."
    return f"Needs scope `{route.scope}`."


# -- naming and links -----------------------------------------------------------------------------


def _operation_ids(routes: list[Route]) -> dict[Route, str]:
    """The view's name; where two views share one, the path's first segment tells them apart."""
    counts = Counter(r.name for r in routes)
    return {r: r.name if counts[r.name] == 1 else f"{r.path.split('/')[1]}_{r.name}" for r in routes}


def _tag(route: Route) -> str:
    parts = route.path.strip("/").split("/")
    if parts[0] == "admin":
        return "operator"
    if parts[0] == "partner":
        return "users (legacy)" if parts[2] in LEGACY_USER_PATHS else parts[2]
    if parts[0] in ("oauth", ".well-known"):
        return "oauth"
    if parts[0] == "scim":
        return "scim"
    return "system"


LEGACY_USER_PATHS = {"register-user", "all-users", "get-user", "update-user", "remove-user"}


def _add_links(routes: list[Route], paths: dict[str, dict[str, Any]], ids: dict[Route, str]) -> None:
    """Create -> read/update/delete links: a POST to ``P`` answering an id field ``X`` in ``data``
    links to the operations on ``P/{X}``, so stateful tests (and readers) can follow them."""
    for create in routes:
        if create.method != "POST" or 201 not in create.status or not create.enveloped:
            continue
        fields = _fields(create.response)
        for target in routes:
            found = re.fullmatch(re.escape(create.path) + r"/\{(\w+)\}", target.path)
            if not found or found.group(1) not in fields:
                continue
            name = found.group(1)
            links = paths[create.path]["post"]["responses"]["201"].setdefault("links", {})
            links[ids[target]] = {
                "operationId": ids[target],
                "parameters": {name: f"$response.body#/data/{name}"},
            }


def _fields(kind: Any) -> set[str]:
    if kind is None:
        return set()
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return set(kind.model_fields)
    return set(get_type_hints(kind))
