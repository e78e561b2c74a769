"""Request models at the edge, and how their validation errors become the API's error body."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from partner_api.errors import InvalidInput, MissingParameters
from partner_api.http.errors import from_validation
from partner_api.models.clients import ClientCreate, ClientPatch
from partner_api.models.partners import RootPartnerCreate


def rejected(model: type[BaseModel], data: dict[str, Any]) -> InvalidInput:
    """The domain error a body fails with, as the API would report it."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return from_validation(caught.value)


def issues(error: InvalidInput) -> dict[str, str]:
    return {d.field: d.issue for d in error.details}


# A client body needs a name (or firstName and lastName): the tests of other fields give one.
NAMED = {"name": "Jo Doe"}


# --- ClientCreate ----------------------------------------------------------------------------------


def test_client_create_trims_strings():
    body = ClientCreate.model_validate(
        {"name": "  John Doe \t", "email": " John.Doe@Example.com ", "title": "\nCFO  "}
    )
    assert body.given() == {"name": "John Doe", "email": "John.Doe@Example.com", "title": "CFO"}


def test_client_create_treats_blank_strings_as_missing():
    # Given a blank name (without firstName and lastName), a blank email and a blank optional title
    error = rejected(ClientCreate, {"name": "   ", "email": " \t ", "title": "  "})

    # Then the required ones are reported missing, and the blank optional one is simply absent
    assert isinstance(error, MissingParameters)
    assert error.code == "MISSING_REQUIRED_PARAMS"
    assert issues(error) == {"name": "required", "email": "required"}
    assert ClientCreate.model_validate({"name": "", "email": "a@example.com"}).given() == {
        "email": "a@example.com"
    }


def test_client_create_of_an_empty_body_reports_name_and_email_together():
    # Given an empty body
    # When it is validated
    error = rejected(ClientCreate, {})

    # Then both required fields are in one error, in the order the fields are declared
    assert isinstance(error, MissingParameters)
    assert error.message == "Required parameter name, email is missing."
    assert [(d.field, d.issue) for d in error.details] == [("name", "required"), ("email", "required")]


def test_client_create_reports_a_missing_name_with_the_other_problems_keeping_their_issues():
    # Given bodies with no name (nor both firstName and lastName) and other problems
    bad_email = rejected(ClientCreate, {"email": "bad"})
    half_named = rejected(ClientCreate, {"firstName": "A", "lastName": " ", "email": "a@x.io", "age": 3})
    crowded = rejected(ClientCreate, {"email": "a@x.io", "metadata": {f"k{i}": "v" for i in range(51)}})

    # Then the name is reported required next to each problem, whose issue is unchanged
    assert bad_email.code == "MISSING_REQUIRED_PARAMS"
    assert bad_email.message == "Required parameter name is missing."
    assert issues(bad_email) == {"name": "required", "email": "must be a valid email address"}
    assert issues(half_named) == {"name": "required", "age": "unknown field"}
    assert issues(crowded) == {"name": "required", "metadata": "at most 50 keys"}


def test_client_create_does_not_require_a_name_that_is_given_or_derivable():
    # Given a bad email with a name, with firstName and lastName, and with a name of the wrong type
    named = rejected(ClientCreate, {"name": "Jo", "email": "bad"})
    derivable = rejected(ClientCreate, {"firstName": "Jo", "lastName": "Doe", "email": "bad"})
    wrong_type = rejected(ClientCreate, {"name": 5, "email": "a@x.io"})

    # Then only the actual problems are reported, the name's own once
    assert issues(named) == issues(derivable) == {"email": "must be a valid email address"}
    assert named.code == derivable.code == "INVALID_PARAMETER"
    assert issues(wrong_type) == {"name": "Input should be a valid string"}


def test_client_create_leaves_the_name_of_an_otherwise_valid_body_to_logic():
    # Given a valid body without a name: the accounts route may update an existing client with it
    body = ClientCreate.model_validate({"email": "a@example.com", "firstName": "A"})

    # Then it validates; registering a new client refuses it (logic.clients.register)
    assert body.given() == {"email": "a@example.com", "firstName": "A"}


