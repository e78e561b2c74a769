"""Reading ``template.yaml``: its resources, parameters, function routes and environment."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType
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
        """The path parameters if this route takes ``method path`` (an ``ANY`` route takes every
        method; API Gateway tries it only after the path's explicit methods)."""
        if self.method not in (method.upper(), "ANY"):
            return None
        # {name}: one segment; {name+} (a greedy path, API Gateway's proxy resource): the rest.
        pattern = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", re.escape(self.path))
        pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern) + "$"
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


@dataclass(frozen=True)
class Function:
    """One ``AWS::Serverless::Function``: where its handler is, and its (non-API) event sources."""

    logical_id: str
    code_uri: str
    handler: str  # module.function
    timeout: int  # seconds
    events: dict[str, Any]  # name -> {"Type": ..., "Properties": {...}}, intrinsics unresolved

    @property
    def handler_file(self) -> Path:
        return ROOT / self.code_uri / (self.handler.rsplit(".", 1)[0] + ".py")

    @property
    def handler_name(self) -> str:
        return self.handler.rsplit(".", 1)[1]

    def import_handler(self, name: str) -> ModuleType:
        """The handler file imported afresh as module ``name``, as Lambda loads it (a cold start).
        The layer must be on ``sys.path``."""
        spec = importlib.util.spec_from_file_location(name, self.handler_file)
        if spec is None or spec.loader is None:
            raise RuntimeError(f"cannot load {self.handler_file}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module


def functions(template: dict[str, Any] | None = None) -> dict[str, Function]:
    """Every function of the template by logical id, Globals applied to its timeout."""
    template = template or load()
    default_timeout = int(template.get("Globals", {}).get("Function", {}).get("Timeout", 3))
    found = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        found[logical_id] = Function(
            logical_id=logical_id,
            code_uri=props["CodeUri"],
            handler=props["Handler"],
            timeout=int(props.get("Timeout", default_timeout)),
            events=dict(props.get("Events") or {}),
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
    attributes: dict[str, dict[str, str]] | None = None,
    pseudo: dict[str, str] | None = None,
) -> dict[str, str]:
    """A function's environment (Globals plus its own), with ``!Ref``, ``!GetAtt`` and ``!Sub`` resolved.

    ``attributes`` maps a logical id to its ``Fn::GetAtt`` attributes (``{"Arn": ...}``).
    """
    template = template or load()
    variables = dict(
        template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )
    if logical_id:
        own = template["Resources"][logical_id]["Properties"].get("Environment", {})
        variables.update(own.get("Variables", {}))
    scope = Scope(physical_ids, parameters, attributes or {}, pseudo or {})
    return {name: _text(scope.resolve(value)) for name, value in variables.items()}


@dataclass(frozen=True)
class Scope:
    """What intrinsics resolve against: physical ids (``Ref``), parameters, attributes, pseudo params."""

    physical_ids: dict[str, str]
    parameters: dict[str, str]
    attributes: dict[str, dict[str, str]]
    pseudo: dict[str, str]

    def resolve(self, value: Any) -> Any:
        """``value`` with every supported intrinsic replaced; raises on unsupported ones."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, arg),) = value.items()
            if name == "Ref":
                return self.ref(arg)
            if name == "Fn::GetAtt":
                logical_id, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
                return self.get_att(logical_id, attribute)
            if name == "Fn::Sub":
                return self.sub(arg)
            if name == "Fn::Join":
                separator, parts = arg
                return separator.join(_text(p) for p in self.resolve(parts))
            if name.startswith("Fn::") or name == "Condition":
                raise ValueError(f"unsupported intrinsic {name} locally: {value!r}")
        return {k: self.resolve(v) for k, v in value.items()}

    def ref(self, name: str) -> str:
        for source in (self.parameters, self.pseudo, self.physical_ids):
            if name in source:
                return source[name]
        raise KeyError(f"cannot resolve !Ref {name} locally")

    def get_att(self, logical_id: str, attribute: str) -> str:
        try:
            return self.attributes[logical_id][attribute]
        except KeyError:
            raise KeyError(f"cannot resolve !GetAtt {logical_id}.{attribute} locally") from None

    def sub(self, arg: Any) -> str:
        text, names = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def one(found: re.Match[str]) -> str:
            name = found.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in names:
                return _text(names[name])
            if "." in name:
                return self.get_att(*name.split(".", 1))
            return self.ref(name)

        return re.sub(r"\$\{([^}]+)\}", one, text)


def references(value: Any) -> set[str]:
    """The logical ids (or parameter names) that ``value``'s ``Ref``, ``GetAtt`` and ``Sub`` mention."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        if set(value) == {"Ref"}:
            found.add(value["Ref"])
        elif set(value) == {"Fn::GetAtt"}:
            arg = value["Fn::GetAtt"]
            found.add(arg.split(".", 1)[0] if isinstance(arg, str) else arg[0])
        elif set(value) == {"Fn::Sub"}:
            arg = value["Fn::Sub"]
            text = arg if isinstance(arg, str) else arg[0]
            found |= {n.split(".", 1)[0] for n in re.findall(r"\$\{([^!}][^}]*)\}", text)}
            if not isinstance(arg, str):
                found |= references(arg[1])
        else:
            for item in value.values():
                found |= references(item)
    return found


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ValueError(f"unsupported value in environment: {value!r}")
