"""SCIM PATCH (RFC 7644 section 3.5.2): a PatchOp's operations applied to a User held as a dict.

Besides the RFC forms it takes what the big directories send: ``"op": "Replace"`` and
``"value": "False"`` (Entra), dotted keys in a value-only operation (``"name.givenName"``,
Entra) or nested objects (``{"name": {"givenName": ...}}``, Okta), and a ``replace`` of
``emails[type eq "work"].value`` for a user with no work email yet, which adds one.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Final, Literal

from partner_api.errors import (
    ScimInvalidFilter,
    ScimInvalidPath,
    ScimInvalidSyntax,
    ScimInvalidValue,
    ScimMutability,
    ScimNoTarget,
)
from partner_api.scim import filters

CORE_SCHEMA: Final = filters.USER_SCHEMA
ENTERPRISE_SCHEMA: Final = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
# What a bracket filter in a path may name: the sub-attributes of emails and phoneNumbers.
ELEMENT_FILTER_ATTRIBUTES: Final = frozenset({"value", "type", "primary", "display"})
MAX_PATH_LENGTH: Final = 1000
# The enterprise extension is kept as sent; its values are no deeper than this (manager.value).
MAX_EXTENSION_DEPTH: Final = 4

Kind = Literal["string", "boolean", "complex", "multi", "strings", "extension"]
Op = Literal["add", "replace", "remove"]
_OPS: Final[dict[str, Op]] = {"add": "add", "replace": "replace", "remove": "remove"}


@dataclass(frozen=True)
class _Attribute:
    name: str
    kind: Kind
    sub_attributes: tuple[_Attribute, ...] = ()
    read_only: bool = False
    required: bool = False

    def sub(self, name: str) -> _Attribute | None:
        lowered = name.lower()
        return next((sub for sub in self.sub_attributes if sub.name.lower() == lowered), None)


def _strings(*names: str) -> tuple[_Attribute, ...]:
    return tuple(_Attribute(name, "string") for name in names)


_ELEMENT = (*_strings("value", "type", "display"), _Attribute("primary", "boolean"))
_NAME = _strings("givenName", "familyName", "formatted", "middleName", "honorificPrefix", "honorificSuffix")
_META = _strings("resourceType", "created", "lastModified", "location", "version")
_EXTENSION = _Attribute(ENTERPRISE_SCHEMA, "extension")
_ATTRIBUTES: Final = {
    attribute.name.lower(): attribute
    for attribute in (
        _Attribute("schemas", "strings", read_only=True),
        _Attribute("id", "string", read_only=True, required=True),
        _Attribute("externalId", "string"),
        _Attribute("userName", "string", required=True),
        _Attribute("name", "complex", _NAME),
        # A client always has a name, an email and a status: these cannot be removed (the
        # published schema marks them required).
        _Attribute("displayName", "string", required=True),
        *_strings("nickName", "title"),
        _Attribute("active", "boolean", required=True),
        _Attribute("emails", "multi", _ELEMENT, required=True),
        _Attribute("phoneNumbers", "multi", _ELEMENT),
        _Attribute("meta", "complex", _META, read_only=True),
        _EXTENSION,
    )
}

# attrPath [ "[" filter "]" ] [ "." subAttr ]; brackets cannot nest, so the last "]" closes them.
_PATH = re.compile(r"([A-Za-z][\w$-]*)(?:\[(.*)\])?(?:\.([A-Za-z][\w$-]*))?", re.DOTALL)
_EXTENSION_NAME = re.compile(r"[A-Za-z][\w$-]*")


@dataclass(frozen=True)
class _Target:
    """Where a path points: an attribute, maybe a filter on its elements, maybe a sub-attribute
    (or, in the enterprise extension, the names leading into it)."""

    attribute: _Attribute
    element_filter: filters.Filter | None = None
    sub: _Attribute | None = None
    extension_path: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """As error messages name it: ``name.givenName``, ``urn:...:2.0:User:department``."""
        if self.extension_path:
            return f"{ENTERPRISE_SCHEMA}:{'.'.join(self.extension_path)}"
        return self.attribute.name + (f".{self.sub.name}" if self.sub is not None else "")


def apply(user: dict[str, Any], operations: Any) -> dict[str, Any]:
    """The user after a PatchOp's Operations (RFC 7644 section 3.5.2), as a new dict (the input
    is not modified). ``operations`` is the raw ``Operations`` value of the request body."""
    if not isinstance(operations, list) or not operations:
        raise ScimInvalidSyntax("Operations must be a non-empty list.")
    patched = copy.deepcopy(user)
    for operation in operations:
        _apply_operation(patched, operation)
    return patched


# RFC 7643 section 4.1 User attributes that we do not store. Providers send them from their
# default mappings (Entra: addresses, preferredLanguage, locale...); a change to one is accepted
# and changes nothing, as those attributes are accepted and not stored on create.
NOT_STORED: Final = frozenset(
    {
        "addresses",
        "entitlements",
        "groups",
        "ims",
        "locale",
        "password",
        "photos",
        "preferredlanguage",
        "profileurl",
        "roles",
        "timezone",
        "usertype",
        "x509certificates",
    }
)
_LEADING_NAME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9_$-]*")


def _not_stored(path: str) -> bool:
    """Whether ``path`` (possibly under the core schema's URN) addresses an attribute in ``NOT_STORED``."""
    text = path.strip()
    if text.lower().startswith(CORE_SCHEMA.lower() + ":"):
        text = text[len(CORE_SCHEMA) + 1 :]
    leading = _LEADING_NAME.match(text)
    return leading is not None and leading.group(0).lower() in NOT_STORED


def _apply_operation(user: dict[str, Any], operation: Any) -> None:
    if not isinstance(operation, dict):
        raise ScimInvalidSyntax("Each operation must be an object.")
    # Member names are case-insensitive in SCIM, as the op itself is ("Replace").
    fields = {key.lower(): value for key, value in operation.items() if isinstance(key, str)}
    op = _op(fields.get("op"))
    path = fields.get("path")
    if path is not None and not isinstance(path, str):
        raise ScimInvalidPath("The path must be a string.")
    if path is not None and _not_stored(path):
        return
    target = _target(path) if path is not None and path.strip() else None
    if op == "remove":
        if target is None:
            raise ScimNoTarget("A remove operation needs a path.")
        _remove(user, target, fields.get("value"), missing_ok=False)
        return
    if "value" not in fields:
        raise ScimInvalidSyntax(f"An {op} operation needs a value.")
    if target is None:
        _write_object(user, op, fields["value"])
    else:
        _write(user, op, target, fields["value"])


def _op(value: Any) -> Op:
    op = _OPS.get(value.lower()) if isinstance(value, str) else None
    if op is None:
        raise ScimInvalidSyntax("op must be add, replace or remove.")
    return op


def _target(path: str) -> _Target:
    """The attribute a path names (RFC 7644 section 3.5.2, PATH = attrPath / valuePath [subAttr])."""
    text = path.strip()
    if len(text) > MAX_PATH_LENGTH:
        raise ScimInvalidPath(f"The path is longer than {MAX_PATH_LENGTH} characters.")
    lowered = text.lower()
    if lowered == ENTERPRISE_SCHEMA.lower():
        return _Target(_EXTENSION)
    if lowered.startswith(ENTERPRISE_SCHEMA.lower() + ":"):
        names = tuple(text[len(ENTERPRISE_SCHEMA) + 1 :].split("."))
        if len(names) > MAX_EXTENSION_DEPTH or not all(_EXTENSION_NAME.fullmatch(name) for name in names):
            raise ScimInvalidPath("Invalid path into the enterprise extension.")
        return _Target(_EXTENSION, extension_path=names)
    if lowered.startswith(CORE_SCHEMA.lower() + ":"):
        text = text[len(CORE_SCHEMA) + 1 :]
    parts = _PATH.fullmatch(text)
    if parts is None:
        raise ScimInvalidPath("The path is not a valid attribute path.")
    spelled, filter_text, sub_name = parts.groups()
    attribute = _ATTRIBUTES.get(spelled.lower())
    if attribute is None or attribute is _EXTENSION:
        raise ScimInvalidPath(f"Unknown attribute '{spelled}'.")
    element_filter = None
    if filter_text is not None:
        if attribute.kind != "multi":
            raise ScimInvalidPath(f"'{attribute.name}' has no values to filter.")
        try:
            element_filter = filters.parse(filter_text, ELEMENT_FILTER_ATTRIBUTES)
        except ScimInvalidFilter as exc:
            raise ScimInvalidPath(f"Invalid filter in path: {exc.message}") from exc
    sub = None
    if sub_name is not None:
        sub = attribute.sub(sub_name)
        if sub is None:
            raise ScimInvalidPath(f"Unknown attribute '{attribute.name}.{sub_name}'.")
    return _Target(attribute, element_filter, sub)


# --- add / replace ----------------------------------------------------------------------------


def _write_object(user: dict[str, Any], op: Op, value: Any) -> None:
    """An add or replace without a path: each key of ``value`` is a path of its own."""
    if not isinstance(value, dict):
        raise ScimInvalidValue("An operation without a path needs an object value.")
    for key, item in value.items():
        if isinstance(key, str) and key.lower() == CORE_SCHEMA.lower() and isinstance(item, dict):
            # {"urn:...:core:2.0:User": {"userName": ...}}: the attributes under their schema
            for inner_key, inner_item in item.items():
                if not _not_stored(_attribute_name(inner_key)):
                    _write(user, op, _target(_attribute_name(inner_key)), inner_item)
        elif not _not_stored(_attribute_name(key)):
            _write(user, op, _target(_attribute_name(key)), item)


def _attribute_name(key: Any) -> str:
    if not isinstance(key, str) or not key.strip():
        raise ScimInvalidPath("Attribute names must be non-empty strings.")
    return key


def _write(user: dict[str, Any], op: Op, target: _Target, value: Any) -> None:
    attribute = target.attribute
    if attribute.read_only:
        # a client echoing the current id (or meta, schemas) changes nothing
        if value is not None and value == _current(user, target):
            return
        raise ScimMutability(f"'{target.name}' is read-only.")
    if value is None:
        # null clears the attribute (RFC 7643 section 2.5: unassigned)
        _remove(user, target, None, missing_ok=True)
        return
    if attribute.kind == "extension":
        _write_extension(user, target, value)
    elif attribute.kind == "complex":
        _write_complex(user, target, value)
    elif attribute.kind == "multi":
        _write_multi(user, op, target, value)
    else:
        user[attribute.name] = _checked(attribute, value, target.name)


def _current(user: dict[str, Any], target: _Target) -> Any:
    current = user.get(target.attribute.name)
    if target.sub is not None:
        return current.get(target.sub.name) if isinstance(current, dict) else None
    return current


def _write_complex(user: dict[str, Any], target: _Target, value: Any) -> None:
    """name.givenName is set; name itself takes the sub-attributes given, keeping the others
    (RFC 7644 section 3.5.2.3: a replace of a complex attribute leaves the rest unchanged)."""
    attribute = target.attribute
    existing = user.get(attribute.name)
    complex_value = dict(existing) if isinstance(existing, dict) else {}
    if target.sub is not None:
        complex_value[target.sub.name] = _checked(target.sub, value, target.name)
    else:
        if not isinstance(value, dict):
            raise ScimInvalidValue(f"'{attribute.name}' must be an object.")
        for key, item in value.items():
            sub = _known_sub(attribute, key)
            if item is None:
                complex_value.pop(sub.name, None)
            else:
                complex_value[sub.name] = _checked(sub, item, f"{attribute.name}.{sub.name}")
    _store(user, attribute.name, complex_value)


def _write_multi(user: dict[str, Any], op: Op, target: _Target, value: Any) -> None:
    attribute, sub, element_filter = target.attribute, target.sub, target.element_filter
    elements = _elements(user, attribute)
    written: list[dict[str, Any]] = []
    if element_filter is None and sub is None:
        given = [_checked_element(attribute, item) for item in _element_list(attribute, value)]
        elements = _merged(elements if op == "add" else [], given, written)
    elif element_filter is None and sub is not None:
        # emails.value with no filter: every element, or a first one when there is none
        written = elements if elements else [{}]
        elements = written
        for element in written:
            element[sub.name] = _checked(sub, value, target.name)
    elif element_filter is not None:
        selected = [element for element in elements if element_filter.matches(element)]
        created = not selected
        if created:
            selected = [_described_element(attribute, element_filter)]
            elements.append(selected[0])
        replacement = (
            {sub.name: _checked(sub, value, target.name)}
            if sub is not None
            else _checked_element(attribute, value)
        )
        for element in selected:
            if op == "replace" and sub is None and not created:
                element.clear()
            element.update(replacement)
        written = selected
    if any(not element.get("value") for element in written):
        raise ScimInvalidValue(f"Each of '{attribute.name}' needs a value.")
    if sub is None or sub.name == "primary":
        _keep_one_primary(attribute, elements, written)
    _store(user, attribute.name, elements)


def _described_element(attribute: _Attribute, element_filter: filters.Filter) -> dict[str, Any]:
    """For a write that no element matches, the element the filter's ``eq`` terms describe
    (``type eq "work"``): Okta and Entra rely on this to give a user a first work email."""
    required = filters.equality_constraints(element_filter)
    if required is None:
        raise ScimNoTarget(f"No value of '{attribute.name}' matches the filter.")
    return {_known_sub(attribute, name).name: value for name, value in required.items()}


def _merged(
    elements: list[dict[str, Any]], given: list[dict[str, Any]], written: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``elements`` with ``given`` added; one with the same value and type as an existing one
    updates it instead of repeating it."""
    for element in given:
        same = next((old for old in elements if _identity(old) == _identity(element)), None)
        if same is None:
            elements.append(element)
            written.append(element)
        else:
            same.update(element)
            written.append(same)
    return elements


def _identity(element: dict[str, Any]) -> tuple[str, str]:
    def folded(text: Any) -> str:
        return text.casefold() if isinstance(text, str) else ""

    return folded(element.get("value")), folded(element.get("type"))


def _keep_one_primary(
    attribute: _Attribute, elements: list[dict[str, Any]], written: list[dict[str, Any]]
) -> None:
    """RFC 7643 section 2.4: ``primary`` is true for at most one value; the one just written wins."""
    primaries = {id(element): element for element in written if element.get("primary") is True}
    if len(primaries) > 1:
        raise ScimInvalidValue(f"Only one of '{attribute.name}' can be primary.")
    for primary in primaries.values():
        for element in elements:
            if element is not primary and element.get("primary") is True:
                element["primary"] = False


def _write_extension(user: dict[str, Any], target: _Target, value: Any) -> None:
    """The enterprise extension is kept as sent, by the names its paths give."""
    _check_extension_value(value)
    existing = user.get(ENTERPRISE_SCHEMA)
    extension = existing if isinstance(existing, dict) else {}
    if not target.extension_path:
        if not isinstance(value, dict):
            raise ScimInvalidValue(f"'{ENTERPRISE_SCHEMA}' must be an object.")
        for key, item in value.items():
            _set_ignoring_case(extension, key, copy.deepcopy(item))
    else:
        container = extension
        for name in target.extension_path[:-1]:
            child = _get_ignoring_case(container, name)
            if not isinstance(child, dict):
                child = {}
                _set_ignoring_case(container, name, child)
            container = child
        _set_ignoring_case(container, target.extension_path[-1], copy.deepcopy(value))
    _store(user, ENTERPRISE_SCHEMA, extension)


def _check_extension_value(value: Any) -> None:
    """Plain JSON no deeper than MAX_EXTENSION_DEPTH (checked without recursion: any input)."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_EXTENSION_DEPTH:
            raise ScimInvalidValue(f"'{ENTERPRISE_SCHEMA}' is nested too deeply.")
        if isinstance(item, dict):
            if not all(isinstance(key, str) for key in item):
                raise ScimInvalidValue(f"'{ENTERPRISE_SCHEMA}' has a name that is not a string.")
            pending.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            pending.extend((child, depth + 1) for child in item)
        elif item is not None and not isinstance(item, str | int | float | bool):
            raise ScimInvalidValue(f"'{ENTERPRISE_SCHEMA}' holds a value that is not JSON.")


# --- remove -----------------------------------------------------------------------------------


def _remove(user: dict[str, Any], target: _Target, value: Any, *, missing_ok: bool) -> None:
    """RFC 7644 section 3.5.2.2. ``value`` only matters for a multi-valued attribute: the
    elements with those values go. ``missing_ok``: a null written, not a remove asked for."""
    attribute = target.attribute
    if attribute.read_only:
        raise ScimMutability(f"'{target.name}' is read-only.")
    whole = (
        target.sub is None and target.element_filter is None and (value is None or attribute.kind != "multi")
    )
    if attribute.required and whole:
        raise ScimMutability(f"'{target.name}' is required and cannot be removed.")
    if attribute.kind == "extension":
        _remove_from_extension(user, target)
    elif attribute.kind == "complex" and target.sub is not None:
        existing = user.get(attribute.name)
        if isinstance(existing, dict):
            _store(user, attribute.name, {k: v for k, v in existing.items() if k != target.sub.name})
    elif attribute.kind == "multi" and (
        target.element_filter is not None or target.sub is not None or value is not None
    ):
        _remove_elements(user, target, value, missing_ok=missing_ok)
    else:
        user.pop(attribute.name, None)


def _remove_elements(user: dict[str, Any], target: _Target, value: Any, *, missing_ok: bool) -> None:
    attribute = target.attribute
    elements = _elements(user, attribute)
    if target.element_filter is not None:
        selected = [element for element in elements if target.element_filter.matches(element)]
        if not selected and not missing_ok:
            raise ScimNoTarget(f"No value of '{attribute.name}' matches the filter.")
    elif target.sub is not None:
        selected = elements
    else:
        # {"op": "remove", "path": "emails", "value": [{"value": "x@y.com"}]}
        given = [_checked_element(attribute, item) for item in _element_list(attribute, value)]
        gone = {_identity(element)[0] for element in given}
        selected = [element for element in elements if _identity(element)[0] in gone]
    if target.sub is not None:
        for element in selected:
            element.pop(target.sub.name, None)
        # an email without its address means nothing: it goes with it
        kept = [element for element in elements if element.get("value")]
    else:
        kept = [element for element in elements if not any(element is chosen for chosen in selected)]
    _store(user, attribute.name, kept)


def _remove_from_extension(user: dict[str, Any], target: _Target) -> None:
    existing = user.get(ENTERPRISE_SCHEMA)
    if not target.extension_path or not isinstance(existing, dict):
        user.pop(ENTERPRISE_SCHEMA, None)
        return
    extension = existing
    container: Any = extension
    for name in target.extension_path[:-1]:
        container = _get_ignoring_case(container, name)
        if not isinstance(container, dict):
            return
    _set_ignoring_case(container, target.extension_path[-1], None)
    _store(user, ENTERPRISE_SCHEMA, extension)


# --- values -----------------------------------------------------------------------------------


def _checked(attribute: _Attribute, value: Any, name: str) -> str | bool:
    """A simple value of the attribute's type; booleans may come as "True" / "false" (Entra)."""
    if attribute.kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise ScimInvalidValue(f"'{name}' must be a boolean.")
    if attribute.kind != "string":
        raise ScimInvalidValue(f"'{name}' must be an object.")
    if not isinstance(value, str):
        raise ScimInvalidValue(f"'{name}' must be a string.")
    if attribute.required and not value.strip():
        raise ScimInvalidValue(f"'{name}' must not be empty.")
    return value


def _element_list(attribute: _Attribute, value: Any) -> list[Any]:
    """The elements given for a multi-valued attribute: a list, or one object alone."""
    if isinstance(value, dict):
        return [value]
    if not isinstance(value, list):
        raise ScimInvalidValue(f"'{attribute.name}' must be a list of objects.")
    return value


def _checked_element(attribute: _Attribute, item: Any) -> dict[str, Any]:
    """One element of emails / phoneNumbers, its sub-attributes named and typed as ours."""
    if not isinstance(item, dict):
        raise ScimInvalidValue(f"'{attribute.name}' must be a list of objects.")
    element: dict[str, Any] = {}
    for key, value in item.items():
        sub = _known_sub(attribute, key)
        if value is not None:
            element[sub.name] = _checked(sub, value, f"{attribute.name}.{sub.name}")
    return element


def _known_sub(attribute: _Attribute, key: Any) -> _Attribute:
    sub = attribute.sub(key) if isinstance(key, str) else None
    if sub is None:
        raise ScimInvalidPath(f"Unknown attribute '{attribute.name}.{key if isinstance(key, str) else '?'}'.")
    return sub


def _elements(user: dict[str, Any], attribute: _Attribute) -> list[dict[str, Any]]:
    """The attribute's elements that are objects (ours always are)."""
    existing = user.get(attribute.name)
    return (
        [element for element in existing if isinstance(element, dict)] if isinstance(existing, list) else []
    )


def _store(user: dict[str, Any], name: str, value: dict[str, Any] | list[dict[str, Any]]) -> None:
    """An emptied complex or multi-valued attribute is removed rather than kept empty."""
    if value:
        user[name] = value
    else:
        user.pop(name, None)


def _same_name(key: Any, name: str) -> bool:
    return isinstance(key, str) and key.lower() == name.lower()


def _get_ignoring_case(container: dict[str, Any], name: str) -> Any:
    return next((value for key, value in container.items() if _same_name(key, name)), None)


def _set_ignoring_case(container: dict[str, Any], name: str, value: Any) -> None:
    """Set (or, for None, remove) ``name``, replacing a key spelled in another case."""
    for key in [key for key in container if _same_name(key, name)]:
        del container[key]
    if value is not None:
        container[name] = value
