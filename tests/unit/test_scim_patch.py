"""SCIM PATCH (RFC 7644 section 3.5.2): operations applied to a User dict, in the RFC's forms and
in the forms Okta and Entra send."""

from __future__ import annotations

import contextlib
import copy
import random
from typing import Any

import pytest

from partner_api.errors import (
    ScimInvalidPath,
    ScimInvalidSyntax,
    ScimInvalidValue,
    ScimMutability,
    ScimNoTarget,
    ScimProtocolError,
)
from partner_api.scim import patch

URN = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
USER_ID = "6f1c2a9e-0000-4000-8000-000000000001"


def ada() -> dict[str, Any]:
    return {
        "schemas": [URN],
        "id": USER_ID,
        "externalId": "00u1abc",
        "userName": "Ada.Lovelace@example.com",
        "name": {"givenName": "Ada", "familyName": "Lovelace", "formatted": "Ada Lovelace"},
        "displayName": "Ada Lovelace",
        "title": "Engineer",
        "emails": [{"value": "ada.lovelace@example.com", "type": "work", "primary": True}],
        "phoneNumbers": [{"value": "+1 555 0100", "type": "work", "primary": True}],
        "active": True,
        "meta": {
            "resourceType": "User",
            "created": "2026-11-30T10:00:00.000Z",
            "lastModified": "2026-11-30T10:05:00.000Z",
            "location": f"https://api.example.com/scim/v2/Users/{USER_ID}",
            "version": '"abc123"',
        },
    }


def without(user: dict[str, Any], *names: str) -> dict[str, Any]:
    return {key: value for key, value in user.items() if key not in names}


def patched(*operations: dict[str, Any], user: dict[str, Any] | None = None) -> dict[str, Any]:
    return patch.apply(ada() if user is None else user, list(operations))


def changes(after: dict[str, Any], before: dict[str, Any] | None = None) -> dict[str, Any]:
    """The top-level attributes that differ from ``before`` (Ada): {name: new value or None}."""
    before = ada() if before is None else before
    return {key: after.get(key) for key in before.keys() | after.keys() if before.get(key) != after.get(key)}


# --- simple attributes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        ({"op": "replace", "path": "title", "value": "CTO"}, {"title": "CTO"}),
        ({"op": "add", "path": "title", "value": "CTO"}, {"title": "CTO"}),
        ({"op": "replace", "path": "displayName", "value": "A. L."}, {"displayName": "A. L."}),
        ({"op": "replace", "path": "userName", "value": "ada@new.example"}, {"userName": "ada@new.example"}),
        ({"op": "replace", "path": "externalId", "value": "00u9XYZ"}, {"externalId": "00u9XYZ"}),
        ({"op": "add", "path": "nickName", "value": "Countess"}, {"nickName": "Countess"}),
        ({"op": "replace", "path": "active", "value": False}, {"active": False}),
        ({"op": "replace", "path": "TITLE", "value": "CTO"}, {"title": "CTO"}),
        ({"op": "replace", "path": f"{URN}:title", "value": "CTO"}, {"title": "CTO"}),
        ({"op": "replace", "path": f"{URN.upper()}:userName", "value": "u@x.com"}, {"userName": "u@x.com"}),
        ({"op": "replace", "path": "  title  ", "value": "CTO"}, {"title": "CTO"}),
        ({"op": "replace", "path": "title", "value": None}, {"title": None}),
        ({"op": "remove", "path": "title"}, {"title": None}),
        ({"op": "remove", "path": "externalId"}, {"externalId": None}),
        ({"op": "remove", "path": "nickName"}, {}),  # absent already: nothing to do
    ],
)
def test_simple_attributes(operation: dict[str, Any], expected: dict[str, Any]) -> None:
    assert changes(patched(operation)) == expected


@pytest.mark.parametrize("op", ["add", "Add", "ADD", "replace", "Replace", "rEpLaCe"])
def test_op_ignores_case(op: str) -> None:
    assert patched({"op": op, "path": "title", "value": "CTO"})["title"] == "CTO"


@pytest.mark.parametrize("op", ["remove", "Remove", "REMOVE"])
def test_remove_op_ignores_case(op: str) -> None:
    assert "title" not in patched({"op": op, "path": "title"})


