"""Client (end customer) request models and the client's public shape."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails

from partner_api.models.common import (
    Email,
    InputModel,
    ListQuery,
    PatchModel,
    Uuid,
)

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


def _given(data: dict[str, Any], field: str) -> bool:
    value = data.get(field)
    return value is not None and not (isinstance(value, str) and not value.strip())


def _names_given(data: dict[str, Any]) -> bool:
    """Whether a body names its client: a ``name``, or both ``firstName`` and ``lastName``
    (from which the name is derived). Blank strings count as absent."""
    return _given(data, "name") or (_given(data, "firstName") and _given(data, "lastName"))


class ClientCreate(ClientFields):
    # Optional here: derived from firstName + lastName when those are given (see _name_with_the_rest).
    # The schema says so in words: an anyOf of required sets would be exact, but client generators
    # then give up on the whole body's type.
    name: Name | None = Field(
        None,
        description="Required unless both firstName and lastName are given; then it is 'firstName lastName'.",
    )
    email: Email
    metadata: Annotated[dict[MetadataKey, MetadataValue], AfterValidator(_metadata_size)] | None = None

    @model_validator(mode="wrap")
    @classmethod
    def _name_with_the_rest(cls, data: Any, handler: ModelWrapValidatorHandler[ClientCreate]) -> ClientCreate:
        """A body failing validation that also names no client reports ``name`` missing with
        its other problems, so one reply lists them all. A body otherwise valid passes: the
        accounts route takes this model to create *or update* by email, and an update needs no
        name, so logic requires it only when it creates a client."""
        try:
            return handler(data)
        except ValidationError as exc:
            problems = exc.errors(include_url=False)
            if (
                not isinstance(data, dict)
                or _names_given(data)
                or any(p["loc"][:1] == ("name",) for p in problems)
            ):
                raise
            # In declaration order, as pydantic reports a required field: "name, email".
            fields = list(cls.model_fields)
            before_name = fields[: fields.index("name")]
            at = next((i for i, p in enumerate(problems) if p["loc"][0] not in before_name), len(problems))
            details = [
                InitErrorDetails(type=p["type"], loc=p["loc"], input=p["input"], ctx=p.get("ctx", {}))
                for p in problems
            ]
            details.insert(at, InitErrorDetails(type="missing", loc=("name",), input=data))
            raise ValidationError.from_exception_data(exc.title, details) from None


class AccountClient(ClientCreate):
    """A client put into an account: created, or updated when its email exists."""

    name: Name | None = Field(
        None,
        description="Needed to create a client: required unless its email exists or both firstName "
        "and lastName are given.",
    )


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
