"""SCIM filters (RFC 7644 section 3.4.2.2): parsed by scim2-filter-parser, compiled, matched."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from partner_api.errors import ScimInvalidFilter
from partner_api.scim import filters

URN = "urn:ietf:params:scim:schemas:core:2.0:User"
ELEMENT_ATTRIBUTES = frozenset({"value", "type", "primary", "display"})

ADA: dict[str, Any] = {
    "schemas": [URN],
    "id": "6f1c2a9e-uuid",
    "externalId": "00u1abc",
    "userName": "Ada.Lovelace@example.com",
    "name": {"givenName": "Ada", "familyName": "Lovelace", "formatted": "Ada Lovelace"},
    "displayName": "Ada Lovelace",
    "title": "Engineer",
    "emails": [
        {"value": "ada.lovelace@example.com", "type": "work", "primary": True},
        {"value": "ada@home.org", "type": "home", "primary": False},
    ],
    "phoneNumbers": [{"value": "+1 555 0100", "type": "work", "primary": True}],
    "active": True,
    "meta": {
        "resourceType": "User",
        "created": "2026-11-30T10:00:00.000Z",
        "lastModified": "2026-11-30T10:05:00.000Z",
        "location": "https://api.example.com/scim/v2/Users/6f1c2a9e-uuid",
        "version": '"abc123"',
    },
}

# No title, no phone, no externalId, inactive.
GRACE: dict[str, Any] = {
    "schemas": [URN],
    "id": "9b0d-uuid",
    "userName": "grace@example.com",
    "displayName": "Grace Hopper",
    "emails": [{"value": "grace@example.com", "type": "work", "primary": True}],
    "active": False,
    "meta": {
        "resourceType": "User",
        "created": "2026-12-01T08:00:00Z",
        "lastModified": "2026-12-01T08:00:00Z",
    },
}


def matches(text: str, resource: dict[str, Any] = ADA) -> bool:
    return filters.parse(text).matches(resource)


def rejected(text: str, attributes: frozenset[str] = filters.USER_FILTER_ATTRIBUTES) -> ScimInvalidFilter:
    with pytest.raises(ScimInvalidFilter) as caught:
        filters.parse(text, attributes)
    return caught.value


# --- attribute operators ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "ada.lovelace@EXAMPLE.com"', True),
        ('userName eq "ada"', False),
        ('title ne "Manager"', True),
        ('title ne "ENGINEER"', False),
        ('displayName co "love"', True),
        ('displayName co "hopper"', False),
        ('userName sw "ADA."', True),
        ('userName sw "lovelace"', False),
        ('userName ew "@Example.COM"', True),
        ('userName ew "@example.org"', False),
        ('userName sw "Ada.Lovelace@example.com"', True),  # sw and ew hold for the whole value
        ("title pr", True),
        ("externalId pr", True),
        ('userName gt "a"', True),
        ('userName gt "b"', False),
        ('title ge "ENGINEER"', True),
        ('title ge "f"', False),
        ('title lt "F"', True),
        ('title lt "engineer"', False),
        ('title le "engineer"', True),
        ('title le "d"', False),
    ],
)
def test_each_attribute_operator(text: str, expected: bool) -> None:
    assert matches(text) is expected


@pytest.mark.parametrize(
    "text",
    [
        'title eq "x"',
        'title ne "x"',
        'title co ""',
        'title gt "a"',
        'title lt "z"',
        "title pr",
        "phoneNumbers pr",
    ],
)
def test_a_missing_attribute_never_matches(text: str) -> None:
    assert matches(text, GRACE) is False


@pytest.mark.parametrize(
    ("text", "ada", "grace"),
    [
        ("not (title pr)", False, True),
        ('not (title eq "x")', True, True),
        ("title eq null", False, True),
        ("title ne null", True, False),
        ("externalId eq null", False, True),
    ],
)
def test_not_and_null_see_missing_attributes(text: str, ada: bool, grace: bool) -> None:
    assert (matches(text, ADA), matches(text, GRACE)) == (ada, grace)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('title pr and userName sw "ada"', True),
        ('title pr and userName sw "grace"', False),
        ('title eq "x" or userName sw "ada"', True),
        ('title eq "x" or userName sw "grace"', False),
        ('not (userName sw "grace")', True),
        ('not (userName sw "ada")', False),
        ("not (not (title pr))", True),
        # "and" binds tighter than "or" (the library alone reads this as (T or F) and F)
        ('userName pr or title eq "x" and active eq false', True),
        ('(userName pr or title eq "x") and active eq false', False),
        ('title eq "x" and active eq true or displayName co "ada"', True),
        ('title eq "x" and (active eq true or displayName co "ada")', False),
        ('active eq false or title eq "x" or userName ew ".com"', True),
        ('userName pr and (title eq "x" or (displayName sw "ada" and not (active eq false)))', True),
    ],
)
def test_logical_operators_and_grouping(text: str, expected: bool) -> None:
    assert matches(text) is expected


def test_a_long_chain_is_one_level_not_one_per_link() -> None:
    chain = " or ".join(['title eq "x"'] * 60) + " or userName pr"

    assert len(chain) < filters.MAX_FILTER_LENGTH
    assert matches(chain) is True


# --- multi-valued attributes and value paths ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('emails[type eq "work" and value co "@example.com"]', True),
        ('emails[type eq "home" and value ew "home.org"]', True),
        ('emails[type eq "other"]', False),
        ('emails[type eq "work" and primary eq false]', False),
        ('emails[not (type eq "work")]', True),
        # the bracket filter holds for one element, not for parts of two
        ('emails[type eq "work" and value ew "home.org"]', False),
        ('emails.type eq "work" and emails.value ew "home.org"', True),
        ('emails.value eq "ADA@home.org"', True),
        ('emails eq "ada@home.org"', True),
        ("emails pr", True),
        ('emails[type eq "work"].value eq "ADA.LOVELACE@example.com"', True),
        ('emails[type eq "home"].value eq "ada.lovelace@example.com"', False),
        ("emails.primary eq true", True),
        ('phoneNumbers.value co "555"', True),
        ('phoneNumbers eq "+1 555 0100"', True),
    ],
)
def test_multi_valued_attributes_and_value_paths(text: str, expected: bool) -> None:
    assert matches(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f'{URN}:userName eq "ada.lovelace@example.com"', True),
        (f'{URN.upper()}:userName eq "ada.lovelace@example.com"', True),
        (f'{URN}:name.givenName eq "ADA"', True),
        (f'{URN}:emails[type eq "work"]', True),
        (f"{URN}:meta.created pr", True),
        (f'{URN}:userName eq "grace@example.com"', False),
    ],
)
def test_attributes_may_carry_the_user_schema_urn(text: str, expected: bool) -> None:
    assert matches(text) is expected


# --- case rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        'USERNAME EQ "ada.lovelace@example.com"',
        'username Eq "ADA.LOVELACE@EXAMPLE.COM"',
        'Name.GivenName eq "ada"',
        'EMAILS[TYPE eq "WORK"]',
        'title pr AND NOT (userName sw "x") Or title eq "x"',
        'displayName co "LACE"',
        'name.familyName eq "lovelace"',
        'meta.resourceType eq "user"',
    ],
)
def test_names_operators_and_most_values_ignore_case(text: str) -> None:
    assert matches(text) is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('id eq "6f1c2a9e-uuid"', True),
        ('id eq "6F1C2A9E-UUID"', False),
        ('id sw "6F1C"', False),
        ('externalId eq "00u1abc"', True),
        ('externalId eq "00U1ABC"', False),
        ('externalId co "U1"', False),
    ],
)
def test_id_and_external_id_are_case_exact(text: str, expected: bool) -> None:
    assert matches(text) is expected


def test_resource_keys_are_found_in_any_case() -> None:
    assert filters.parse('userName eq "x"').matches({"USERNAME": "X"}) is True


def test_string_values_decode_json_escapes() -> None:
    assert matches('userName eq "ada\\u002elovelace@example.com"') is True
    assert matches('displayName eq "Ada\\u0020Lovelace"') is True


# --- booleans and dateTimes ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ada", "grace"),
    [
        ("active eq true", True, False),
        ("active eq false", False, True),
        ("active ne true", False, True),
        ("active pr", True, True),  # false is a value
    ],
)
def test_booleans_compare_with_true_and_false(text: str, ada: bool, grace: bool) -> None:
    assert (matches(text, ADA), matches(text, GRACE)) == (ada, grace)


def test_a_boolean_attribute_never_equals_a_string() -> None:
    assert filters.parse("active eq true").matches({"active": "true"}) is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('meta.created eq "2026-11-30T10:00:00Z"', True),  # stored as ...00.000Z: the same instant
        ('meta.created eq "2026-11-30T11:00:00+01:00"', True),
        ('meta.created eq "2026-11-30T10:00:00.001Z"', False),
        ('meta.created ne "2026-11-30T10:00:00Z"', False),
        ('meta.lastModified gt "2026-11-30T10:00:00Z"', True),
        ('meta.lastModified gt "2026-11-30T10:05:00.000000Z"', False),
        ('meta.lastModified ge "2026-11-30T10:05:00Z"', True),
        ('meta.created lt "2026-11-30T10:00:00.5Z"', True),
        ('meta.created lt "2026-11-30T09:59:59Z"', False),
        ('meta.created le "2026-11-30T05:00:00-05:00"', True),
        ('meta.created gt "2026-11-30T11:00:00+02:00"', True),
        ('meta.created sw "2026-11"', True),  # co/sw/ew read the text as stored
        ('meta.created gt "2026-11-30t09:00:00z"', True),
    ],
)
def test_date_times_compare_as_instants(text: str, expected: bool) -> None:
    assert matches(text) is expected


def test_a_stored_date_time_that_is_not_one_matches_nothing() -> None:
    condition = filters.parse('meta.created gt "2000-01-01T00:00:00Z"')

    assert condition.matches({"meta": {"created": "yesterday"}}) is False
    assert condition.matches({"meta": {"created": 5}}) is False


# --- other attribute sets (PATCH's element filters) -------------------------------------------


@pytest.mark.parametrize(
    ("text", "element", "expected"),
    [
        ('type eq "work"', {"value": "a@x.com", "type": "Work"}, True),
        ('type eq "work" and primary eq true', {"type": "work", "primary": True}, True),
        ("primary eq true", {"type": "work", "primary": False}, False),
        ('value eq "A@X.com"', {"value": "a@x.com"}, True),
        ('display co "ada"', {"display": "Ada L"}, True),
        ("display pr", {"value": "a@x.com"}, False),
    ],
)
def test_another_attribute_set_filters_any_dict(text: str, element: dict[str, Any], expected: bool) -> None:
    assert filters.parse(text, ELEMENT_ATTRIBUTES).matches(element) is expected


@pytest.mark.parametrize(
    "text", ['userName eq "x"', 'emails.value eq "x"', 'primary eq "true"', "type gt true"]
)
def test_another_attribute_set_refuses_other_names_and_types(text: str) -> None:
    rejected(text, ELEMENT_ATTRIBUTES)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('type eq "work"', {"type": "work"}),
        ('type eq "work" and primary eq true', {"type": "work", "primary": True}),
        ('value eq "a@x.com" and (type eq "home")', {"value": "a@x.com", "type": "home"}),
        ('type eq "work" or type eq "home"', None),
        ('type ne "work"', None),
        ('type eq "work" and not (primary eq true)', None),
        ("type eq null", None),
    ],
)
def test_equality_constraints(text: str, expected: dict[str, Any] | None) -> None:
    assert filters.equality_constraints(filters.parse(text, ELEMENT_ATTRIBUTES)) == expected


@pytest.mark.parametrize(
    "resource",
    [
        {},
        {"emails": "not a list"},
        {"emails": [1, None, "x", ["nested"]]},
        {"name": "not an object"},
        {"meta": None},
        {1: "x", None: "y"},
        {"userName": ["a", "b"]},
        {"active": "yes"},
    ],
)
def test_matching_odd_shapes_is_false_not_an_error(resource: dict[Any, Any]) -> None:
    for text in [
        'emails[type eq "work"]',
        'userName eq "a"',
        "name.givenName pr",
        "active eq true",
        'meta.created gt "2026-01-01T00:00:00Z"',
        'emails.value co "x"',
    ]:
        assert filters.parse(text).matches(resource) in (True, False)
    assert filters.parse('userName eq "a"').matches({"userName": ["a", "b"]}) is True


# --- equality_value ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "attribute", "expected"),
    [
        ('userName eq "Ada@Example.com"', "username", "Ada@Example.com"),
        ('USERNAME eq "x"', "username", "x"),
        ('userName eq "x"', "userName", "x"),
        (f'{URN}:userName eq "x"', "username", "x"),
        ('userName eq "x" and active eq true', "username", "x"),
        ('active eq true and (userName eq "x")', "username", "x"),
        ('title pr and userName eq "x" and displayName co "a"', "username", "x"),
        ('emails[value eq "x@y.com"]', "emails.value", "x@y.com"),
        ('emails[type eq "work" and value eq "x@y.com"]', "emails.value", "x@y.com"),
        ('emails.value eq "x@y.com"', "emails.value", "x@y.com"),
        ('emails eq "x@y.com"', "emails.value", "x@y.com"),
        ('emails[type eq "work"].value eq "x@y.com"', "emails.value", "x@y.com"),
        ('externalId eq "00u1ABC"', "externalid", "00u1ABC"),
    ],
)
def test_equality_value_names_the_one_value(text: str, attribute: str, expected: str) -> None:
    assert filters.equality_value(filters.parse(text), attribute) == expected


@pytest.mark.parametrize(
    ("text", "attribute"),
    [
        ('userName eq "x" or userName eq "y"', "username"),
        ('userName eq "x" or active eq true', "username"),
        ('not (userName eq "x")', "username"),
        ('userName co "x"', "username"),
        ('userName sw "x"', "username"),
        ('userName ne "x"', "username"),
        ('userName gt "x"', "username"),
        ("userName pr", "username"),
        ("userName eq null", "username"),
        ('title eq "x"', "username"),
        ('userName eq "x"', "emails.value"),
        ('emails[value co "x"]', "emails.value"),
        ('emails[type eq "work"]', "emails.value"),
        ('emails[not (value eq "x")]', "emails.value"),
        ('emails[type eq "work"]', "type"),
        ("active eq true", "active"),
        ('meta.created eq "2026-11-30T10:00:00Z"', "meta.created"),
    ],
)
def test_equality_value_is_none_when_no_single_value_is_implied(text: str, attribute: str) -> None:
    assert filters.equality_value(filters.parse(text), attribute) is None


# --- invalid filters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ('userName eq "abc', "Unterminated string"),
        ("userName eq", "ends unexpectedly"),
        ('userName "x"', '"x"'),
        ('userName regex "x"', "regex"),
        ('userName eq "x" and', "ends unexpectedly"),
        ('(userName eq "x"', "ends unexpectedly"),
        ('userName eq "x")', ")"),
        ("and", "and"),
        ('foo eq "x"', "foo"),
        ('name eq "x"', "name"),
        ('name.nickName eq "x"', "name.nickName"),
        ('emails[foo eq "x"]', "foo"),
        ('emails[type eq "work"', "ends unexpectedly"),
        ('title[value eq "x"]', "title"),
        ('emails[type eq "w"][value eq "x"]', "brackets"),
        ('emails[emails[type eq "x"]]', "nested"),
        ('emails[type.value eq "x"]', "type.value"),
        ('urn:example:params:Custom:userName eq "x"', "urn:example:params:Custom"),
        ("active gt true", "gt"),
        ("active lt false", "active"),
        ("active ge true", "active"),
        ("active le false", "active"),
        ('active eq "true"', "active"),
        ("userName eq true", "userName"),
        ("userName eq 1", "userName"),
        ("userName eq null and title gt null", "null"),
        ('meta.created gt "yesterday"', "meta.created"),
        ('meta.created eq "2026-11-30"', "meta.created"),
        ("meta.created eq true", "meta.created"),
        ('userName eq "a\\qb"', "Invalid string"),
        ('userName eq "x"\n', "U+000A"),
        ('userName eq "x" & title pr', "&"),
        ('userName eq "x" or title eq "\u00e9" ;', ";"),
    ],
)
def test_invalid_filters_are_refused_with_a_safe_message(text: str, named: str) -> None:
    error = rejected(text)

    assert error.scim_type == "invalidFilter"
    assert named.lower() in error.message.lower()
    assert "Token(" not in error.message and "Traceback" not in error.message


def test_a_filter_longer_than_the_limit_is_refused() -> None:
    text = 'userName eq "' + "x" * 1990 + '"'

    assert "longer than" in rejected(text).message
    assert matches('userName eq "' + "x" * 900 + '"') is False  # long but within the limit


@pytest.mark.parametrize(
    "text",
    [
        "(" * 450 + "title pr" + ")" * 450,
        "not (" * 150 + "title pr" + ")" * 150,
        "emails[" + "(" * 400 + 'type eq "work"' + ")" * 400 + "]",
        "(" * 60 + "title pr" + ")" * 60,
    ],
)
def test_deep_nesting_is_refused_not_a_recursion_error(text: str) -> None:
    assert len(text) <= filters.MAX_FILTER_LENGTH
    assert "nested too deeply" in rejected(text).message


def test_five_hundred_levels_are_refused() -> None:
    assert rejected("(" * 500 + "title pr" + ")" * 500).scim_type == "invalidFilter"


def test_moderate_nesting_is_fine() -> None:
    assert matches("(" * 20 + "title pr" + ")" * 20) is True
    assert matches("not (" * 11 + "title pr" + ")" * 11) is False


def test_random_input_raises_only_invalid_filter() -> None:
    """A fuzzer's view: token soup and random characters either compile or are refused."""
    pieces = [
        "userName",
        "emails",
        "active",
        "meta.created",
        "name.givenName",
        f"{URN}:",
        "urn:x:y:",
        ".",
        "value",
        "eq",
        "ne",
        "co",
        "sw",
        "ew",
        "pr",
        "gt",
        "ge",
        "lt",
        "le",
        "and",
        "or",
        "not",
        "(",
        ")",
        "[",
        "]",
        '"x"',
        '"2026-11-30T10:00:00Z"',
        "true",
        "false",
        "null",
        "1",
        '"',
        "\\",
        "$",
        "\u00e9",
        "\x00",
        " ",
    ]
    generator = random.Random(7643)
    for _ in range(3000):
        if generator.random() < 0.8:
            text = " ".join(generator.choice(pieces) for _ in range(generator.randint(1, 12)))
        else:
            text = "".join(chr(generator.randint(0, 0x2FF)) for _ in range(generator.randint(0, 40)))
        try:
            compiled = filters.parse(text)
        except ScimInvalidFilter:
            continue
        assert compiled.matches(ADA) in (True, False)
        assert compiled.matches(GRACE) in (True, False)


