"""Reading ``template.yaml``: its resources, parameters, function routes and environment."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# PARTNER_API_TEMPLATE points the local tools at another template (tests use a broken one).
TEMPLATE = Path(os.environ.get("PARTNER_API_TEMPLATE") or ROOT / "template.yaml")


@lru_cache(maxsize=4)
def load(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as data, intrinsics (``!Ref`` ...) in their long form."""
    from samcli.yamlhelper import yaml_parse

    return dict(yaml_parse(path.read_text()))


@dataclass(frozen=True)
class FunctionRoute:
    logical_id: str
    method: str
    path: str  # template syntax: /partner/v1/clients/{clientId}
    code_uri: str
    handler: str  # module.function

    @property
    def module(self) -> str:
        """The handler's module as imported with ``functions/`` on the path."""
        folder = Path(self.code_uri.rstrip("/")).name
        return f"{folder}.{self.handler.rsplit('.', 1)[0]}"

    def matches(self, method: str, path: str) -> dict[str, str] | None:
        if method.upper() != self.method:
            return None
        pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path)) + "$"
        found = re.match(pattern, path)
        return found.groupdict() if found else None


def routes(template: dict[str, Any] | None = None) -> list[FunctionRoute]:
    """Every API event of every function in the template."""
    template = template or load()
    found = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        for event in (props.get("Events") or {}).values():
            if event["Type"] != "Api":
                continue
            found.append(
                FunctionRoute(
                    logical_id=logical_id,
                    method=event["Properties"]["Method"].upper(),
                    path=event["Properties"]["Path"],
                    code_uri=props["CodeUri"],
                    handler=props["Handler"],
                )
            )
    return found


def parameter_defaults(template: dict[str, Any] | None = None) -> dict[str, str]:
    template = template or load()
    return {name: str(p.get("Default", "")) for name, p in (template.get("Parameters") or {}).items()}


def function_environment(
    physical_ids: dict[str, str],
    parameters: dict[str, str],
    logical_id: str | None = None,
    template: dict[str, Any] | None = None,
) -> dict[str, str]:
    """A function's environment (Globals plus its own), with ``!Ref`` resolved."""
    template = template or load()
    variables = dict(
        template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )
    if logical_id:
        own = template["Resources"][logical_id]["Properties"].get("Environment", {})
        variables.update(own.get("Variables", {}))
    return {name: _resolve(value, physical_ids, parameters) for name, value in variables.items()}


def _resolve(value: Any, physical_ids: dict[str, str], parameters: dict[str, str]) -> str:
    if isinstance(value, dict) and set(value) == {"Ref"}:
        ref = value["Ref"]
        if ref in parameters:
            return parameters[ref]
        if ref in physical_ids:
            return physical_ids[ref]
        raise KeyError(f"cannot resolve !Ref {ref} locally")
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ValueError(f"unsupported intrinsic in environment: {value!r}")