@pytest.mark.parametrize(
    ("field", "issue"),
    [("nickname", "unknown field"), ("clientId", "read-only field"), ("registeredAt", "read-only field")],
)
def test_client_create_rejects_unknown_and_read_only_fields(field: str, issue: str):
    error = rejected(ClientCreate, {**NAMED, "email": "a@example.com", field: "x"})
    assert type(error) is InvalidInput and error.code == "INVALID_PARAMETER"
    assert issues(error) == {field: issue}
    assert error.message == f"The {field} value specified is invalid."


@pytest.mark.parametrize(
    "email",
    ["john.doe@example.com", "J.O'Hara+tag@sub.example.co.uk", "x_1@a-b.io", f"{'a' * 64}@{'b' * 63}.com"],
)
def test_client_create_accepts_valid_emails(email: str):
    assert ClientCreate.model_validate({"email": email}).email == email


@pytest.mark.parametrize(
    "email",
    [
        "john.doe",
        "john@localhost",
        "john doe@example.com",
        "john@-example.com",
        "john@example-.com",
        "john@@example.com",
        "@example.com",
        "john@example..com",
        f"{'a' * 250}@example.com",
    ],
)
def test_client_create_rejects_malformed_emails(email: str):
    error = rejected(ClientCreate, {**NAMED, "email": email})
    assert issues(error) == {"email": "must be a valid email address"}
    assert error.code == "INVALID_PARAMETER"


@pytest.mark.parametrize("phone", ["+1 555 0100", "(555) 010-0100", "+44.20.7946.0958", "123"])
def test_client_create_accepts_phone_numbers(phone: str):
    assert ClientCreate.model_validate({"email": "a@example.com", "phone": phone}).phone == phone


@pytest.mark.parametrize("phone", ["call me", "+1 555 0100 ext 7", "12", "+" + "1" * 40, "555#0100"])
def test_client_create_rejects_malformed_phone_numbers(phone: str):
    error = rejected(ClientCreate, {**NAMED, "email": "a@example.com", "phone": phone})
    assert list(issues(error)) == ["phone"]


def test_client_create_deduplicates_roles_keeping_their_order():
    body = ClientCreate.model_validate(
        {"email": "a@example.com", "roles": ["MANAGER", "ACCOUNT_ADMIN", "MANAGER", "ACCOUNT_ADMIN"]}
    )
    assert body.roles == ["MANAGER", "ACCOUNT_ADMIN"]


def test_client_create_rejects_unknown_roles_naming_the_item():
    error = rejected(ClientCreate, {**NAMED, "email": "a@example.com", "roles": ["MANAGER", "SUPERUSER"]})
    assert list(issues(error)) == ["roles.1"]


def test_client_create_accepts_metadata_at_its_limits():
    metadata = {f"k{i:02d}".ljust(40, "x"): "v" * 500 for i in range(50)}
    assert ClientCreate.model_validate({"email": "a@example.com", "metadata": metadata}).metadata == metadata


def test_client_create_rejects_more_than_50_metadata_keys():
    metadata = {f"k{i}": "v" for i in range(51)}
    error = rejected(ClientCreate, {**NAMED, "email": "a@example.com", "metadata": metadata})
    assert issues(error) == {"metadata": "at most 50 keys"}


def test_client_create_rejects_metadata_values_over_500_chars_or_not_strings():
    long_value = rejected(
        ClientCreate, {**NAMED, "email": "a@example.com", "metadata": {"crm_id": "v" * 501}}
    )
    assert list(issues(long_value)) == ["metadata.crm_id"]
    number = rejected(ClientCreate, {**NAMED, "email": "a@example.com", "metadata": {"crm_id": 42}})
    assert list(issues(number)) == ["metadata.crm_id"]


