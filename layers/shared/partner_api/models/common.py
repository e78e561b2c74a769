"""Shared model configuration and field types."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

EMAIL_PATTERN = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
DOMAIN_PATTERN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
UUID_RE = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def _email(value: str) -> str:
    if len(value) > 254 or not EMAIL_PATTERN.match(value):
        raise ValueError("must be a valid email address")
    return value


def _domain(value: str) -> str:
    value = value.lower()
    if not DOMAIN_PATTERN.match(value):
        raise ValueError("must be a DNS name")
    return value


Email = Annotated[str, AfterValidator(_email)]
DomainName = Annotated[str, AfterValidator(_domain)]
Uuid = Annotated[str, Field(pattern=UUID_RE)]


class InputModel(BaseModel):
    """A request body: unknown fields rejected, strings trimmed, blank strings treated as absent."""

    # defer_build: a function builds only the validators of the models it actually uses.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=False, defer_build=True)

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}
        return data

    def given(self) -> dict[str, Any]:
        """The fields the caller actually sent (``null`` included), as a plain dict."""
        return self.model_dump(exclude_unset=True)


class PatchModel(InputModel):
    """A partial update: blank strings stay (as ``None``) so a PATCH can clear optional fields."""

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: (None if isinstance(v, str) and not v.strip() else v) for k, v in data.items()}
        return data


class ListQuery(BaseModel):
    """Pagination parameters every list accepts."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)

    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=1_000_000)
    cursor: str | None = Field(None, max_length=2048)
