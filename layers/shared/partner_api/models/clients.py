"""Client (end customer) request models and the client's public shape."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from partner_api.models.common import Email, InputModel, ListQuery, PatchModel, Uuid

Role = Literal["ACCOUNT_ADMIN", "PRIVACY_ADMIN", "MANAGER"]
Status = Literal["active", "inactive", "suspended", "deleted"]
Name = Annotated[str, Field(min_length=1, max_length=255)]
Short = Annotated[str, Field(min_length=1, max_length=255)]
Phone = Annotated[str, Field(min_length=3, max_length=32, pattern=r"^\+?[0-9 ().\-]+$")]
MetadataKey = Annotated[str, Field(min_length=1, max_length=40)]
MetadataValue = Annotated[str, Field(max_length=500)]

# Fields a client record stores beyond its identity; shared by create, patch and the response.
OPTIONAL_FIELDS = (
    "firstName",
    "lastName",
    "emailAlias",
    "phone",
    "title",
    "company",
    "initials",
    "identifier",
    "roles",
    "accountId",
    "metadata",
)


def _unique_roles(roles: list[str] | None) -> list[str] | None:
    return list(dict.fromkeys(roles)) if roles is not None else None


def _metadata_size(metadata: dict[str, Any] | None) -> dict[str, Any] | None:
    if metadata is not None and len(metadata) > 50:
        raise ValueError("at most 50 keys")
    return metadata


Roles = Annotated[list[Role], AfterValidator(_unique_roles)]
Initials = Annotated[str, Field(min_length=1, max_length=10)]
Identifier = Annotated[str, Field(min_length=1, max_length=100)]


class ClientFields(InputModel):
    """The optional descriptive fields, shared by create and patch."""

    firstName: Name | None = None
    lastName: Name | None = None
    emailAlias: Email | None = None
    phone: Phone | None = None
    title: Short | None = None
    company: Short | None = None
    initials: Initials | None = None
    identifier: Identifier | None = None
    roles: Roles | None = None
    accountId: Uuid | None = None
    partnerId: Uuid | None = None


class ClientCreate(ClientFields):
    # Optional here: derived from firstName + lastName when those are given (logic checks it).
    name: Name | None = None
    email: Email
    metadata: Annotated[dict[MetadataKey, MetadataValue], AfterValidator(_metadata_size)] | None = None


class ClientPatch(PatchModel, ClientFields):
    name: Name | None = None
    email: Email | None = None
    status: Status | None = None
    # A null value removes that key: PATCH merges metadata.
    metadata: Annotated[dict[MetadataKey, MetadataValue | None], AfterValidator(_metadata_size)] | None = None


class LegacyUserPatch(ClientPatch):
    userId: Uuid


class LegacyUserRef(InputModel):
    userId: Uuid


class ClientListQuery(ListQuery):
    status: Status | None = None
    q: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    accountId: Uuid | None = None
    partnerId: Uuid | None = None


class LegacyGetUserQuery(InputModel):
    userId: Uuid


def public_client(item: dict[str, Any], id_name: str = "clientId") -> dict[str, Any]:
    """The client as the API shows it: optional fields omitted when unset."""
    shown: dict[str, Any] = {
        id_name: item["clientId"],
        "name": item["name"],
        "email": item["email"],
        "status": item["status"],
        "partnerId": item["partnerId"],
        "registeredAt": item["registeredAt"],
        "updatedAt": item["updatedAt"],
    }
    for name in OPTIONAL_FIELDS:
        value = item.get(name)
        if value not in (None, [], {}):
            shown[name] = value
    if item.get("removedAt") and item["status"] == "deleted":
        shown["removedAt"] = item["removedAt"]
    return shown
