"""Domain errors. Each carries the API's error code; ``http.errors`` alone maps them to HTTP."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class FieldIssue:
    field: str
    issue: str


class DomainError(Exception):
    """Base of every error the API reports on purpose."""

    code = "INTERNAL_SERVER_ERROR"
    default_message = "An unexpected error occurred."

    def __init__(
        self, message: str | None = None, *, code: str | None = None, details: list[FieldIssue] | None = None
    ) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        if code:
            self.code = code
        self.details = details or []


class InvalidInput(DomainError):
    code = "INVALID_PARAMETER"
    default_message = "One or more parameters are invalid."


class MissingParameters(InvalidInput):
    code = "MISSING_REQUIRED_PARAMS"
    default_message = "Required parameters are missing."


class InvalidJson(InvalidInput):
    code = "INVALID_JSON"
    default_message = "The request body is not valid JSON."


class PayloadTooLarge(DomainError):
    code = "PAYLOAD_TOO_LARGE"
    default_message = "The request body exceeds 64 KiB."


class Unauthenticated(DomainError):
    code = "INVALID_ACCESS_TOKEN"
    default_message = "Access token provided is invalid or has expired."


class NoAuthorizationHeader(Unauthenticated):
    code = "NO_AUTHORIZATION_HEADER"
    default_message = "Authorization header not provided."


class InvalidDpopProof(Unauthenticated):
    """A DPoP problem (RFC 9449 section 7.1): ``error`` says whether the proof
    (``invalid_dpop_proof``) or the token (``invalid_token``: not DPoP-bound) is at fault; with
    ``nonce``, the proof lacked the server's current nonce, which it must carry
    (``use_dpop_nonce``)."""

    code = "INVALID_DPOP_PROOF"
    default_message = "The DPoP proof is missing or invalid."

    def __init__(
        self,
        message: str | None = None,
        *,
        error: Literal["invalid_dpop_proof", "invalid_token"] = "invalid_dpop_proof",
        nonce: str | None = None,
    ) -> None:
        super().__init__(message)
        self.error: str = "use_dpop_nonce" if nonce else error
        self.nonce = nonce


class Forbidden(DomainError):
    code = "PERMISSION_DENIED"
    default_message = "The caller does not have permission to execute this operation."


class MissingScopes(Forbidden):
    code = "MISSING_SCOPES"
    default_message = "The token does not contain the required scopes."


class PartnerInactive(Forbidden):
    code = "AUTHENTICATION_FAILED"
    default_message = "The partner is not active."


class NotFound(DomainError):
    code = "NOT_FOUND"
    default_message = "The requested resource was not found."


class ClientNotFound(NotFound):
    code = "CLIENT_NOT_FOUND"
    default_message = "Client not found."


class PartnerNotFound(NotFound):
    code = "PARTNER_NOT_FOUND"
    default_message = "Partner not found."


class AccountNotFound(NotFound):
    code = "ACCOUNT_NOT_FOUND"
    default_message = "Account not found."


class MethodNotAllowed(DomainError):
    """The path is a route, but not for this method; ``allowed`` lists the methods it has."""

    code = "METHOD_NOT_ALLOWED"
    default_message = "The method is not allowed on this resource."

    def __init__(self, method: str, allowed: Sequence[str]) -> None:
        super().__init__(f"Method {method} is not allowed on this resource." if method else None)
        self.allowed = tuple(allowed)


class Conflict(DomainError):
    code = "CONFLICT"
    default_message = "The request conflicts with the current state."


class ClientAlreadyExists(Conflict):
    code = "CLIENT_ALREADY_EXISTS"
    default_message = "A client with this email already exists."


class PartnerAlreadyExists(Conflict):
    code = "PARTNER_ALREADY_EXISTS"
    default_message = "A partner with this reference already exists."


class PreconditionFailed(DomainError):
    code = "PRECONDITION_FAILED"
    default_message = "The resource has changed since it was read (If-Match mismatch)."


class NotImplementedOperation(DomainError):
    """An operation the protocol defines and this service does not offer (SCIM's ``.search``, bulk)."""

    code = "NOT_IMPLEMENTED"
    default_message = "This operation is not supported."


class DependencyUnavailable(DomainError):
    code = "SERVICE_UNAVAILABLE"
    default_message = "The service is temporarily unavailable. Please retry."


class OAuthError(Exception):
    """An RFC 6749 error: reported by the OAuth endpoints without the envelope."""

    def __init__(
        self, error: str, description: str = "", *, status: int = 400, nonce: str | None = None
    ) -> None:
        super().__init__(description or error)
        self.error = error
        self.description = description
        self.status = status
        self.nonce = nonce  # a DPoP server nonce the client must use (``use_dpop_nonce``)


class InvalidClient(OAuthError):
    def __init__(self) -> None:
        # No hint whether the id, the secret, the credential or the partner was wrong.
        super().__init__("invalid_client", "Client authentication failed.", status=401)


class WebhookNotFound(NotFound):
    code = "WEBHOOK_NOT_FOUND"
    default_message = "Webhook not found."


class EventNotFound(NotFound):
    code = "EVENT_NOT_FOUND"
    default_message = "Event not found."


class IdempotencyKeyInUse(Conflict):
    code = "IDEMPOTENCY_KEY_IN_USE"
    default_message = "A request with this Idempotency-Key is still being processed."


class Unprocessable(DomainError):
    code = "UNPROCESSABLE"
    default_message = "The request cannot be processed."


class IdempotencyKeyReused(Unprocessable):
    code = "IDEMPOTENCY_KEY_REUSED"
    default_message = "This Idempotency-Key was used with a different request body."


class CredentialNotFound(NotFound):
    code = "CREDENTIAL_NOT_FOUND"
    default_message = "Credential not found."


class PartnerNotEmpty(Conflict):
    code = "PARTNER_NOT_EMPTY"
    default_message = "The partner still has live sub-partners or clients."


class AccountAlreadyExists(Conflict):
    code = "ACCOUNT_ALREADY_EXISTS"
    default_message = "An account with this name already exists."


class SeatLimitExceeded(Forbidden):
    code = "MAXIMUM_USERS_FOR_ACCOUNT_LIMIT_EXCEEDED"
    default_message = "The account has no free seat left."


class DirectoryNotFound(NotFound):
    code = "DIRECTORY_NOT_FOUND"
    default_message = "Directory not found."


class ScimProtocolError(InvalidInput):
    """A SCIM request the protocol refuses (RFC 7644 section 3.12): ``scim_type`` is the
    ``scimType`` its error body names; the status is the API's 400 like any invalid input."""

    scim_type = "invalidValue"

    def __init__(self, message: str, *, scim_type: str | None = None) -> None:
        super().__init__(message)
        if scim_type:
            self.scim_type = scim_type


class ScimInvalidFilter(ScimProtocolError):
    scim_type = "invalidFilter"


class ScimInvalidSyntax(ScimProtocolError):
    scim_type = "invalidSyntax"


class ScimInvalidPath(ScimProtocolError):
    scim_type = "invalidPath"


class ScimNoTarget(ScimProtocolError):
    scim_type = "noTarget"


class ScimInvalidValue(ScimProtocolError):
    scim_type = "invalidValue"


class ScimMutability(ScimProtocolError):
    scim_type = "mutability"


class ScimTooMany(ScimProtocolError):
    scim_type = "tooMany"
