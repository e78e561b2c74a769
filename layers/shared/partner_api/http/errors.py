"""The one place where errors become HTTP responses."""

from __future__ import annotations

import json
from typing import Any

from partner_api.auth.dpop import ALGORITHMS
from partner_api.errors import (
    Conflict,
    DependencyUnavailable,
    DomainError,
    FieldIssue,
    Forbidden,
    InvalidDpopProof,
    InvalidInput,
    InvalidJson,
    MethodNotAllowed,
    MissingParameters,
    NotFound,
    NotImplementedOperation,
    OAuthError,
    PayloadTooLarge,
    PreconditionFailed,
    ScimProtocolError,
    Unauthenticated,
    Unprocessable,
)

_STATUS: list[tuple[type[DomainError], int]] = [
    (PayloadTooLarge, 413),
    (InvalidInput, 400),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (MethodNotAllowed, 405),
    (Conflict, 409),
    (PreconditionFailed, 412),
    (Unprocessable, 422),
    (NotImplementedOperation, 501),
    (DependencyUnavailable, 503),
]
MAX_RETRY_AFTER = "2"
# RFC 9449 section 7.1: a DPoP challenge names the error and the proof algorithms accepted.
DPOP_ALGS = " ".join(ALGORITHMS)
# Server-set fields: sending one is reported as read-only rather than unknown.
READ_ONLY_FIELDS = frozenset(
    {
        "clientId",
        "userId",
        "partnerId",
        "registeredAt",
        "createdAt",
        "updatedAt",
        "removedAt",
        "parent",
        "hasVerificationPhrase",
        "usage",
    }
)


def status_of(error: DomainError) -> int:
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 500


def envelope_error(error: DomainError, request_id: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, body and extra headers for a domain error."""
    body: dict[str, Any] = {"success": False, "code": error.code, "message": error.message}
    if error.details:
        body["details"] = [{"field": d.field, "issue": d.issue} for d in error.details]
    body["requestId"] = request_id
    headers: dict[str, str] = {}
    if isinstance(error, DependencyUnavailable):
        headers["Retry-After"] = MAX_RETRY_AFTER
    if isinstance(error, MethodNotAllowed):
        headers["Allow"] = ", ".join(error.allowed)  # RFC 9110: the methods the resource has
    if isinstance(error, InvalidDpopProof):
        headers["WWW-Authenticate"] = f'DPoP error="{error.error}", algs="{DPOP_ALGS}"'
        if error.nonce:
            headers["DPoP-Nonce"] = error.nonce
    return status_of(error), body, headers


def unexpected(request_id: str) -> tuple[int, dict[str, Any]]:
    return 500, {
        "success": False,
        "code": "INTERNAL_SERVER_ERROR",
        "message": "An unexpected error occurred.",
        "requestId": request_id,
    }


def oauth_error(error: OAuthError) -> tuple[int, dict[str, Any], dict[str, str]]:
    body = {"error": error.error}
    if error.description:
        body["error_description"] = error.description
    headers = {"WWW-Authenticate": 'Basic realm="oauth"'} if error.status == 401 else {}
    if error.nonce:
        headers["DPoP-Nonce"] = error.nonce  # RFC 9449 section 8: the nonce to put in the next proof
    return error.status, body, headers


def from_validation(exc: Any, *, prefix: tuple[str, ...] = ()) -> InvalidInput:
    """A pydantic ``ValidationError`` as one domain error with an entry per offending field."""
    details: list[FieldIssue] = []
    missing = False
    for problem in exc.errors(include_url=False):
        location = [str(p) for p in (*prefix, *problem["loc"])]
        # pydantic reports the failing branch of a union/annotated type; keep the field path.
        field = ".".join(
            p for p in location if not p.startswith(("function-", "constrained-")) and p != "[key]"
        )
        kind = problem["type"]
        if kind == "missing":
            missing = True
            issue = "required"
        elif kind == "extra_forbidden":
            issue = "read-only field" if location[-1] in READ_ONLY_FIELDS else "unknown field"
        else:
            issue = str(problem["msg"]).removeprefix("Value error, ")
        details.append(FieldIssue(field or "body", issue))
    first = details[0].field if details else "body"
    if missing:
        names = ", ".join(d.field for d in details if d.issue == "required")
        return MissingParameters(f"Required parameter {names} is missing.", details=details)
    return InvalidInput(f"The {first} value specified is invalid.", details=details)


def json_body(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


SCIM_ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


def scim_error(error: DomainError) -> tuple[int, dict[str, Any], dict[str, str]]:
    """A domain error as SCIM's error body (RFC 7644 section 3.12): the same status as the API
    gives it, ``status`` as a string, a ``scimType`` where SCIM defines one."""
    status = status_of(error)
    detail = error.message
    if error.details:
        detail += " (" + "; ".join(f"{d.field}: {d.issue}" for d in error.details) + ")"
    body: dict[str, Any] = {"schemas": [SCIM_ERROR_SCHEMA], "status": str(status), "detail": detail}
    scim_type = _scim_type(error, status)
    if scim_type:
        body["scimType"] = scim_type
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="scim"'
    if isinstance(error, DependencyUnavailable):
        headers["Retry-After"] = MAX_RETRY_AFTER
    if isinstance(error, MethodNotAllowed):
        headers["Allow"] = ", ".join(error.allowed)
    return status, body, headers


def scim_unexpected() -> tuple[int, dict[str, Any]]:
    return 500, {"schemas": [SCIM_ERROR_SCHEMA], "status": "500", "detail": "An unexpected error occurred."}


def _scim_type(error: DomainError, status: int) -> str | None:
    if isinstance(error, ScimProtocolError):
        return error.scim_type
    if isinstance(error, InvalidJson):
        return "invalidSyntax"
    if isinstance(error, InvalidInput) and not isinstance(error, PayloadTooLarge):
        return "invalidValue"
    if status == 409:
        return "uniqueness"
    return None
