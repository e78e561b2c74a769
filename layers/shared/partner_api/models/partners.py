"""Partner request models and the partner's public shape."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from partner_api.auth.principal import PARTNER_SCOPES
from partner_api.errors import FieldIssue, InvalidInput
from partner_api.models.common import DomainName, Email, InputModel, ListQuery, PatchModel, Uuid

ContactRole = Literal["ADMIN", "BILLING", "TECHNICAL", "SUPPORT"]
PartnerStatus = Literal["active", "inactive", "suspended", "deleted"]
Text255 = Annotated[str, Field(min_length=1, max_length=255)]


def _unique_domains(domains: list[str] | None) -> list[str] | None:
    return list(dict.fromkeys(domains)) if domains is not None else None


Domains = Annotated[list[DomainName], Field(max_length=50), AfterValidator(_unique_domains)]


class Contact(InputModel):
    username: Text255 | None = None
    firstName: Text255
    lastName: Text255
    email: Email
    phone: Annotated[str, Field(min_length=3, max_length=32, pattern=r"^\+?[0-9 ().\-]+$")] | None = None
    role: ContactRole | None = None
    active: bool = True
    # Acted on when the partner is created, never stored.
    sendWelcomeEmail: bool = False


class _StatusViews(InputModel):
    """``active`` (bool) and ``status`` are two views of one state; given together they must agree."""

    active: bool | None = None
    status: PartnerStatus | None = None

    def wanted_status(self) -> str | None:
        if self.active is not None and self.status is not None and self.active != (self.status == "active"):
            raise InvalidInput(
                "active and status disagree.", details=[FieldIssue("active", "disagrees with status")]
            )
        if self.status is not None:
            return self.status
        if self.active is not None:
            return "active" if self.active else "inactive"
        return None


class RootPartnerCreate(_StatusViews):
    name: Text255
    reference: Text255 | None = None
    billingId: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    verificationPhrase: Annotated[str, Field(min_length=4, max_length=255)] | None = None
    status: Literal["active", "inactive"] | None = None
    domains: Domains | None = None
    contact: Contact | None = None


class PartnerPatch(PatchModel, _StatusViews):
    name: Text255 | None = None
    reference: Text255 | None = None
    billingId: Annotated[str, Field(min_length=1, max_length=50)] | None = None
    verificationPhrase: Annotated[str, Field(min_length=4, max_length=255)] | None = None
    status: Literal["active", "inactive", "suspended"] | None = None
    domains: Domains | None = None
    contact: Contact | None = None


class ParentRef(InputModel):
    """A sub-partner's parent, named by id or by name (exactly one)."""

    partnerId: Uuid | None = None
    name: Text255 | None = None

    @model_validator(mode="after")
    def _one_way(self) -> ParentRef:
        if (self.partnerId is None) == (self.name is None):
            raise ValueError("give exactly one of partnerId and name")
        return self


class SubPartnerCreate(RootPartnerCreate):
    parent: ParentRef | None = None


class PartnerListQuery(ListQuery):
    q: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    status: PartnerStatus | None = None
    parentId: Uuid | None = None


def public_partner(record: dict[str, Any], parent: dict[str, Any] | None = None) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "partnerId": record["partnerId"],
        "name": record["name"],
        "reference": record["reference"],
        "status": record["status"],
        "active": record["status"] == "active",
    }
    if record.get("billingId"):
        shown["billingId"] = record["billingId"]
    if parent:
        shown["parent"] = {"partnerId": parent["partnerId"], "name": parent["name"]}
    if record.get("domains"):
        shown["domains"] = record["domains"]
    if record.get("contact"):
        shown["contact"] = record["contact"]
    shown["hasVerificationPhrase"] = bool(record.get("verificationPhraseHash"))
    shown["createdAt"] = record["createdAt"]
    shown["updatedAt"] = record["updatedAt"]
    return shown


PartnerScope = Literal[PARTNER_SCOPES]  # type: ignore[valid-type]


def _unique_scopes(scopes: list[str] | None) -> list[str] | None:
    return list(dict.fromkeys(scopes)) if scopes is not None else None


class CredentialCreate(InputModel):
    partnerId: Uuid | None = None
    scopes: Annotated[list[PartnerScope], Field(min_length=1), AfterValidator(_unique_scopes)] | None = None
    name: Text255 | None = None


class CredentialListQuery(ListQuery):
    pass


class PhraseCheck(InputModel):
    phrase: Annotated[str, Field(min_length=1, max_length=255)]