def test_operation_member_names_ignore_case() -> None:
    assert patched({"Op": "Replace", "Path": "title", "Value": "CTO"})["title"] == "CTO"


def test_operations_apply_in_order() -> None:
    user = patched(
        {"op": "replace", "path": "title", "value": "CTO"},
        {"op": "remove", "path": "title"},
        {"op": "add", "path": "title", "value": "CEO"},
        {"op": "replace", "path": "displayName", "value": "Ada"},
    )

    assert changes(user) == {"title": "CEO", "displayName": "Ada"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("False", False), ("false", False), ("FALSE", False), ("True", True), ("true", True), (" true ", True)],
)
def test_booleans_sent_as_strings_become_booleans(value: str, expected: bool) -> None:
    user = patched(
        {"op": "Replace", "path": "active", "value": value}, user={**ada(), "active": not expected}
    )

    assert user["active"] is expected


def test_primary_sent_as_a_string_becomes_a_boolean() -> None:
    user = patched({"op": "add", "path": "emails", "value": [{"value": "b@x.com", "primary": "True"}]})

    assert user["emails"][-1] == {"value": "b@x.com", "primary": True}


# --- complex attributes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "name"),
    [
        (
            {"op": "Add", "path": "name.givenName", "value": "A"},
            {"givenName": "A", "familyName": "Lovelace", "formatted": "Ada Lovelace"},
        ),
        (
            {"op": "replace", "path": f"{URN}:name.givenName", "value": "A"},
            {"givenName": "A", "familyName": "Lovelace", "formatted": "Ada Lovelace"},
        ),
        (
            {"op": "replace", "path": "NAME.GIVENNAME", "value": "A"},
            {"givenName": "A", "familyName": "Lovelace", "formatted": "Ada Lovelace"},
        ),
        (
            {"op": "replace", "path": "name", "value": {"givenName": "A", "middleName": "K"}},
            {"givenName": "A", "familyName": "Lovelace", "formatted": "Ada Lovelace", "middleName": "K"},
        ),
        (
            {"op": "add", "path": "name", "value": {"honorificPrefix": "Countess", "FamilyName": "King"}},
            {
                "givenName": "Ada",
                "familyName": "King",
                "formatted": "Ada Lovelace",
                "honorificPrefix": "Countess",
            },
        ),
        (
            {"op": "replace", "path": "name", "value": {"formatted": None}},
            {"givenName": "Ada", "familyName": "Lovelace"},
        ),
        ({"op": "remove", "path": "name.formatted"}, {"givenName": "Ada", "familyName": "Lovelace"}),
        (
            {"op": "replace", "path": "name.familyName", "value": None},
            {"givenName": "Ada", "formatted": "Ada Lovelace"},
        ),
        ({"op": "remove", "path": "name"}, None),
    ],
)
def test_complex_attributes(operation: dict[str, Any], name: dict[str, Any] | None) -> None:
    user = patched(operation)

    assert user.get("name") == name
    assert without(user, "name") == without(ada(), "name")


def test_sub_attributes_of_a_user_without_name() -> None:
    user = patched({"op": "Add", "path": "name.givenName", "value": "A"}, user=without(ada(), "name"))

    assert user["name"] == {"givenName": "A"}


def test_removing_the_last_sub_attribute_removes_the_attribute() -> None:
    user = patched({"op": "remove", "path": "name.givenName"}, user={**ada(), "name": {"givenName": "Ada"}})

    assert "name" not in user


