"""Who is calling, as established from a verified access token."""

from __future__ import annotations

from dataclasses import dataclass

PARTNER_SCOPES = (
    "clients:read",
    "clients:write",
    "partners:read",
    "partners:write",
    "accounts:read",
    "accounts:write",
    "webhooks:read",
    "webhooks:write",
    "events:read",
    "users:impersonate",
)
OPERATOR_SCOPES = ("admin",)


@dataclass(frozen=True)
class Principal:
    client_id: str  # the credential that authenticated (the actor, for user tokens)
    token_use: str  # partner | operator | user
    scopes: frozenset[str]
    tenant_id: str = ""
    partner_id: str = ""
    partner_path: tuple[str, ...] = ()  # root .. the caller's partner
    subject: str = ""  # the token's sub: the credential, or the client a user token acts as

    def has_scope(self, scope: str) -> bool:
        """A ``*:read`` route also accepts the matching ``*:write`` scope."""
        if scope in self.scopes:
            return True
        if scope.endswith(":read"):
            return scope.removesuffix(":read") + ":write" in self.scopes
        return False

    def sees_partner(self, path: tuple[str, ...] | list[str]) -> bool:
        """True when a partner with ``path`` (root..itself) is the caller or below it."""
        mine = self.partner_path
        return tuple(path[: len(mine)]) == mine
