"""Directory (SCIM provisioning connection) request models."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from partner_api.models.common import InputModel, ListQuery, Uuid

DirectoryName = Annotated[str, Field(min_length=1, max_length=255)]


class DirectoryCreate(InputModel):
    name: DirectoryName
    partnerId: Uuid | None = Field(
        None, description="The partner owning the clients it makes; default: the caller."
    )
    accountId: Uuid | None = Field(
        None, description="Every client it makes goes into this account, whose SEATS cap bounds them."
    )


class DirectoryListQuery(ListQuery):
    pass
