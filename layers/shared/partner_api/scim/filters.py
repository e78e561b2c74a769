"""SCIM filters (RFC 7644 section 3.4.2.2): the text parsed by scim2-filter-parser, compiled into
predicates over plain dicts.

The library gives the syntax tree; what it means (which attributes exist, their types, case
rules, dateTime instants) is decided here. Two habits of the library are corrected on the way:
it gives ``and`` and ``or`` the same precedence (``a or b and c`` comes back as
``(a or b) and c``), so chains of them are regrouped; and its tree keeps a comparison value
as text (``"true"`` and ``true`` look alike), so tokens are given their JSON value before the
parser sees them.
"""

from __future__ import annotations

import json
import operator
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from partner_api.errors import ScimInvalidFilter

USER_SCHEMA: Final = "urn:ietf:params:scim:schemas:core:2.0:User"
MAX_FILTER_LENGTH: Final = 1000
# Compiling and matching recurse once per level; no directory sends filters nested this deep.
MAX_NESTING: Final = 50

USER_FILTER_ATTRIBUTES: frozenset[str] = frozenset(
    {
        "id",
        "username",
        "externalid",
        "displayname",
        "title",
        "active",
        "name.givenname",
        "name.familyname",
        "name.formatted",
        "emails.value",
        "emails.type",
        "emails.primary",
        "phonenumbers.value",
        "meta.created",
        "meta.lastmodified",
        "meta.resourcetype",
    }
)

# Attribute types by canonical path; bare names are the sub-attributes of a multi-valued
# attribute as PATCH filters its elements (``emails[primary eq true]``).
_BOOLEAN_ATTRIBUTES = frozenset({"active", "primary", "emails.primary", "phonenumbers.primary"})
_DATETIME_ATTRIBUTES = frozenset({"meta.created", "meta.lastmodified"})
_CASE_EXACT_ATTRIBUTES = frozenset({"id", "externalid"})
# A multi-valued attribute named without a sub-attribute means its ``value``: ``emails eq "x"``.
_DEFAULT_SUB_ATTRIBUTE = "value"

Kind = Literal["string", "case_exact", "boolean", "datetime"]
ComparisonValue = str | bool | datetime | None

_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_SUBSTRING_TESTS: dict[str, Callable[[str, str], bool]] = {
    "co": lambda text, part: part in text,
    "sw": str.startswith,
    "ew": str.endswith,
}
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})?", re.ASCII)


class Filter(ABC):
    """A compiled filter: immutable, so one may be shared between threads."""

    @abstractmethod
    def matches(self, resource: Mapping[str, Any]) -> bool:
        """Whether ``resource`` (a User, or one element of a multi-valued attribute) matches."""


@dataclass(frozen=True)
class Comparison(Filter):
    """``path operator value``; ``path`` is lower case, relative to the resource matched."""

    path: tuple[str, ...]
    operator: str
    value: ComparisonValue
    kind: Kind

    def matches(self, resource: Mapping[str, Any]) -> bool:
        candidates = _values_at(resource, self.path)
        if self.operator == "pr":
            return any(_is_present(candidate) for candidate in candidates)
        if self.value is None:
            present = any(_is_present(candidate) for candidate in candidates)
            return not present if self.operator == "eq" else present
        return any(self._holds_for(candidate) for candidate in candidates)

    def _holds_for(self, candidate: Any) -> bool:
        if self.kind == "boolean":
            return isinstance(candidate, bool) and _ORDERINGS[self.operator](candidate, self.value)
        if self.kind == "datetime":
            instant = _instant(candidate)
            return instant is not None and _ORDERINGS[self.operator](instant, self.value)
        if not isinstance(candidate, str) or not isinstance(self.value, str):
            return False
        text, wanted = candidate, self.value
        if self.kind == "string":
            text, wanted = text.casefold(), wanted.casefold()
        if self.operator in _SUBSTRING_TESTS:
            return _SUBSTRING_TESTS[self.operator](text, wanted)
        return _ORDERINGS[self.operator](text, wanted)


