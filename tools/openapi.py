"""Write (or check) ``docs/openapi.json`` from the routes the functions declare.

python tools/openapi.py          # regenerate
python tools/openapi.py --check  # exit 1 when the committed document and the code differ
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "docs" / "openapi.json"
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "shared")]

from local import template as tpl  # noqa: E402


def declared_routes() -> list[Any]:
    """Every route every API function of the template declares, its handler imported as in Lambda."""
    found = []
    for function in tpl.functions().values():
        if any(event["Type"] == "Api" for event in function.events.values()):
            module = function.import_handler(f"openapi_functions.{function.logical_id}")
            found.extend(module.api.declared)
    return found


def build() -> dict[str, Any]:
    from partner_api.http.openapi import document

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    return document(declared_routes(), version)


def text(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when docs/openapi.json is out of date")
    args = parser.parse_args(argv)
    wanted = text(build())
    if args.check:
        if not DOCUMENT.exists() or DOCUMENT.read_text() != wanted:
            print(f"{DOCUMENT.relative_to(ROOT)} is out of date: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    DOCUMENT.write_text(wanted)
    print(f"wrote {DOCUMENT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
