"""SCIM request parameters and the shapes of SCIM bodies, as the OpenAPI document shows them.

The query models parse; the body models only document (the SCIM mapping judges a User, and
``scim.patch`` a PatchOp, because providers send more than the core schema and in their own
spellings).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired, TypedDict

from pydantic import BaseModel, ConfigDict, Field

MAX_RESULTS = 200  # ServiceProviderConfig filter.maxResults: the most a page holds

AttributeList = Annotated[
    str, Field(max_length=1000, description="Comma-separated attribute names, e.g. userName,name.givenName")
]


class ScimQuery(BaseModel):
    """``attributes`` / ``excludedAttributes`` (RFC 7644 section 3.9); any other parameter is a 400."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    attributes: AttributeList | None = None
    excludedAttributes: AttributeList | None = None

    def names(self) -> tuple[list[str], list[str]]:
        def split(text: str | None) -> list[str]:
            return [a.strip() for a in (text or "").split(",") if a.strip()]

        return split(self.attributes), split(self.excludedAttributes)


class ScimListQuery(ScimQuery):
    """RFC 7644 section 3.4.2: a filter, 1-based ``startIndex``, ``count`` (at most 200); ``sortBy``
    is ignored (ServiceProviderConfig says sort is not supported)."""

    filter: (
        Annotated[str, Field(max_length=1000, description='e.g. userName eq "ada@example.com"')] | None
    ) = None
    startIndex: int = Field(1, description="1-based; below 1 counts as 1")
    count: int = Field(
        100, ge=0, description=f"Resources per page; above {MAX_RESULTS} counts as {MAX_RESULTS}"
    )


class ScimName(BaseModel):
    model_config = ConfigDict(extra="allow")

    givenName: str | None = None
    familyName: str | None = None
    formatted: str | None = None


class ScimMultiValue(BaseModel):
    model_config = ConfigDict(extra="allow")

    value: str
    type: str | None = None
    primary: bool | None = None


class ScimUserBody(BaseModel):
    """A SCIM User as POST and PUT send it; attributes beyond these are accepted and not stored.
    A body is checked against it strictly (``true``, not ``"true"``) before the mapping reads it."""

    model_config = ConfigDict(extra="allow")

    schemas: list[str] = Field(default_factory=lambda: ["urn:ietf:params:scim:schemas:core:2.0:User"])
    userName: str = Field(
        max_length=254,
        description="The client's email address: unique per tenant, case-insensitive.",
        json_schema_extra={"format": "email"},
    )
    externalId: str | None = None
    name: ScimName | None = None
    displayName: str | None = None
    title: str | None = None
    emails: list[ScimMultiValue] | None = None
    phoneNumbers: list[ScimMultiValue] | None = None
    active: bool | None = True


class ScimPatchOperation(BaseModel):
    model_config = ConfigDict(extra="allow")

    op: str = Field(description="add, replace or remove (any case: Entra sends Replace)")
    path: str | None = None
    value: Any = None


class ScimPatchBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    schemas: list[str] = Field(default_factory=lambda: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"])
    Operations: list[ScimPatchOperation]


class ScimUserName(TypedDict):
    givenName: NotRequired[str]
    familyName: NotRequired[str]


class ScimValue(TypedDict):
    value: str
    type: NotRequired[str]
    primary: NotRequired[bool]


class ScimMeta(TypedDict):
    resourceType: str
    created: NotRequired[str]
    lastModified: NotRequired[str]
    location: str
    version: NotRequired[str]


class ScimUser(TypedDict):
    schemas: list[str]
    id: str
    externalId: NotRequired[str]
    userName: NotRequired[str]
    name: NotRequired[ScimUserName]
    displayName: NotRequired[str]
    title: NotRequired[str]
    emails: NotRequired[list[ScimValue]]
    phoneNumbers: NotRequired[list[ScimValue]]
    active: NotRequired[bool]
    meta: NotRequired[ScimMeta]


class ScimListResponse(TypedDict):
    schemas: list[Literal["urn:ietf:params:scim:api:messages:2.0:ListResponse"]]
    totalResults: int
    startIndex: int
    itemsPerPage: int
    Resources: list[dict[str, Any]]


class ScimDocument(TypedDict, total=False):
    """A discovery document (ServiceProviderConfig, ResourceType, Schema): RFC 7643 sections 5-7."""

    schemas: list[str]
    id: str
    meta: ScimMeta