# --- operations without a path -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        # Okta
        ({"op": "replace", "value": {"active": False}}, {"active": False}),
        (
            {"op": "replace", "value": {"name": {"givenName": "A"}}},
            {"name": {"givenName": "A", "familyName": "Lovelace", "formatted": "Ada Lovelace"}},
        ),
        # Entra
        (
            {"op": "Replace", "value": {"name.givenName": "A", "name.familyName": "B"}},
            {"name": {"givenName": "A", "familyName": "B", "formatted": "Ada Lovelace"}},
        ),
        (
            {"op": "Replace", "value": {"active": "False", "displayName": "A"}},
            {"active": False, "displayName": "A"},
        ),
        # any case, URN-prefixed, and the attributes under their schema URN
        (
            {"op": "add", "value": {"Title": "CTO", "NICKNAME": "Countess"}},
            {"title": "CTO", "nickName": "Countess"},
        ),
        ({"op": "replace", "value": {f"{URN}:title": "CTO"}}, {"title": "CTO"}),
        (
            {"op": "replace", "value": {URN: {"title": "CTO", "userName": "u@x.com"}}},
            {"title": "CTO", "userName": "u@x.com"},
        ),
        ({"op": "replace", "value": {"title": None}}, {"title": None}),
        (
            {"op": "replace", "value": {"emails": [{"value": "new@x.com", "type": "work", "primary": True}]}},
            {"emails": [{"value": "new@x.com", "type": "work", "primary": True}]},
        ),
        # a client echoing the current id changes nothing
        ({"op": "replace", "value": {"id": USER_ID, "title": "CTO"}}, {"title": "CTO"}),
        ({"op": "replace", "value": {"schemas": [URN], "title": "CTO"}}, {"title": "CTO"}),
        ({"op": "replace", "value": {}}, {}),
    ],
)
def test_operations_without_a_path(operation: dict[str, Any], expected: dict[str, Any]) -> None:
    assert changes(patched(operation)) == expected


# --- multi-valued attributes -------------------------------------------------------------------


WORK = {"value": "ada.lovelace@example.com", "type": "work", "primary": True}


@pytest.mark.parametrize(
    ("operation", "emails"),
    [
        # Okta adds a list
        (
            {"op": "add", "path": "emails", "value": [{"value": "x@y.com", "type": "work"}]},
            [WORK, {"value": "x@y.com", "type": "work"}],
        ),
        ({"op": "add", "path": "emails", "value": {"value": "x@y.com"}}, [WORK, {"value": "x@y.com"}]),
        # the same value and type again updates the element, it is not repeated
        (
            {"op": "add", "path": "emails", "value": [{"value": "ADA.LOVELACE@example.com", "type": "work"}]},
            [{**WORK, "value": "ADA.LOVELACE@example.com"}],
        ),
        (
            {
                "op": "add",
                "path": "emails",
                "value": [{"value": "x@y.com", "type": "home"}, {"value": "x@y.com", "type": "home"}],
            },
            [WORK, {"value": "x@y.com", "type": "home"}],
        ),
        (
            {
                "op": "add",
                "path": "emails",
                "value": [{"value": "ada.lovelace@example.com", "type": "work", "display": "Ada"}],
            },
            [{**WORK, "display": "Ada"}],
        ),
        # replace with a list replaces the list
        (
            {"op": "replace", "path": "emails", "value": [{"value": "x@y.com", "type": "home"}]},
            [{"value": "x@y.com", "type": "home"}],
        ),
        ({"op": "replace", "path": "emails", "value": []}, None),
        # Entra: the work email's address
        (
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": "new@x.com"},
            [{"value": "new@x.com", "type": "work", "primary": True}],
        ),
        (
            {"op": "Add", "path": 'emails[type eq "work"].value', "value": "new@x.com"},
            [{"value": "new@x.com", "type": "work", "primary": True}],
        ),
        (
            {"op": "replace", "path": "emails[primary eq true].value", "value": "new@x.com"},
            [{"value": "new@x.com", "type": "work", "primary": True}],
        ),
        (
            {"op": "replace", "path": 'emails[TYPE eq "WORK"].Display', "value": "Ada"},
            [{**WORK, "display": "Ada"}],
        ),
        (
            {"op": "replace", "path": f'{URN}:emails[type eq "work"].value', "value": "new@x.com"},
            [{"value": "new@x.com", "type": "work", "primary": True}],
        ),
        # no home email yet: the one the filter describes is added
        (
            {"op": "replace", "path": 'emails[type eq "home"].value', "value": "ada@home.org"},
            [WORK, {"type": "home", "value": "ada@home.org"}],
        ),
        # a whole element selected by a filter
        (
            {
                "op": "replace",
                "path": 'emails[value eq "ada.lovelace@example.com"]',
                "value": {"value": "n@x.com", "type": "other"},
            },
            [{"value": "n@x.com", "type": "other"}],
        ),
        (
            {"op": "add", "path": 'emails[type eq "work"]', "value": {"display": "Ada"}},
            [{**WORK, "display": "Ada"}],
        ),
        ({"op": "replace", "path": "emails.type", "value": "other"}, [{**WORK, "type": "other"}]),
        # removes
        ({"op": "remove", "path": 'emails[value eq "ada.lovelace@example.com"]'}, None),
        ({"op": "Remove", "path": 'emails[type eq "work"].value'}, None),  # no address left, no email
        ({"op": "remove", "path": 'emails[type eq "work"].display'}, [WORK]),
        ({"op": "remove", "path": "emails", "value": [{"value": "ADA.lovelace@example.com"}]}, None),
        ({"op": "remove", "path": "emails", "value": [{"value": "other@example.com"}]}, [WORK]),
        ({"op": "replace", "path": 'emails[type eq "work"]', "value": None}, None),
    ],
)
def test_emails(operation: dict[str, Any], emails: list[dict[str, Any]] | None) -> None:
    user = patched(operation)

    assert user.get("emails") == emails
    assert without(user, "emails") == without(ada(), "emails")


