"""What each route answers with: the shapes the ``public_*`` functions build, as types.

Routes declare these as their ``response``; the OpenAPI document describes them, and the fuzz run
checks every answer against it. Optional fields are ``NotRequired``: API.md omits unset fields
rather than sending ``null``.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from partner_api.models.clients import Role, Status


class Pagination(TypedDict):
    limit: int
    offset: int
    total: int
    hasMore: bool
    nextCursor: NotRequired[str]


class _ClientFields(TypedDict):
    name: str
    email: str
    status: Status
    partnerId: str
    registeredAt: str
    updatedAt: str
    firstName: NotRequired[str]
    lastName: NotRequired[str]
    emailAlias: NotRequired[str]
    phone: NotRequired[str]
    title: NotRequired[str]
    company: NotRequired[str]
    initials: NotRequired[str]
    identifier: NotRequired[str]
    roles: NotRequired[list[Role]]
    accountId: NotRequired[str]
    metadata: NotRequired[dict[str, str]]
    removedAt: NotRequired[str]


class Client(_ClientFields):
    clientId: str


class User(_ClientFields):
    """A client as the legacy user routes show it (``userId`` for ``clientId``)."""

    userId: str


class ClientList(TypedDict):
    clients: list[Client]
    pagination: Pagination


class UserList(TypedDict):
    users: list[User]
    pagination: Pagination


class ClientRemoved(TypedDict):
    clientId: str
    removedAt: str


class UserRemoved(TypedDict):
    userId: str
    removedAt: str


class PartnerRef(TypedDict):
    partnerId: str
    name: str


class PartnerContact(TypedDict):
    firstName: str
    lastName: str
    email: str
    username: NotRequired[str]
    phone: NotRequired[str]
    role: NotRequired[Literal["ADMIN", "BILLING", "TECHNICAL", "SUPPORT"]]
    active: NotRequired[bool]


class Partner(TypedDict):
    partnerId: str
    name: str
    reference: str
    status: Status
    active: bool
    billingId: NotRequired[str]
    parent: NotRequired[PartnerRef]
    domains: NotRequired[list[str]]
    contact: NotRequired[PartnerContact]
    hasVerificationPhrase: bool
    createdAt: str
    updatedAt: str


class PartnerList(TypedDict):
    partners: list[Partner]
    pagination: Pagination


class PartnerRemoved(TypedDict):
    partnerId: str
    removedAt: str


class StatusCounts(TypedDict):
    active: int
    inactive: int
    suspended: int
    deleted: int


class PartnerClientCounts(TypedDict):
    partnerId: str
    name: str
    counts: StatusCounts


class ClientReport(TypedDict):
    partners: list[PartnerClientCounts]


class Credential(TypedDict):
    clientId: str
    partnerId: str
    scopes: list[str]
    status: Literal["active", "revoked"]
    createdAt: str
    name: NotRequired[str]
    revokedAt: NotRequired[str]


class CredentialCreated(Credential):
    clientSecret: str  # shown once


class CredentialList(TypedDict):
    credentials: list[Credential]
    pagination: Pagination


class FirstCredential(TypedDict):
    clientId: str
    clientSecret: str  # shown once
    scopes: list[str]


class RootPartnerCreated(TypedDict):
    partner: Partner
    credential: FirstCredential


class PhraseMatch(TypedDict):
    match: bool


class SeatCap(TypedDict):
    cap: int


class AccountConsumable(TypedDict):
    type: Literal["SEATS", "PHONE_AUTH", "KBA"]
    attributes: SeatCap


class Usage(TypedDict):
    SEATS: int


class Account(TypedDict):
    accountId: str
    name: str
    company: NotRequired[str]
    countryCode: str
    identifier: NotRequired[str]
    partnerId: str
    consumables: list[AccountConsumable]
    usage: Usage
    status: Status
    createdAt: str
    updatedAt: str


class AccountList(TypedDict):
    accounts: list[Account]
    pagination: Pagination


class Webhook(TypedDict):
    webhookId: str
    url: str
    events: list[str]
    partnerId: str
    status: str
    createdAt: str
    updatedAt: str
    description: NotRequired[str]


class WebhookCreated(Webhook):
    secret: str  # shown once


class WebhookSecretRotated(WebhookCreated):
    previousSecretExpiresAt: str


class WebhookList(TypedDict):
    webhooks: list[Webhook]
    pagination: Pagination


class WebhookDeleted(TypedDict):
    webhookId: str
    deletedAt: str


class Delivery(TypedDict):
    eventId: str
    eventType: str
    status: str
    attempts: list[dict[str, Any]]
    createdAt: str
    updatedAt: str


class DeliveryList(TypedDict):
    deliveries: list[Delivery]
    pagination: Pagination


class EventActor(TypedDict):
    type: str
    clientId: NotRequired[str]
    directoryId: NotRequired[str]  # type "directory": the directory whose SCIM request it was
    partnerId: NotRequired[str]


class EventResource(TypedDict):
    type: str
    id: str


class Event(TypedDict):
    eventId: str
    type: str
    occurredAt: str
    partnerId: str
    actor: EventActor
    resource: EventResource
    changes: NotRequired[dict[str, Any]]
    requestId: NotRequired[str]


class EventList(TypedDict):
    events: list[Event]
    pagination: Pagination


class Redelivery(TypedDict):
    eventId: str
    webhookIds: list[str]


# -- the unenveloped routes ------------------------------------------------------------------------


class AccessToken(TypedDict):
    access_token: str
    token_type: Literal["Bearer", "DPoP"]
    expires_in: int
    scope: str
    issued_token_type: NotRequired[str]


class Confirmation(TypedDict):
    """RFC 9449 section 6: the thumbprint of the key a DPoP-bound token is bound to."""

    jkt: str


class TokenValidity(TypedDict):
    valid: bool
    expires_at: NotRequired[int]
    cnf: NotRequired[Confirmation]


class Jwk(TypedDict):
    kid: str
    kty: str
    crv: str
    x: str
    y: str
    alg: str
    use: str


class Jwks(TypedDict):
    keys: list[Jwk]


class ServerMetadata(TypedDict):
    issuer: str
    token_endpoint: str
    jwks_uri: str
    grant_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    token_endpoint_auth_signing_alg_values_supported: list[str]
    response_types_supported: list[str]
    scopes_supported: list[str]
    dpop_signing_alg_values_supported: list[str]


class BaseUris(TypedDict):
    apiAccessPoint: str
    webAccessPoint: str


class Health(TypedDict):
    status: Literal["ok"]


class Directory(TypedDict):
    directoryId: str
    name: str
    partnerId: str
    accountId: NotRequired[str]
    scimBaseUrl: str
    createdAt: str
    updatedAt: str
    tokenRotatedAt: NotRequired[str]


class DirectoryCreated(Directory):
    token: str  # shown once


class DirectoryList(TypedDict):
    directories: list[Directory]
    pagination: Pagination
