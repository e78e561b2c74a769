"""The OAuth endpoints' form fields (RFC 6749, RFC 8693, RFC 7662-like validation).

The OAuth logic judges the values (its errors are RFC 6749's, not the envelope's); these models
say which fields the forms have, for ``Call.form`` and the published document.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class OAuthForm(BaseModel):
    # RFC 6749 3.2: the server ignores parameters it does not know.
    model_config = ConfigDict(extra="allow")


class TokenRequest(OAuthForm):
    grant_type: Literal["client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"]
    client_id: str | None = Field(None, description="With client_secret, when not using HTTP Basic.")
    client_secret: str | None = None
    scope: str | None = Field(None, description="Space- or comma-separated; omitted: the credential's.")
    subject_token: str | None = Field(None, description="Token exchange: a JWT whose payload has `email`.")
    subject_token_type: Literal["jwt", "urn:ietf:params:oauth:token-type:jwt"] | None = None
    actor_token: str | None = Field(None, description="Token exchange: a token with users:impersonate.")
    actor_token_type: Literal["access_token", "urn:ietf:params:oauth:token-type:access_token"] | None = None


class TokenValidation(OAuthForm):
    client_id: str
    token: str
    type: Literal["access_token", "urn:ietf:params:oauth:token-type:access_token"]
