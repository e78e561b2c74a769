"""SCIM Users as our clients (API.md section 10): the mapping both ways, and what a request may
ask of a response (``attributes`` / ``excludedAttributes``).

``id`` = clientId; ``userName`` = email (case-insensitive, unique per tenant); ``name.givenName``
/ ``name.familyName`` = firstName / lastName; ``displayName`` = name; ``emails[primary]`` = email;
``phoneNumbers[0]`` = phone; ``title`` = title; ``externalId`` = identifier; ``active`` = status
is active. Anything else a provider sends (locale, the enterprise extension...) is not stored.
"""

from __future__ import annotations

from typing import Any

from partner_api.errors import ScimInvalidValue
from partner_api.logic.versions import etag
from partner_api.models.common import EMAIL_PATTERN

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
# Attributes returned whatever ``attributes`` / ``excludedAttributes`` say (RFC 7643 "always").
_ALWAYS = ("schemas", "id")


def to_scim(record: dict[str, Any], scim_base: str) -> dict[str, Any]:
    """A client record as a SCIM User."""
    user: dict[str, Any] = {"schemas": [USER_SCHEMA], "id": record["clientId"]}
    if record.get("identifier"):
        user["externalId"] = record["identifier"]
    user["userName"] = record["email"]
    name = {
        scim: record[ours]
        for scim, ours in (("givenName", "firstName"), ("familyName", "lastName"))
        if record.get(ours)
    }
    if name:
        user["name"] = name
    user["displayName"] = record["name"]
    if record.get("title"):
        user["title"] = record["title"]
    user["emails"] = [{"value": record["email"], "type": "work", "primary": True}]
    if record.get("phone"):
        user["phoneNumbers"] = [{"value": record["phone"], "type": "work", "primary": True}]
    user["active"] = record["status"] == "active"
    user["meta"] = {
        "resourceType": "User",
        "created": record["registeredAt"],
        "lastModified": record["updatedAt"],
        "location": f"{scim_base}/Users/{record['clientId']}",
        "version": etag(record["clientId"], record["version"]),
    }
    return user


def client_fields(user: Any, before: dict[str, Any] | None = None) -> dict[str, Any]:
    """The client fields a SCIM User sets: every mapped field, ``None`` where the User has none
    (a replace clears it). ``before`` is the User as it was (a PATCH): a change to the primary
    email alone then changes the email, as a change to ``userName`` does."""
    if not isinstance(user, dict):
        raise ScimInvalidValue("The request body must be a SCIM User object.")
    user_name = _string(user, "userName")
    if user_name is None:
        raise ScimInvalidValue("userName is required.")
    email = user_name
    primary = _primary_value(user, "emails")
    unchanged_name = before is not None and user_name == before.get("userName")
    if unchanged_name and primary and before is not None and primary != _primary_value(before, "emails"):
        email = primary
    if not EMAIL_PATTERN.match(email) or len(email) > 254:
        raise ScimInvalidValue("userName must be an email address: it is the client's email.")
    name = user.get("name")
    if name is not None and not isinstance(name, dict):
        raise ScimInvalidValue("name must be an object.")
    given = _string(name or {}, "givenName", label="name.givenName")
    family = _string(name or {}, "familyName", label="name.familyName")
    display = (
        _string(user, "displayName")
        or _string(name or {}, "formatted", label="name.formatted")
        or " ".join(p for p in (given, family) if p)
        or email
    )  # a client needs a name: the provider's display name, else one made from what it sent
    active = user.get("active", True)
    if not isinstance(active, bool):
        raise ScimInvalidValue("active must be a boolean.")
    return {
        "email": email,
        "name": display[:255],
        "firstName": given,
        "lastName": family,
        "title": _string(user, "title"),
        "phone": _primary_value(user, "phoneNumbers"),
        "identifier": _string(user, "externalId"),
        "status": "active" if active else "inactive",
    }


def _string(
    data: dict[str, Any], name: str, *, required: bool = False, label: str | None = None
) -> str | None:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ScimInvalidValue(f"{label or name} is required.")
        return None
    if not isinstance(value, str):
        raise ScimInvalidValue(f"{label or name} must be a string.")
    return value.strip()


def _primary_value(user: dict[str, Any], attribute: str) -> str | None:
    """The value of the primary element of a multi-valued attribute, else of its first."""
    values = user.get(attribute)
    if values is None:
        return None
    if not isinstance(values, list) or not all(isinstance(v, dict) for v in values):
        raise ScimInvalidValue(f"{attribute} must be a list of objects.")
    if any(not isinstance(v.get("value"), str) for v in values):
        raise ScimInvalidValue(f"Each of {attribute} needs a string value.")
    chosen = next((v for v in values if v.get("primary") is True), values[0] if values else None)
    if chosen is None:
        return None
    return _string(chosen, "value", label=f"{attribute}.value")


def project(user: dict[str, Any], attributes: list[str], excluded: list[str]) -> dict[str, Any]:
    """The User with only ``attributes`` (plus those always returned), or without ``excluded``
    (RFC 7644 section 3.9); names are case-insensitive and may carry the schema URN."""
    if attributes:
        wanted = [_path(a) for a in attributes]
        shown = {k: v for k, v in user.items() if k in _ALWAYS}
        for key, value in user.items():
            subs = [sub for top, sub in wanted if top == key.lower()]
            if not subs:
                continue
            if None in subs or not isinstance(value, dict | list):
                shown[key] = value
            else:
                shown[key] = _only(value, {s for s in subs if s})
        return shown
    dropped = [_path(a) for a in excluded]
    shown = {}
    for key, value in user.items():
        subs = [sub for top, sub in dropped if top == key.lower()]
        if key in _ALWAYS or not subs:
            shown[key] = value
        elif None not in subs and isinstance(value, dict | list):
            shown[key] = _without(value, {s for s in subs if s})
    return shown


def _path(attribute: str) -> tuple[str, str | None]:
    text = attribute.strip()
    if text.lower().startswith(USER_SCHEMA.lower() + ":"):
        text = text[len(USER_SCHEMA) + 1 :]
    top, _, sub = text.lower().partition(".")
    return top, sub or None


def _only(value: Any, subs: set[str]) -> Any:
    if isinstance(value, list):
        return [_only(v, subs) for v in value]
    return {k: v for k, v in value.items() if k.lower() in subs} if isinstance(value, dict) else value


def _without(value: Any, subs: set[str]) -> Any:
    if isinstance(value, list):
        return [_without(v, subs) for v in value]
    return {k: v for k, v in value.items() if k.lower() not in subs} if isinstance(value, dict) else value
