"""The methods each path of the published contract has: what a 405's ``Allow`` header lists."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

OPERATIONS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")  # OpenAPI 3.1


@cache
def methods_by_path(document: Path) -> dict[str, list[str]]:
    """Each path of the OpenAPI ``document`` (template syntax, ``{param}``) and its operations'
    methods, sorted; read once per container, at its first request."""
    paths = json.loads(document.read_text(encoding="utf-8"))["paths"]
    return {path: sorted(m.upper() for m in item if m in OPERATIONS) for path, item in paths.items()}