def test_a_first_work_email_for_a_user_without_emails() -> None:
    user = patched(
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "new@x.com"},
        user=without(ada(), "emails"),
    )

    assert user["emails"] == [{"type": "work", "value": "new@x.com"}]


def test_a_first_primary_email_for_a_user_without_emails() -> None:
    user = patched(
        {"op": "add", "path": "emails[primary eq true].value", "value": "new@x.com"},
        user=without(ada(), "emails"),
    )

    assert user["emails"] == [{"primary": True, "value": "new@x.com"}]


def test_phone_numbers_by_filter() -> None:
    user = patched(
        {"op": "replace", "path": 'phoneNumbers[type eq "work"].value', "value": "+1 555 0199"},
        {"op": "add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "+1 555 0123"},
    )

    assert user["phoneNumbers"] == [
        {"value": "+1 555 0199", "type": "work", "primary": True},
        {"type": "mobile", "value": "+1 555 0123"},
    ]


def test_removing_one_phone_number_keeps_the_others() -> None:
    user = patched(
        {"op": "add", "path": "phoneNumbers", "value": [{"value": "+1 555 0123", "type": "mobile"}]},
        {"op": "remove", "path": 'phoneNumbers[type eq "work"]'},
    )

    assert user["phoneNumbers"] == [{"value": "+1 555 0123", "type": "mobile"}]


def test_a_new_primary_email_takes_primary_from_the_old_one() -> None:
    user = patched(
        {"op": "add", "path": "emails", "value": [{"value": "b@x.com", "type": "home", "primary": True}]}
    )

    assert user["emails"] == [
        {"value": "ada.lovelace@example.com", "type": "work", "primary": False},
        {"value": "b@x.com", "type": "home", "primary": True},
    ]


def test_making_an_email_primary_by_filter_takes_primary_from_the_others() -> None:
    two = {**ada(), "emails": [WORK, {"value": "b@x.com", "type": "home"}]}

    user = patched({"op": "replace", "path": 'emails[type eq "home"].primary', "value": "true"}, user=two)

    assert user["emails"] == [
        {**WORK, "primary": False},
        {"value": "b@x.com", "type": "home", "primary": True},
    ]


# --- enterprise extension ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operations", "extension"),
    [
        ([{"op": "Add", "path": f"{ENTERPRISE}:department", "value": "Eng"}], {"department": "Eng"}),
        ([{"op": "add", "path": f"{ENTERPRISE.upper()}:department", "value": "Eng"}], {"department": "Eng"}),
        ([{"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": "boss-id"}], {"manager": "boss-id"}),
        (
            [{"op": "add", "path": f"{ENTERPRISE}:manager.value", "value": "boss-id"}],
            {"manager": {"value": "boss-id"}},
        ),
        ([{"op": "add", "value": {f"{ENTERPRISE}:department": "Eng"}}], {"department": "Eng"}),
        (
            [{"op": "replace", "value": {ENTERPRISE: {"department": "Eng", "costCenter": "42"}}}],
            {"department": "Eng", "costCenter": "42"},
        ),
        (
            [{"op": "add", "path": ENTERPRISE, "value": {"department": "Eng", "manager": {"value": "b"}}}],
            {"department": "Eng", "manager": {"value": "b"}},
        ),
        (
            [
                {"op": "add", "path": f"{ENTERPRISE}:department", "value": "Eng"},
                {"op": "replace", "path": f"{ENTERPRISE}:Department", "value": "Ops"},
                {"op": "add", "path": f"{ENTERPRISE}:division", "value": "R&D"},
            ],
            {"Department": "Ops", "division": "R&D"},
        ),
        (
            [
                {"op": "add", "path": f"{ENTERPRISE}:department", "value": "Eng"},
                {"op": "add", "path": f"{ENTERPRISE}:division", "value": "R&D"},
                {"op": "remove", "path": f"{ENTERPRISE}:department"},
            ],
            {"division": "R&D"},
        ),
        (
            [
                {"op": "add", "path": f"{ENTERPRISE}:department", "value": "Eng"},
                {"op": "remove", "path": ENTERPRISE},
            ],
            None,
        ),
        (
            [
                {"op": "add", "path": f"{ENTERPRISE}:department", "value": "Eng"},
                {"op": "replace", "path": f"{ENTERPRISE}:department", "value": None},
            ],
            None,
        ),
    ],
)
def test_the_enterprise_extension_is_kept_as_sent(
    operations: list[dict[str, Any]], extension: dict[str, Any] | None
) -> None:
    user = patch.apply(ada(), operations)

    assert user.get(ENTERPRISE) == extension
    assert without(user, ENTERPRISE) == ada()


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "operations",
    [
        None,
        {},
        [],
        "add",
        {"op": "add"},
        [1],
        ["add"],
        [None],
        [{}],
        [{"path": "title", "value": "x"}],
        [{"op": "copy", "path": "title", "value": "x"}],
        [{"op": "move", "path": "title"}],
        [{"op": 3, "value": {}}],
        [{"op": ["add"], "value": {}}],
        [{"op": "add", "path": "title"}],
        [{"op": "replace"}],
        [{"op": "replace", "path": "title", "value": "x"}, {"op": "test", "path": "title"}],
    ],
)
def test_malformed_operations_are_invalid_syntax(operations: Any) -> None:
    with pytest.raises(ScimInvalidSyntax) as caught:
        patch.apply(ada(), operations)

    assert caught.value.scim_type == "invalidSyntax"