@dataclass(frozen=True)
class AllOf(Filter):
    parts: tuple[Filter, ...]

    def matches(self, resource: Mapping[str, Any]) -> bool:
        return all(part.matches(resource) for part in self.parts)


@dataclass(frozen=True)
class AnyOf(Filter):
    parts: tuple[Filter, ...]

    def matches(self, resource: Mapping[str, Any]) -> bool:
        return any(part.matches(resource) for part in self.parts)


@dataclass(frozen=True)
class Not(Filter):
    part: Filter

    def matches(self, resource: Mapping[str, Any]) -> bool:
        return not self.part.matches(resource)


@dataclass(frozen=True)
class ElementMatch(Filter):
    """``emails[...]``: some element of the multi-valued attribute at ``path`` matches."""

    path: tuple[str, ...]
    element_filter: Filter

    def matches(self, resource: Mapping[str, Any]) -> bool:
        return any(
            isinstance(element, Mapping) and self.element_filter.matches(element)
            for element in _values_at(resource, self.path)
        )


def parse(text: str, attributes: frozenset[str] = USER_FILTER_ATTRIBUTES) -> Filter:
    """The filter ``text`` compiled; ``attributes`` are the lower-case paths it may name.

    Raises ScimInvalidFilter for syntax errors, unknown attributes, unsupported operators,
    comparison values of the wrong type (``active gt "x"``) and text longer than 1000 chars."""
    if not isinstance(text, str):
        raise ScimInvalidFilter("The filter must be a string.")
    if not text.strip():
        raise ScimInvalidFilter("The filter is empty.")
    if len(text) > MAX_FILTER_LENGTH:
        raise ScimInvalidFilter(f"The filter is longer than {MAX_FILTER_LENGTH} characters.")
    return _Compiler(attributes).compile(_syntax_tree(text), depth=0, parent=None)


def equality_value(filter: Filter, attribute: str) -> str | None:
    """The one value ``attribute`` (a lower-case path: ``"username"``, ``"emails.value"``)
    must equal (ignoring case, but for id and externalId) in every resource ``filter`` matches,
    else None. For a multi-valued attribute: the value one of its elements must have.

    Lets ``userName eq "x"`` be one key lookup instead of a scan; the caller still applies the
    filter to what the lookup finds."""
    return _pinned_strings(filter).get(attribute.lower())


def equality_constraints(filter: Filter) -> dict[str, str | bool] | None:
    """For a filter made only of ``eq`` comparisons with a string or boolean joined by ``and``,
    the values it requires by lower-case path; None for any other filter.

    PATCH builds the missing element from it: ``emails[type eq "work"].value``."""
    if isinstance(filter, AllOf):
        required: dict[str, str | bool] = {}
        for part in filter.parts:
            found = equality_constraints(part)
            if found is None:
                return None
            required.update(found)
        return required
    if (
        isinstance(filter, Comparison)
        and filter.operator == "eq"
        and filter.kind != "datetime"
        and isinstance(filter.value, str | bool)
    ):
        return {".".join(filter.path): filter.value}
    return None


def _pinned_strings(filter: Filter) -> dict[str, str]:
    if isinstance(filter, Comparison):
        pins_text = filter.operator == "eq" and filter.kind in ("string", "case_exact")
        return {".".join(filter.path): filter.value} if pins_text and isinstance(filter.value, str) else {}
    if isinstance(filter, AllOf):
        pinned: dict[str, str] = {}
        for part in filter.parts:
            pinned = _pinned_strings(part) | pinned
        return pinned
    if isinstance(filter, ElementMatch):
        prefix = ".".join(filter.path)
        return {f"{prefix}.{path}": value for path, value in _pinned_strings(filter.element_filter).items()}
    return {}


# --- matching ---------------------------------------------------------------------------------


