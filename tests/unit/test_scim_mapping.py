"""The SCIM User <-> client mapping (API.md section 10) and attribute projection, without HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from partner_api.errors import ScimInvalidValue
from partner_api.logic.versions import etag
from partner_api.scim.users import USER_SCHEMA, client_fields, project, to_scim

BASE = "https://api.example.com/scim/v2"


def client(**changes: Any) -> dict[str, Any]:
    record = {
        "clientId": "6f1c8a2e-1b3d-4a5f-8e7c-9d0b2a4c6e81",
        "name": "Ada Lovelace",
        "email": "Ada@Example.com",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "title": "Countess",
        "phone": "+44 20 7946 0000",
        "identifier": "00u1abc",
        "status": "active",
        "registeredAt": "2026-11-30T10:00:00.000Z",
        "updatedAt": "2026-11-30T10:05:00.000Z",
        "version": 3,
        "company": "Analytical Engines",  # not a SCIM attribute: never shown
    }
    record.update(changes)
    return record


def test_a_client_is_shown_as_a_scim_user_with_every_mapped_attribute() -> None:
    user = to_scim(client(), BASE)

    assert user == {
        "schemas": [USER_SCHEMA],
        "id": "6f1c8a2e-1b3d-4a5f-8e7c-9d0b2a4c6e81",
        "externalId": "00u1abc",
        "userName": "Ada@Example.com",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "displayName": "Ada Lovelace",
        "title": "Countess",
        "emails": [{"value": "Ada@Example.com", "type": "work", "primary": True}],
        "phoneNumbers": [{"value": "+44 20 7946 0000", "type": "work", "primary": True}],
        "active": True,
        "meta": {
            "resourceType": "User",
            "created": "2026-11-30T10:00:00.000Z",
            "lastModified": "2026-11-30T10:05:00.000Z",
            "location": f"{BASE}/Users/6f1c8a2e-1b3d-4a5f-8e7c-9d0b2a4c6e81",
            "version": etag("6f1c8a2e-1b3d-4a5f-8e7c-9d0b2a4c6e81", 3),
        },
    }


@pytest.mark.parametrize("status", ["inactive", "suspended"])
def test_only_an_active_client_is_an_active_user(status: str) -> None:
    assert to_scim(client(status=status), BASE)["active"] is False


def test_unset_optional_fields_are_left_out() -> None:
    user = to_scim(client(firstName=None, lastName=None, title=None, phone=None, identifier=None), BASE)
    assert not {"name", "title", "phoneNumbers", "externalId"} & set(user)


def test_a_user_sets_every_mapped_client_field_and_clears_what_it_leaves_out() -> None:
    fields = client_fields(
        {
            "userName": "grace@example.com",
            "name": {"givenName": "Grace", "familyName": "Hopper", "formatted": "Grace Hopper"},
            "displayName": "Rear Admiral Hopper",
            "phoneNumbers": [{"value": "+1 555 0100", "type": "mobile"}],
            "externalId": "ext-7",
            "active": False,
            "locale": "en-US",  # accepted, not stored
        }
    )
    assert fields == {
        "email": "grace@example.com",
        "name": "Rear Admiral Hopper",
        "firstName": "Grace",
        "lastName": "Hopper",
        "title": None,
        "phone": "+1 555 0100",
        "identifier": "ext-7",
        "status": "inactive",
    }


@pytest.mark.parametrize(
    ("user", "name"),
    [
        ({"userName": "a@example.com", "name": {"formatted": "A Person"}}, "A Person"),
        ({"userName": "a@example.com", "name": {"givenName": "A", "familyName": "B"}}, "A B"),
        ({"userName": "a@example.com"}, "a@example.com"),
    ],
)
def test_a_client_always_gets_a_name(user: dict[str, Any], name: str) -> None:
    assert client_fields(user)["name"] == name


def test_the_primary_phone_number_wins_over_the_first() -> None:
    user = {
        "userName": "a@example.com",
        "phoneNumbers": [{"value": "111"}, {"value": "222", "primary": True}],
    }
    assert client_fields(user)["phone"] == "222"


def test_a_changed_primary_email_changes_the_email_when_username_did_not_change() -> None:
    before = to_scim(client(), BASE)
    after = {**before, "emails": [{"value": "ada.new@example.com", "type": "work", "primary": True}]}
    assert client_fields(after, before=before)["email"] == "ada.new@example.com"
    # A changed userName wins: it is the email.
    renamed = {**after, "userName": "ada.other@example.com"}
    assert client_fields(renamed, before=before)["email"] == "ada.other@example.com"


@pytest.mark.parametrize(
    "user",
    [
        {},
        {"userName": ""},
        {"userName": "not-an-email"},
        {"userName": 42},
        {"userName": "a@example.com", "active": "yes"},
        {"userName": "a@example.com", "name": "Ada"},
        {"userName": "a@example.com", "emails": {"value": "x"}},
        {"userName": "a@example.com", "phoneNumbers": [{"value": 5}]},
        {"userName": "a@example.com", "phoneNumbers": [{"primary": None, "type": None}]},
        {"userName": "a@example.com", "emails": [{"type": "work"}]},
        {"userName": "a@example.com", "title": ["x"]},
        "not an object",
    ],
)
def test_a_user_that_cannot_be_a_client_is_an_invalid_value(user: Any) -> None:
    with pytest.raises(ScimInvalidValue):
        client_fields(user)


def test_attributes_keep_only_those_asked_for_and_those_always_returned() -> None:
    user = to_scim(client(), BASE)
    shown = project(
        user, ["userName", "name.givenName", "urn:ietf:params:scim:schemas:core:2.0:User:title"], []
    )
    assert shown == {
        "schemas": [USER_SCHEMA],
        "id": user["id"],
        "userName": "Ada@Example.com",
        "name": {"givenName": "Ada"},
        "title": "Countess",
    }


def test_excluded_attributes_drop_those_named_but_never_id() -> None:
    user = to_scim(client(), BASE)
    shown = project(user, [], ["emails", "name.familyName", "ID", "meta"])
    assert "emails" not in shown and "meta" not in shown
    assert shown["name"] == {"givenName": "Ada"} and shown["id"] == user["id"]