# --- concurrency and import cost ----------------------------------------------------------------


@pytest.fixture
def frequent_thread_switches() -> Iterator[None]:
    """Threads switch every few microseconds, so a parser shared between them shows its races."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


@pytest.mark.usefixtures("frequent_thread_switches")
def test_parsing_from_eight_threads_at_once_gives_the_right_filters() -> None:
    cases = [
        ('userName eq "ada.lovelace@example.com"', True),
        ('userName eq "grace@example.com"', False),
        ('emails[type eq "home" and value ew "home.org"] and active eq true', True),
        ('title eq "x" or not (displayName co "ada")', False),
        ('meta.created lt "2026-11-30T10:00:01Z" and (name.givenName sw "a" or title pr)', True),
        ('userName pr or title eq "x" and active eq false', True),
    ]
    start = threading.Barrier(8)

    def parse_all(shift: int) -> list[bool]:
        # each thread the same texts in another order: the same and different filters at once
        mine = (cases[shift % len(cases) :] + cases[: shift % len(cases)]) * 40
        start.wait()
        return [filters.parse(text).matches(ADA) is expected for text, expected in mine]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = [ok for outcome in pool.map(parse_all, range(8)) for ok in outcome]

    assert len(results) == 8 * 40 * len(cases)
    assert all(results)


def test_importing_filters_does_not_import_the_parser() -> None:
    layer = Path(__file__).resolve().parents[2] / "layers" / "shared"
    script = (
        "import sys, partner_api.scim.filters as f\n"
        "assert 'scim2_filter_parser.parser' not in sys.modules, 'imported at module import'\n"
        "f.parse('userName pr')\n"
        "assert 'scim2_filter_parser.parser' in sys.modules\n"
    )
    env = {**os.environ, "PYTHONPATH": str(layer)}

    completed = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)

    assert completed.returncode == 0, completed.stderr