def _values_at(resource: Mapping[str, Any], path: tuple[str, ...]) -> list[Any]:
    """Every value at ``path``; a list met on the way contributes each of its elements."""
    current: list[Any] = [resource]
    for segment in path:
        following: list[Any] = []
        for node in current:
            if not isinstance(node, Mapping):
                continue
            child = _get_ignoring_case(node, segment)
            if isinstance(child, list):
                following.extend(child)
            elif child is not None:
                following.append(child)
        current = following
    return current


def _get_ignoring_case(node: Mapping[Any, Any], lower_name: str) -> Any:
    for key, value in node.items():
        if isinstance(key, str) and key.lower() == lower_name:
            return value
    return None


def _is_present(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


def _instant(value: Any) -> datetime | None:
    """An RFC 3339 dateTime as an aware instant; None for anything else (no time zone = UTC)."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        return None
    try:
        parsed = datetime.fromisoformat(value.upper())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


# --- parsing ----------------------------------------------------------------------------------


def _syntax_tree(text: str) -> Any:
    # Imported here: the library and sly cost ~45 ms of imports alone (~15 ms next to pydantic),
    # paid then only by the requests that carry a filter.
    from scim2_filter_parser.lexer import SCIMLexer
    from scim2_filter_parser.parser import SCIMParser

    # sly lexers and parsers keep their state on the instance: one of each per call, so
    # concurrent calls share nothing (both are cheap; the parse tables live on the class).
    lexer = SCIMLexer()
    tokens = _TypedTokens(lexer, text)
    try:
        return SCIMParser().parse(iter(tokens))
    except ScimInvalidFilter:
        raise
    except Exception as exc:  # ValueError from the lexer, SCIMParserError, sly's own errors
        raise ScimInvalidFilter(tokens.failure(text)) from exc


class _TypedTokens:
    """The lexer's tokens with comparison values as JSON values, remembering where it stopped."""

    def __init__(self, lexer: Any, text: str) -> None:
        self._lexer = lexer
        self._text = text
        self.last: Any = None
        self.before_last: Any = None
        self.exhausted = False
        self.lexing_failed = False

    def __iter__(self) -> Iterator[Any]:
        tokens = self._lexer.tokenize(self._text)
        while True:
            try:
                token = next(tokens)
            except StopIteration:
                self.exhausted = True
                return
            except ValueError:
                self.lexing_failed = True
                raise
            self.before_last, self.last = self.last, token
            yield _typed(token)

    def failure(self, text: str) -> str:
        """What went wrong, for the client: the position and the offending text."""
        if self.lexing_failed:
            position = int(getattr(self._lexer, "index", 0))
            character = text[position : position + 1]
            if character == '"':
                return f"Unterminated string at position {position}."
            shown = character if character.isprintable() else f"U+{ord(character or ' '):04X}"
            return f"Unexpected character '{shown}' at position {position}."
        if self.exhausted or self.last is None:
            return "The filter ends unexpectedly."
        start, end = int(self.last.index), int(self.last.end)
        spelled = text[start:end]
        if len(spelled) > 40:
            spelled = spelled[:40] + "..."
        if self.last.type == "ATTRNAME" and getattr(self.before_last, "type", None) in (
            "ATTRNAME",
            "SUBATTR",
            "RBRACKET",
        ):
            return f"Unsupported operator '{spelled}' at position {start}."
        return f"Unexpected '{spelled}' at position {start}."


def _typed(token: Any) -> Any:
    if token.type == "COMP_VALUE":
        token.value = _json_string(token.value, token.index)
    elif token.type in ("TRUE", "FALSE"):
        token.value = token.type == "TRUE"
    elif token.type == "NULL":
        token.value = None
    elif token.type == "NUMBER":
        token.value = int(token.value)
    return token


def _json_string(inner: str, position: int) -> str:
    """The quoted text with its JSON escapes (``\\u00e9``, ``\\\\``) decoded."""
    try:
        decoded = json.loads(f'"{inner}"')
    except ValueError:
        raise ScimInvalidFilter(f"Invalid string at position {position}.") from None
    return str(decoded)


class _Compiler:
    """The library's tree as our predicates, checking names and types against ``attributes``."""

    def __init__(self, attributes: frozenset[str]) -> None:
        self._attributes = attributes

    def compile(self, node: Any, depth: int, parent: str | None) -> Filter:
        """``parent`` is the multi-valued attribute whose elements a bracket filter tests."""
        if depth > MAX_NESTING:
            raise ScimInvalidFilter("The filter is nested too deeply.")
        node_type = type(node).__name__
        if node_type == "Filter":
            if node.namespace is not None:
                return self._value_path(node, depth, parent)
            inner = self.compile(node.expr, depth + 1, parent)
            return Not(inner) if node.negated else inner
        if node_type == "LogExpr":
            return self._logical(node, depth, parent)
        if node_type == "AttrExpr":
            return self._comparison(node, depth, parent)
        raise ScimInvalidFilter("Unsupported filter expression.")

    def _logical(self, node: Any, depth: int, parent: str | None) -> Filter:
        """An unbracketed chain of ``and``/``or``, regrouped with ``and`` binding tighter."""
        operands, operators = _flattened_chain(node)
        alternatives: list[list[Filter]] = [[]]
        for index, operand in enumerate(operands):
            if index and operators[index - 1] == "or":
                alternatives.append([])
            alternatives[-1].append(self.compile(operand, depth + 1, parent))
        groups = [parts[0] if len(parts) == 1 else AllOf(tuple(parts)) for parts in alternatives]
        return groups[0] if len(groups) == 1 else AnyOf(tuple(groups))

    def _value_path(self, node: Any, depth: int, parent: str | None) -> Filter:
        namespace = node.namespace
        if parent is not None:
            raise ScimInvalidFilter("Brackets cannot be nested.")
        if namespace.sub_attr is not None or not isinstance(namespace.attr_name, str):
            raise ScimInvalidFilter("A filter in brackets must follow a plain attribute name.")
        attribute = self._attribute_name(namespace.attr_name, namespace.uri)
        if not any(path.startswith(attribute + ".") for path in self._attributes):
            raise ScimInvalidFilter(f"Unknown attribute '{namespace.attr_name}'.")
        element_filter = self.compile(node.expr, depth + 1, attribute)
        return ElementMatch((attribute,), element_filter)

    def _comparison(self, node: Any, depth: int, parent: str | None) -> Filter:
        attr_path = node.attr_path
        if type(attr_path.attr_name).__name__ == "Filter":
            return self._element_comparison(node, depth, parent)
        spelled = attr_path.attr_name + (f".{attr_path.sub_attr.value}" if attr_path.sub_attr else "")
        name = self._attribute_name(attr_path.attr_name, attr_path.uri)
        relative: tuple[str, ...]
        if parent is not None:
            if attr_path.sub_attr is not None or attr_path.uri is not None:
                raise ScimInvalidFilter(f"Unknown attribute '{spelled}' in brackets.")
            canonical, relative = f"{parent}.{name}", (name,)
        else:
            canonical = name if attr_path.sub_attr is None else f"{name}.{attr_path.sub_attr.value.lower()}"
            with_default = f"{canonical}.{_DEFAULT_SUB_ATTRIBUTE}"
            if canonical not in self._attributes and with_default in self._attributes:
                canonical = with_default
            relative = tuple(canonical.split("."))
        if canonical not in self._attributes:
            raise ScimInvalidFilter(f"Unknown attribute '{spelled}'.")
        return _typed_comparison(relative, canonical, spelled, str(node.value).lower(), node.comp_value)

    def _element_comparison(self, node: Any, depth: int, parent: str | None) -> Filter:
        """``emails[type eq "work"].value eq "x"`` (as Entra writes it): some element matches the
        bracket filter and has that sub-attribute compare true."""
        value_path = node.attr_path.attr_name
        namespace = value_path.namespace
        if parent is not None or node.attr_path.uri is not None or node.attr_path.sub_attr is not None:
            raise ScimInvalidFilter("Unsupported attribute path.")
        if not isinstance(namespace.attr_name, str):
            raise ScimInvalidFilter("Brackets cannot be nested.")
        attribute = self._attribute_name(namespace.attr_name, namespace.uri)
        sub = namespace.sub_attr.value if namespace.sub_attr is not None else _DEFAULT_SUB_ATTRIBUTE
        canonical = f"{attribute}.{sub.lower()}"
        if canonical not in self._attributes:
            raise ScimInvalidFilter(f"Unknown attribute '{namespace.attr_name}.{sub}'.")
        element_filter = self.compile(value_path.expr, depth + 1, attribute)
        compared = _typed_comparison((sub.lower(),), canonical, sub, str(node.value).lower(), node.comp_value)
        return ElementMatch((attribute,), AllOf((element_filter, compared)))

    def _attribute_name(self, name: Any, uri: Any) -> str:
        if not isinstance(name, str):
            raise ScimInvalidFilter("Unsupported attribute path.")
        if uri is not None and str(uri).lower() != USER_SCHEMA.lower():
            raise ScimInvalidFilter(f"Unsupported schema '{uri}'.")
        return name.lower()


def _flattened_chain(node: Any) -> tuple[list[Any], list[str]]:
    """The operands and operators of ``a or b and c ...`` in order, through the unbracketed
    ``and``/``or`` nodes (iterative: a long chain must not cost a stack frame per link)."""
    operands: list[Any] = []
    operators: list[str] = []
    pending: list[Any] = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            operators.append(item)
        elif type(item).__name__ == "LogExpr":
            pending.extend((item.expr2, str(item.op).lower(), item.expr1))
        elif _is_bare_chain(item):
            pending.append(item.expr)
        else:
            operands.append(item)
    return operands, operators


def _is_bare_chain(node: Any) -> bool:
    """A chain without brackets around it: the library wraps those as ``Filter(LogExpr)``, and
    a parenthesised one as ``Filter(Filter(LogExpr))``."""
    return (
        type(node).__name__ == "Filter"
        and node.namespace is None
        and not node.negated
        and type(node.expr).__name__ == "LogExpr"
    )


def _typed_comparison(
    path: tuple[str, ...], canonical: str, spelled: str, operator_name: str, comp_value: Any
) -> Comparison:
    """The comparison, its value checked against the attribute's type."""
    kind = _kind_of(canonical)
    if operator_name == "pr":
        return Comparison(path, "pr", None, kind)
    value = comp_value.value
    if value is None:
        if operator_name not in ("eq", "ne"):
            raise ScimInvalidFilter(f"'{operator_name}' cannot compare with null.")
        return Comparison(path, operator_name, None, kind)
    if kind == "boolean":
        if operator_name not in ("eq", "ne"):
            raise ScimInvalidFilter(f"'{operator_name}' cannot be used on the boolean attribute '{spelled}'.")
        if not isinstance(value, bool):
            raise ScimInvalidFilter(f"'{spelled}' compares only with true or false.")
        return Comparison(path, operator_name, value, kind)
    if not isinstance(value, str):
        raise ScimInvalidFilter(f"'{spelled}' compares only with a string.")
    if kind == "datetime":
        if operator_name in _SUBSTRING_TESTS:
            # co/sw/ew test the text as stored: ``meta.created sw "2026-11"``
            return Comparison(path, operator_name, value, "string")
        instant = _instant(value)
        if instant is None:
            raise ScimInvalidFilter(f"'{spelled}' compares only with a dateTime (2026-11-30T10:00:00Z).")
        return Comparison(path, operator_name, instant, kind)
    return Comparison(path, operator_name, value, kind)


def _kind_of(canonical: str) -> Kind:
    if canonical in _BOOLEAN_ATTRIBUTES:
        return "boolean"
    if canonical in _DATETIME_ATTRIBUTES:
        return "datetime"
    if canonical in _CASE_EXACT_ATTRIBUTES:
        return "case_exact"
    return "string"
