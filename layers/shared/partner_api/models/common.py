"""Shared model configuration and field types."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

EMAIL_PATTERN = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
DOMAIN_PATTERN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
UUID_RE = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
EVENT_ID_RE = r"^evt_[0-9a-hjkmnp-tv-z]{26}$"  # partner_api.ids.new_event_id


def _email(value: str) -> str:
    if len(value) > 254 or not EMAIL_PATTERN.match(value):
        raise ValueError("must be a valid email address")
    return value


def _domain(value: str) -> str:
    value = value.lower()
    if not DOMAIN_PATTERN.match(value):
        raise ValueError("must be a DNS name")
    return value


# RFC 3339's date-time (what JSON Schema's "date-time" format means): pydantic alone would also
# take a bare date or a number of seconds.
ISO_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _iso_date_time(value: Any) -> Any:
    if not isinstance(value, str) or not ISO_DATE_TIME.match(value):
        raise ValueError("must be an ISO 8601 date-time such as 2025-09-30T15:01:53.188Z")
    return value


IsoDateTime = Annotated[
    datetime, BeforeValidator(_iso_date_time), WithJsonSchema({"type": "string", "format": "date-time"})
]
Email = Annotated[str, AfterValidator(_email)]
DomainName = Annotated[str, AfterValidator(_domain)]
Uuid = Annotated[str, Field(pattern=UUID_RE)]


BLANK = {"type": "string", "pattern": r"^\s*$"}
_SCHEMA_NOTES = ("description", "default", "examples")


def optional_strings_may_be_blank(schema: dict[str, Any]) -> None:
    """The published schema says what ``_blank_is_absent`` does: an optional field that takes a
    string may also be sent blank (it then counts as not sent, or as cleared in a PATCH)."""
    required = set(schema.get("required", ()))
    for name, field in schema.get("properties", {}).items():
        options = field.get("anyOf") or [{k: v for k, v in field.items() if k not in _SCHEMA_NOTES}]
        if name in required or not any(o.get("type") == "string" for o in options):
            continue
        notes = {k: v for k, v in field.items() if k in _SCHEMA_NOTES}
        schema["properties"][name] = {"anyOf": [*options, BLANK], **notes}


class InputModel(BaseModel):
    """A request body: unknown fields rejected, strings trimmed, blank strings treated as absent."""

    # strict: a JSON body's types are what the document says (no 0 for false, no "5" for 5);
    # Built at import, not deferred to first use: pydantic's deferred build is not thread-safe (a
    # model racing its first build can validate with its parent's validator), and import runs once.
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        strict=True,
        json_schema_extra=optional_strings_may_be_blank,
    )

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

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=1_000_000)
    cursor: str | None = Field(None, max_length=2048)
