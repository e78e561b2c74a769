"""HTTP details of the OAuth endpoints: client authentication from Basic or form fields."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote_plus

from partner_api.errors import InvalidClient, OAuthError
from partner_api.http.api import Call

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def client_authentication(call: Call, form: dict[str, str]) -> tuple[str, str]:
    """``(client_id, client_secret)`` from HTTP Basic or the form, never both (RFC 6749 2.3)."""
    header = call.header("authorization")
    in_form = "client_secret" in form
    if header and header.lower().startswith("basic "):
        if in_form:
            raise OAuthError("invalid_request", "Use one client authentication method, not two.")
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise InvalidClient() from exc
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            raise InvalidClient()
        # RFC 6749 2.3.1: both parts are form-urlencoded before Basic encoding.
        return unquote_plus(client_id), unquote_plus(secret)
    if not form.get("client_id") or not in_form:
        raise InvalidClient()
    return form["client_id"], form["client_secret"]


def require_form(call: Call) -> dict[str, str]:
    content_type = (call.header("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "Send the request as application/x-www-form-urlencoded.")
    return call.form()