@pytest.mark.parametrize(
    ("operation", "named"),
    [
        ({"op": "replace", "path": "foo", "value": "x"}, "foo"),
        ({"op": "replace", "path": "name.foo", "value": "x"}, "name.foo"),
        ({"op": "replace", "path": "emails.foo", "value": "x"}, "emails.foo"),
        ({"op": "replace", "path": "title.value", "value": "x"}, "title.value"),
        ({"op": "replace", "path": 'title[value eq "x"]', "value": "x"}, "title"),
        ({"op": "replace", "path": 'name[givenName eq "x"].givenName', "value": "x"}, "name"),
        ({"op": "replace", "path": 'emails[type eq "work"', "value": "x"}, "path"),
        ({"op": "replace", "path": 'emails[type eq "work].value', "value": "x"}, "filter"),
        ({"op": "replace", "path": 'emails[foo eq "x"].value', "value": "x"}, "foo"),
        ({"op": "replace", "path": "emails[type eq work].value", "value": "x"}, "filter"),
        ({"op": "replace", "path": "emails[].value", "value": "x"}, "filter"),
        ({"op": "replace", "path": "1title", "value": "x"}, "path"),
        ({"op": "replace", "path": "name..givenName", "value": "x"}, "path"),
        ({"op": "replace", "path": "name.givenName.x", "value": "x"}, "path"),
        ({"op": "replace", "path": "urn:example:Custom:title", "value": "x"}, "path"),
        ({"op": "replace", "path": URN, "value": "x"}, "path"),
        ({"op": "replace", "path": f"{ENTERPRISE}:", "value": "x"}, "enterprise"),
        ({"op": "replace", "path": f"{ENTERPRISE}:a b", "value": "x"}, "enterprise"),
        ({"op": "replace", "path": "title" * 300, "value": "x"}, "longer"),
        ({"op": "replace", "path": 5, "value": "x"}, "string"),
        ({"op": "remove", "path": ["title"]}, "string"),
        ({"op": "replace", "value": {"foo": "x"}}, "foo"),
        ({"op": "replace", "value": {"name": {"foo": "x"}}}, "name.foo"),
        ({"op": "replace", "value": {"": "x"}}, "names"),
        ({"op": "add", "path": "emails", "value": [{"value": "x@y.com", "bogus": 1}]}, "emails.bogus"),
        ({"op": "replace", "value": {URN: {"foo": "x"}}}, "foo"),
    ],
)
def test_unknown_or_malformed_paths_are_invalid_path(operation: dict[str, Any], named: str) -> None:
    with pytest.raises(ScimInvalidPath) as caught:
        patched(operation)

    assert caught.value.scim_type == "invalidPath"
    assert named.lower() in caught.value.message.lower()


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "remove"},
        {"op": "remove", "path": ""},
        {"op": "remove", "path": 'emails[type eq "home"]'},
        {"op": "remove", "path": 'emails[type eq "home"].value'},
        {"op": "remove", "path": "emails[primary eq false]"},
        # nothing matches and the filter does not describe one element to add
        {"op": "replace", "path": 'emails[type ne "work"].value', "value": "x@y.com"},
        {"op": "replace", "path": 'emails[type eq "home" or type eq "other"].value', "value": "x@y.com"},
        {"op": "replace", "path": 'emails[value co "home"]', "value": {"value": "x@y.com"}},
    ],
)
def test_missing_targets_are_no_target(operation: dict[str, Any]) -> None:
    with pytest.raises(ScimNoTarget) as caught:
        patched(operation)

    assert caught.value.scim_type == "noTarget"


@pytest.mark.parametrize(
    ("operation", "named"),
    [
        ({"op": "replace", "path": "active", "value": "yes"}, "active"),
        ({"op": "replace", "path": "active", "value": 1}, "active"),
        ({"op": "replace", "path": "active", "value": "0"}, "active"),
        ({"op": "replace", "value": {"active": "maybe"}}, "active"),
        ({"op": "replace", "path": "title", "value": 5}, "title"),
        ({"op": "replace", "path": "title", "value": ["CTO"]}, "title"),
        ({"op": "replace", "path": "userName", "value": ""}, "userName"),
        ({"op": "replace", "path": "userName", "value": {"value": "x"}}, "userName"),
        ({"op": "replace", "path": "name.givenName", "value": True}, "name.givenName"),
        ({"op": "replace", "path": "name", "value": "Ada"}, "name"),
        ({"op": "replace", "value": {"name": {"givenName": 3}}}, "name.givenName"),
        ({"op": "add", "path": "emails", "value": "x@y.com"}, "emails"),
        ({"op": "add", "path": "emails", "value": [1]}, "emails"),
        ({"op": "add", "path": "emails", "value": [{"type": "work"}]}, "emails"),
        ({"op": "add", "path": "emails", "value": [{"value": ""}]}, "emails"),
        ({"op": "add", "path": "emails", "value": [{"value": 5}]}, "emails.value"),
        (
            {"op": "add", "path": "emails", "value": [{"value": "a@x.com", "primary": "yes"}]},
            "emails.primary",
        ),
        ({"op": "replace", "path": 'emails[type eq "work"].value', "value": 5}, "emails.value"),
        ({"op": "replace", "path": 'emails[type eq "work"].value', "value": ""}, "emails"),
        ({"op": "replace", "path": 'emails[type eq "work"]', "value": "x@y.com"}, "emails"),
        ({"op": "replace", "path": 'emails[type eq "home"].primary', "value": True}, "emails"),  # no address
        ({"op": "replace", "value": "title"}, "object"),
        ({"op": "replace", "value": ["title"]}, "object"),
        (
            {
                "op": "replace",
                "path": "emails",
                "value": [{"value": "a@x.com", "primary": True}, {"value": "b@x.com", "primary": True}],
            },
            "primary",
        ),
        ({"op": "add", "path": ENTERPRISE, "value": "Eng"}, ENTERPRISE),
        (
            {"op": "add", "path": f"{ENTERPRISE}:manager", "value": {"a": {"b": {"c": {"d": {"e": 1}}}}}},
            "deeply",
        ),
        ({"op": "add", "path": f"{ENTERPRISE}:manager", "value": {1, 2}}, "JSON"),
    ],
)
def test_values_of_the_wrong_type_are_invalid_value(operation: dict[str, Any], named: str) -> None:
    with pytest.raises(ScimInvalidValue) as caught:
        patched(operation)

    assert caught.value.scim_type == "invalidValue"
    assert named.lower() in caught.value.message.lower()


@pytest.mark.parametrize(
    ("operation", "named"),
    [
        ({"op": "replace", "path": "id", "value": "other-id"}, "id"),
        ({"op": "replace", "value": {"id": "other-id"}}, "id"),
        ({"op": "replace", "path": "id", "value": None}, "id"),
        ({"op": "remove", "path": "id"}, "id"),
        ({"op": "remove", "path": "userName"}, "userName"),
        ({"op": "Remove", "path": f"{URN}:userName"}, "userName"),
        ({"op": "replace", "path": "userName", "value": None}, "userName"),
        ({"op": "replace", "value": {"userName": None}}, "userName"),
        ({"op": "replace", "path": "meta", "value": {"version": "x"}}, "meta"),
        ({"op": "add", "path": "meta.lastModified", "value": "2030-01-01T00:00:00Z"}, "meta.lastModified"),
        ({"op": "remove", "path": "meta.created"}, "meta.created"),
        ({"op": "remove", "path": "meta"}, "meta"),
        ({"op": "replace", "value": {"meta": {"resourceType": "Group"}}}, "meta"),
        ({"op": "replace", "path": "schemas", "value": [URN, ENTERPRISE]}, "schemas"),
        ({"op": "add", "value": {"schemas": ["urn:x"]}}, "schemas"),
        ({"op": "remove", "path": "schemas"}, "schemas"),
    ],
)
def test_read_only_and_required_attributes_are_mutability_errors(
    operation: dict[str, Any], named: str
) -> None:
    with pytest.raises(ScimMutability) as caught:
        patched(operation)

    assert caught.value.scim_type == "mutability"
    assert named.lower() in caught.value.message.lower()


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "id", "value": USER_ID},
        {"op": "replace", "path": "meta.resourceType", "value": "User"},
        {"op": "replace", "path": "schemas", "value": [URN]},
    ],
)
def test_writing_a_read_only_attribute_as_it_is_changes_nothing(operation: dict[str, Any]) -> None:
    assert patched(operation) == ada()


# --- the input is never modified -----------------------------------------------------------------


@pytest.mark.parametrize(
    "operations",
    [
        [{"op": "replace", "path": "title", "value": "CTO"}],
        [{"op": "replace", "path": "name.givenName", "value": "A"}],
        [{"op": "replace", "value": {"name": {"givenName": "A"}}}],
        [{"op": "replace", "path": 'emails[type eq "work"].value', "value": "new@x.com"}],
        [{"op": "add", "path": "emails", "value": [{"value": "b@x.com", "primary": True}]}],
        [
            {
                "op": "add",
                "path": "emails",
                "value": [{"value": "ada.lovelace@example.com", "type": "work", "display": "A"}],
            }
        ],
        [{"op": "remove", "path": 'phoneNumbers[type eq "work"].value'}],
        [{"op": "remove", "path": "name.familyName"}],
        [{"op": "add", "path": f"{ENTERPRISE}:manager.value", "value": "b"}],
        # fails half-way: the first operation must not show either
        [{"op": "replace", "path": "title", "value": "CTO"}, {"op": "remove", "path": "userName"}],
        [
            {"op": "replace", "path": "name.givenName", "value": "A"},
            {"op": "replace", "path": "active", "value": "x"},
        ],
    ],
)
def test_the_input_user_is_not_modified(operations: list[dict[str, Any]]) -> None:
    user = ada()
    user[ENTERPRISE] = {"manager": {"value": "old"}}
    snapshot = copy.deepcopy(user)
    operations_snapshot = copy.deepcopy(operations)

    with contextlib.suppress(ScimProtocolError):
        patch.apply(user, operations)

    assert user == snapshot
    assert operations == operations_snapshot


@pytest.mark.parametrize("form", ["into the extension", "the extension", "without a path"])
def test_the_result_shares_nothing_with_the_request(form: str) -> None:
    manager = {"value": "boss"}
    operation = {
        "into the extension": {"op": "add", "path": f"{ENTERPRISE}:manager", "value": manager},
        "the extension": {"op": "add", "path": ENTERPRISE, "value": {"manager": manager}},
        "without a path": {"op": "replace", "value": {ENTERPRISE: {"manager": manager}}},
    }[form]
    user = patch.apply(ada(), [operation])

    manager["value"] = "changed later"

    assert user[ENTERPRISE] == {"manager": {"value": "boss"}}


# --- anything a fuzzer sends -------------------------------------------------------------------


def _random_json(generator: random.Random, depth: int = 0) -> Any:
    choice = generator.randrange(9 if depth < 6 else 6)
    if choice == 0:
        return None
    if choice == 1:
        return generator.choice([True, False])
    if choice == 2:
        return generator.choice([0, 1, -7, 3.5, 10**30])
    if choice in (3, 4, 5):
        return generator.choice([*PATH_PIECES, "True", "false", "x@y.com", "", "\x00", "é"])
    if choice in (6, 7):
        keys = [*PATH_PIECES, "op", "path", "value", "Operations"]
        return {
            generator.choice(keys): _random_json(generator, depth + 1) for _ in range(generator.randrange(4))
        }
    return [_random_json(generator, depth + 1) for _ in range(generator.randrange(4))]


PATH_PIECES = [
    "title",
    "active",
    "userName",
    "id",
    "meta",
    "meta.created",
    "schemas",
    "name",
    "name.givenName",
    "emails",
    "phoneNumbers",
    "emails.value",
    "emails.primary",
    'emails[type eq "work"].value',
    'emails[type eq "work"]',
    "emails[primary eq true]",
    'emails[value co "x"].display',
    f"{URN}:title",
    ENTERPRISE,
    f"{ENTERPRISE}:department",
    f"{ENTERPRISE}:manager.value",
    "emails[",
    "]",
    "name.",
    "value",
    "type",
    "primary",
]


def test_random_operations_raise_only_scim_errors() -> None:
    generator = random.Random(7644)
    for _ in range(4000):
        operations = [
            {
                "op": generator.choice(["add", "Replace", "remove", "copy", 1, None]),
                **({"path": generator.choice([*PATH_PIECES, 5, None])} if generator.random() < 0.7 else {}),
                **({"value": _random_json(generator)} if generator.random() < 0.9 else {}),
            }
            for _ in range(generator.randint(1, 3))
        ]
        if generator.random() < 0.1:
            operations = _random_json(generator)
        user = ada()
        try:
            result = patch.apply(user, operations)
        except ScimProtocolError:
            continue
        finally:
            assert user == ada()
        assert isinstance(result, dict)
        assert result["id"] == USER_ID and result["userName"]


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "Add", "path": 'addresses[type eq "work"].formatted', "value": "1 Main St"},
        {"op": "Replace", "path": "preferredLanguage", "value": "en-US"},
        {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:locale", "value": "en"},
        {"op": "remove", "path": "roles"},
        {"op": "replace", "value": {"locale": "en", "addresses": [{"formatted": "x"}], "timezone": "UTC"}},
        {"op": "add", "path": "groups", "value": [{"value": "g1"}]},
    ],
)
def test_core_attributes_we_do_not_store_are_accepted_and_change_nothing(operation: dict[str, Any]) -> None:
    # Entra's and Okta's default mappings send these: refusing them would fail the whole sync
    assert patch.apply(ada(), [operation]) == ada()


def test_an_attribute_no_schema_defines_is_still_an_invalid_path() -> None:
    with pytest.raises(ScimInvalidPath):
        patch.apply(ada(), [{"op": "replace", "value": {"locale": "en", "shoeSize": "9"}}])


@pytest.mark.parametrize("path", ["emails", "displayName", "active", "userName"])
def test_what_a_client_always_has_cannot_be_removed(path: str) -> None:
    # A client always has an email, a name and a status: removing one is refused, not faked
    with pytest.raises(ScimMutability):
        patch.apply(ada(), [{"op": "remove", "path": path}])
