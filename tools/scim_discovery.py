"""Write (or check) ``layers/shared/partner_api/scim/discovery.json``: the SCIM discovery documents.

python tools/scim_discovery.py          # regenerate
python tools/scim_discovery.py --check  # exit 1 when the committed documents and this tool differ

The documents (RFC 7643 sections 5-7, served as RFC 7644 section 4 says) are built here with
scim2-models and committed as JSON, because importing scim2-models costs the SCIM functions most of
a second of cold start; ``partner_api.scim.discovery`` serves the JSON with the standard library.
``meta.location`` depends on the host a request came to, so it is filled in at run time.

The User schema is reduced to what a client record stores (``partner_api.scim.users``), not the
whole core User schema: RFC 7643 section 7 has a service provider's ``/Schemas`` describe the
attributes it supports, and a directory (or a conformance checker) sets every attribute published
there and expects it back. A published ``nickName`` or ``addresses`` we drop would be a broken
promise. The attribute definitions are scim2-models' own, filtered; only ``id``'s uniqueness is
corrected (see ``common_attributes``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from scim2_models import (
    URI,
    AuthenticationScheme,
    Bulk,
    ChangePassword,
    Context,
    ETag,
    Filter,
    Meta,
    Mutability,
    Patch,
    Reference,
    ResourceType,
    Schema,
    ServiceProviderConfig,
    Sort,
    Uniqueness,
    User,
)
from scim2_models.base import BaseModel
from scim2_models.resources.resource import _model_attribute_to_scim_attribute
from scim2_models.resources.schema import Attribute

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "layers" / "shared" / "partner_api" / "scim" / "discovery.json"

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
# What a client record stores, in the order the schema lists it: each attribute with the
# sub-attributes kept (None: a simple attribute). The common attributes (RFC 7643 section 3.1) lead.
USER_ATTRIBUTES: dict[str, tuple[str, ...] | None] = {
    "id": None,
    "externalId": None,
    "meta": ("resourceType", "created", "lastModified", "location", "version"),
    "userName": None,
    "name": ("givenName", "familyName"),
    "displayName": None,
    "title": None,
    "emails": ("value", "type", "primary"),
    "phoneNumbers": ("value", "type", "primary"),
    "active": None,
}
AUTHENTICATION_DESCRIPTION = (
    "A directory token (scim_…) created with POST /partner/v1/directories, sent as Authorization: Bearer."
)


def dump(document: BaseModel) -> dict[str, Any]:
    """A document as a response carries it: SCIM names, no unset attributes."""
    return document.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)


def service_provider_config() -> dict[str, Any]:
    config = ServiceProviderConfig(
        patch=Patch(supported=True),
        bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
        filter=Filter(supported=True, max_results=200),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=False),
        etag=ETag(supported=True),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="OAuth Bearer Token",
                description=AUTHENTICATION_DESCRIPTION,
                primary=True,
            )
        ],
        meta=Meta(resource_type="ServiceProviderConfig"),
    )
    return dump(config)


def user_resource_type() -> dict[str, Any]:
    resource_type = ResourceType(
        id="User",
        name="User",
        endpoint=Reference[URI]("/Users"),
        description="A partner's client, provisioned by a directory as a SCIM User.",
        schema=Reference[URI](USER_SCHEMA),
        meta=Meta(resource_type="ResourceType"),
    )
    return dump(resource_type)


def common_attributes() -> dict[str, Attribute]:
    """``id``, ``externalId`` and ``meta`` as scim2-models defines them on every resource.

    ``User.to_schema()`` leaves them out (RFC 7643 section 8.7.1 does too), and scim2-models has no
    public way to describe one field, hence its private helper: the test of the committed document
    fails if a new version changes it.
    """
    found = {name: _model_attribute_to_scim_attribute(User, name) for name in ("id", "external_id", "meta")}
    # RFC 7643 section 3.1: an id is "unique across the SCIM service provider's entire set of
    # resources", which section 7 calls "server"; scim2-models says "global".
    found["id"].uniqueness = Uniqueness.server
    return {attribute.name or "": attribute for attribute in found.values()}


def reduced(attribute: Attribute, kept: tuple[str, ...] | None) -> Attribute:
    """``attribute`` with only the ``kept`` sub-attributes, in that order, and its descriptions
    unwrapped (scim2-models takes them from docstrings, line breaks included)."""
    copy = attribute.model_copy(deep=True)
    if copy.description:
        copy.description = " ".join(copy.description.split())
    if kept is not None:
        by_name = {sub.name: sub for sub in copy.sub_attributes or []}
        missing = set(kept) - set(by_name)
        if missing:
            raise LookupError(f"scim2-models' {attribute.name} has no {sorted(missing)}")
        copy.sub_attributes = [reduced(by_name[name], None) for name in kept]
    return copy


# Where a client differs from scim2-models' User: what it always has (required), what it keeps
# (one email and one phone, of type work and primary: read-only), and that userName is its email.
REQUIRED = ("displayName", "emails", "active")
FIXED_SUB_ATTRIBUTES = {"emails": ("type", "primary"), "phoneNumbers": ("type", "primary")}
DESCRIPTIONS = {
    "userName": "The client's email address: unique per tenant, case-insensitive. Must be an email address.",
    "displayName": "The client's name. Required: when a User has none, it is made from name or userName.",
    "emails": "The client's one email address (the same as userName): a change of the primary value "
    "changes the email.",
    "active": "Whether the client is active; false makes it inactive (freeing an account seat).",
    "phoneNumbers": "The client's one phone number.",
}


def adapted(attribute: Attribute) -> Attribute:
    """scim2-models' definition, as a client holds the attribute."""
    name = attribute.name or ""
    if name in REQUIRED:
        attribute.required = True
    if name in DESCRIPTIONS:
        attribute.description = DESCRIPTIONS[name]
    for sub in attribute.sub_attributes or []:
        if sub.name in FIXED_SUB_ATTRIBUTES.get(name, ()):
            sub.mutability = Mutability.read_only
    return attribute


def user_schema() -> dict[str, Any]:
    full = User.to_schema()
    available = common_attributes() | {attribute.name or "": attribute for attribute in full.attributes or []}
    missing = set(USER_ATTRIBUTES) - set(available)
    if missing:
        raise LookupError(f"scim2-models' User schema has no {sorted(missing)}")
    schema = Schema(
        id=USER_SCHEMA,
        name="User",
        description="User Account",
        attributes=[adapted(reduced(available[name], kept)) for name, kept in USER_ATTRIBUTES.items()],
        meta=Meta(resource_type="Schema"),
    )
    return dump(schema)


def build() -> dict[str, Any]:
    return {
        "ServiceProviderConfig": service_provider_config(),
        "ResourceTypes": [user_resource_type()],
        "Schemas": [user_schema()],
    }


def text(documents: dict[str, Any]) -> str:
    return json.dumps(documents, indent=2, ensure_ascii=False) + "\n"


def check() -> str | None:
    """Why the committed document is not what this tool writes, or None when it is."""
    if not DOCUMENT.exists():
        return f"{DOCUMENT.relative_to(ROOT)} is missing: run `python tools/scim_discovery.py`"
    if DOCUMENT.read_text() != text(build()):
        return f"{DOCUMENT.relative_to(ROOT)} is out of date: run `python tools/scim_discovery.py`"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when discovery.json is out of date")
    args = parser.parse_args(argv)
    if args.check:
        reason = check()
        if reason:
            print(reason, file=sys.stderr)
            return 1
        return 0
    DOCUMENT.write_text(text(build()))
    print(f"wrote {DOCUMENT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
