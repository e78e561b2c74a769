"""The SCIM discovery documents (RFC 7643 sections 5-7, RFC 7644 section 4) and the ListResponse.

The documents are built by ``tools/scim_discovery.py`` with scim2-models and committed as
``discovery.json`` next to this module: importing scim2-models would cost a SCIM function most of
a second of cold start, reading the JSON a fraction of a millisecond. Only the standard library here.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

LIST_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
_DOCUMENTS = Path(__file__).with_name("discovery.json")


@functools.cache
def _served() -> dict[str, str]:
    """Each document as JSON text, by its path under the SCIM base URL.

    Read on first use, once per container (a function that only lists Users never reads it).
    Kept as text because parsing it is the caller's fresh copy, several times faster than
    ``copy.deepcopy``.
    """
    documents = json.loads(_DOCUMENTS.read_text(encoding="utf-8"))
    served = {"ServiceProviderConfig": json.dumps(documents["ServiceProviderConfig"])}
    served |= {f"ResourceTypes/{found['id']}": json.dumps(found) for found in documents["ResourceTypes"]}
    served |= {f"Schemas/{found['id']}": json.dumps(found) for found in documents["Schemas"]}
    return served


def _located(path: str, scim_base: str) -> dict[str, Any]:
    """A copy of the document served at ``path``, the caller's own, with ``meta.location`` set."""
    document: dict[str, Any] = json.loads(_served()[path])
    document.setdefault("meta", {})["location"] = f"{scim_base.rstrip('/')}/{path}"
    return document


def _all_under(folder: str, scim_base: str) -> list[dict[str, Any]]:
    return [_located(path, scim_base) for path in _served() if path.startswith(f"{folder}/")]


def _one(path: str, scim_base: str) -> dict[str, Any] | None:
    # The id is part of the path, so ids compare exactly, as the RFC's URIs and names do.
    return _located(path, scim_base) if path in _served() else None


def service_provider_config(scim_base: str) -> dict[str, Any]:
    """The ServiceProviderConfig (RFC 7643 section 5) served under ``scim_base``."""
    return _located("ServiceProviderConfig", scim_base)


def resource_types(scim_base: str) -> list[dict[str, Any]]:
    """Every ResourceType (RFC 7643 section 6) served under ``scim_base``."""
    return _all_under("ResourceTypes", scim_base)


def resource_type(type_id: str, scim_base: str) -> dict[str, Any] | None:
    """The ResourceType whose id is exactly ``type_id``, or None when there is none."""
    return _one(f"ResourceTypes/{type_id}", scim_base)


def schemas(scim_base: str) -> list[dict[str, Any]]:
    """Every Schema (RFC 7643 section 7) served under ``scim_base``."""
    return _all_under("Schemas", scim_base)


def schema(schema_id: str, scim_base: str) -> dict[str, Any] | None:
    """The Schema whose id is exactly ``schema_id`` (a URI: no case folding), or None when there is none."""
    return _one(f"Schemas/{schema_id}", scim_base)


def list_response(
    resources: list[dict[str, Any]], *, total: int | None = None, start_index: int = 1
) -> dict[str, Any]:
    """An RFC 7644 section 3.4.2 ListResponse of one page: ``resources``, out of ``total`` matches
    (default: the page is all of them), the first being number ``start_index`` (1-based)."""
    return {
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": len(resources) if total is None else total,
        "startIndex": start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }
