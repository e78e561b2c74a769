"""Entity tags and ``If-Match`` preconditions over a record's version counter."""

from __future__ import annotations

import hashlib

from partner_api.errors import PreconditionFailed


def etag(resource_id: str, version: int) -> str:
    """A strong, opaque entity tag that changes on every write of the resource."""
    digest = hashlib.sha256(f"{resource_id}:{version}".encode()).hexdigest()[:20]
    return f'"{digest}"'


def require_match(if_match: str | None, resource_id: str, version: int) -> None:
    """Raise ``PreconditionFailed`` unless ``If-Match`` is absent, ``*`` or lists the current tag."""
    if if_match is None:
        return
    offered = [tag.strip().removeprefix("W/") for tag in if_match.split(",")]
    if "*" in offered or etag(resource_id, version) in offered:
        return
    raise PreconditionFailed()
