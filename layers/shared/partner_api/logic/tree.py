"""The partner tree as a caller sees it: itself and its descendants, nothing else."""

from __future__ import annotations

from typing import Any

from partner_api.auth.principal import Principal
from partner_api.errors import FieldIssue, PartnerNotFound
from partner_api.store import partners


def visible_partner(
    caller: Principal, partner_id: str, *, allow_deleted: bool = False, field: str | None = "partnerId"
) -> dict[str, Any]:
    """The partner ``partner_id`` if it is the caller or below it; anything else is not found
    (another tenant's and an ancestor's partners look exactly like missing ones)."""
    return seen_partner(
        caller, partners.find(caller.tenant_id, partner_id), allow_deleted=allow_deleted, field=field
    )


def seen_partner(
    caller: Principal,
    item: dict[str, Any] | None,
    *,
    allow_deleted: bool = False,
    field: str | None = "partnerId",
) -> dict[str, Any]:
    """``item`` (a partner item already read) if the caller may see it; else not found."""
    if (
        item is None
        or not caller.sees_partner(item["path"])
        or (item["status"] == "deleted" and not allow_deleted)
    ):
        details = [FieldIssue(field, "no such partner visible to the caller")] if field else None
        raise PartnerNotFound(details=details)
    return item


def owner_path(caller: Principal, partner_id: str | None) -> list[str]:
    """The path of the partner that will own something: the caller by default, or a live
    partner of its subtree."""
    if not partner_id or partner_id == caller.partner_id:
        return list(caller.partner_path)
    return list(visible_partner(caller, partner_id)["path"])