def test_client_create_reports_a_too_long_metadata_key_on_the_metadata_field():
    # Given a metadata key over 40 characters
    error = rejected(ClientCreate, {**NAMED, "email": "a@example.com", "metadata": {"k" * 41: "v"}})

    # Then the field is named in dotted form, without pydantic's internal markers
    (field,) = issues(error)
    assert field in ("metadata", f"metadata.{'k' * 41}"), field


# --- ClientPatch -----------------------------------------------------------------------------------


def test_client_patch_keeps_blanks_and_nulls_as_clears():
    body = ClientPatch.model_validate(
        {"title": "  ", "phone": None, "metadata": {"crm_id": None, "tier": " gold "}}
    )
    assert body.given() == {"title": None, "phone": None, "metadata": {"crm_id": None, "tier": "gold"}}


def test_client_patch_is_partial_and_forbids_read_only_fields():
    assert ClientPatch.model_validate({}).given() == {}
    error = rejected(ClientPatch, {"status": "active", "updatedAt": "2025-01-01T00:00:00.000Z"})
    assert issues(error) == {"updatedAt": "read-only field"}


def test_client_patch_rejects_unknown_status():
    error = rejected(ClientPatch, {"status": "archived"})
    assert list(issues(error)) == ["status"]


# --- RootPartnerCreate -----------------------------------------------------------------------------


def test_root_partner_create_normalises_domains_and_trims():
    body = RootPartnerCreate.model_validate(
        {"name": " Acme ", "domains": ["Partner.Example.COM", "partner.example.com", "acme.io"]}
    )
    assert body.name == "Acme"
    assert body.domains == ["partner.example.com", "acme.io"]


@pytest.mark.parametrize(
    "domain",
    ["localhost", "-bad.example.com", "bad-.example.com", "exa mple.com", "https://example.com", "a.b1"],
)
def test_root_partner_create_rejects_non_dns_domains(domain: str):
    error = rejected(RootPartnerCreate, {"name": "Acme", "domains": ["ok.example.com", domain]})
    assert issues(error) == {"domains.1": "must be a DNS name"}


def test_root_partner_contact_requires_names_and_email_reported_in_dotted_form():
    # Given a contact without an email and with a blank last name
    error = rejected(RootPartnerCreate, {"name": "Acme", "contact": {"firstName": "Jane", "lastName": " "}})

    # Then both are missing, named contact.lastName and contact.email
    assert error.code == "MISSING_REQUIRED_PARAMS"
    assert issues(error) == {"contact.lastName": "required", "contact.email": "required"}
    assert error.message == "Required parameter contact.lastName, contact.email is missing."


def test_root_partner_contact_validates_email_and_role():
    error = rejected(
        RootPartnerCreate,
        {"name": "Acme", "contact": {"firstName": "J", "lastName": "R", "email": "nope", "role": "OWNER"}},
    )
    assert error.code == "INVALID_PARAMETER"
    assert set(issues(error)) == {"contact.email", "contact.role"}
    assert issues(error)["contact.email"] == "must be a valid email address"


def test_root_partner_create_rejects_extra_fields_also_nested():
    error = rejected(
        RootPartnerCreate,
        {
            "name": "Acme",
            "tenantId": "x",
            "contact": {"firstName": "J", "lastName": "R", "email": "j@r.io", "x": 1},
        },
    )
    assert issues(error) == {"tenantId": "unknown field", "contact.x": "unknown field"}


def test_root_partner_status_starts_active_or_inactive_only():
    assert (
        RootPartnerCreate.model_validate({"name": "Acme", "status": "inactive"}).wanted_status() == "inactive"
    )
    assert RootPartnerCreate.model_validate({"name": "Acme", "active": False}).wanted_status() == "inactive"
    assert RootPartnerCreate.model_validate({"name": "Acme"}).wanted_status() is None
    assert list(issues(rejected(RootPartnerCreate, {"name": "Acme", "status": "suspended"}))) == ["status"]


def test_root_partner_active_and_status_must_agree():
    body = RootPartnerCreate.model_validate({"name": "Acme", "active": True, "status": "inactive"})
    with pytest.raises(InvalidInput) as caught:
        body.wanted_status()
    assert caught.value.code == "INVALID_PARAMETER"
    assert [d.field for d in caught.value.details] == ["active"]


def test_root_partner_name_is_required_and_limited():
    assert issues(rejected(RootPartnerCreate, {})) == {"name": "required"}
    assert list(issues(rejected(RootPartnerCreate, {"name": "x" * 256}))) == ["name"]
    assert RootPartnerCreate.model_validate({"name": "x" * 255}).name == "x" * 255


# --- from_validation -------------------------------------------------------------------------------


def test_from_validation_reports_missing_first_even_with_other_problems():
    # Given a body with a missing required field, an unknown field and a malformed one
    error = rejected(ClientCreate, {**NAMED, "phone": "nope", "colour": "red"})

    # Then it is MISSING_REQUIRED_PARAMS naming only the missing field, with every problem in details
    assert error.code == "MISSING_REQUIRED_PARAMS"
    assert error.message == "Required parameter email is missing."
    assert issues(error) == {
        "email": "required",
        "phone": issues(error)["phone"],
        "colour": "unknown field",
    }
    assert issues(error)["phone"]


def test_from_validation_prefixes_field_paths():
    with pytest.raises(ValidationError) as caught:
        ClientCreate.model_validate({**NAMED, "email": "nope"})
    error = from_validation(caught.value, prefix=("body",))
    assert [d.field for d in error.details] == ["body.email"]


# -- bodies and queries are what the published schema says -----------------------------------------


@pytest.mark.parametrize("value", [0, 1, "true", "false"])
def test_a_body_boolean_is_a_json_boolean_not_a_number_or_a_string(value: Any):
    from partner_api.models.partners import PartnerPatch

    with pytest.raises(ValidationError):
        PartnerPatch.model_validate({"active": value})
    assert PartnerPatch.model_validate({"active": False}).active is False


@pytest.mark.parametrize(
    "value", ["0.5", "1700000000", "2025-09-30", "2025-09-30 15:01:53Z", "2025-09-30T15:01:53"]
)
def test_an_event_time_filter_is_an_rfc3339_date_time_only(value: str):
    from partner_api.models.webhooks import EventListQuery

    with pytest.raises(ValidationError):
        EventListQuery.model_validate({"until": value})


def test_an_event_time_filter_takes_a_utc_or_offset_date_time():
    from partner_api.models.webhooks import EventListQuery

    query = EventListQuery.model_validate(
        {"since": "2025-09-30T15:01:53.188Z", "until": "2025-09-30T17:01:53.188+02:00"}
    )
    assert query.since is not None and query.until is not None and query.since == query.until


def test_the_schema_of_an_optional_string_field_admits_the_blank_string_the_model_treats_as_absent():
    # Given the schema of a body whose optional strings may be sent blank (counted as not sent)
    schema = ClientCreate.model_json_schema()

    # Then an optional field's schema admits a blank string, a required one does not
    assert {"type": "string", "pattern": r"^\s*$"} in schema["properties"]["firstName"]["anyOf"]
    assert "anyOf" not in schema["properties"]["email"]
    assert (
        ClientCreate.model_validate({"email": "a@example.com", "name": "A", "firstName": "  "}).firstName
        is None
    )


def test_request_models_are_built_at_import_not_on_first_use_by_racing_threads():
    # Given a fresh interpreter that only imports the client models (as a cold function does)
    import subprocess
    import sys
    from pathlib import Path

    layer = Path(__file__).resolve().parents[2] / "layers" / "shared"
    code = (
        "from partner_api.models.clients import ClientCreate, ClientPatch, ClientListQuery;"
        "print(all(m.__pydantic_complete__ for m in (ClientCreate, ClientPatch, ClientListQuery)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(layer)},
        capture_output=True,
        text=True,
        check=True,
    )

    # Then their validators exist already: pydantic's deferred build is not thread-safe (a model
    # racing its first build validated with its parent's validator: "name: unknown field")
    assert done.stdout.strip() == "True"
