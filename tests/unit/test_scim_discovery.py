"""The SCIM discovery documents: built by tools/scim_discovery.py with scim2-models, committed as
JSON, and served by ``partner_api.scim.discovery`` without importing scim2-models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from scim2_models import (
    Context,
    ListResponse,
    Resource,
    ResourceType,
    Schema,
    ServiceProviderConfig,
    User,
)

from partner_api.scim import discovery
from tests.support.tools import load_tool

ROOT = Path(__file__).resolve().parents[2]
TOOL = load_tool("scim_discovery")
BASE = "https://api.example.com/scim/v2"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"

# What a client record stores, hence all the User schema may publish.
PUBLISHED = {
    "id": None,
    "externalId": None,
    "meta": {"resourceType", "created", "lastModified", "location", "version"},
    "userName": None,
    "name": {"givenName", "familyName"},
    "displayName": None,
    "title": None,
    "emails": {"value", "type", "primary"},
    "phoneNumbers": {"value", "type", "primary"},
    "active": None,
}


def user_schema() -> dict[str, Any]:
    found = discovery.schema(USER_SCHEMA, BASE)
    assert found is not None
    return found


def attribute(name: str) -> dict[str, Any]:
    return next(a for a in user_schema()["attributes"] if a["name"] == name)


def test_the_committed_documents_are_the_ones_the_tool_builds():
    # Given the documents scim2-models builds now
    # Then discovery.json is byte for byte what the tool writes
    assert TOOL.check() is None
    assert TOOL.DOCUMENT.read_text() == TOOL.text(TOOL.build())


def test_the_tool_check_fails_with_one_line_when_the_document_differs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    # Given a stale discovery.json
    stale = tmp_path / "discovery.json"
    stale.write_text("{}\n")
    monkeypatch.setattr(TOOL, "DOCUMENT", stale)
    monkeypatch.setattr(TOOL, "ROOT", tmp_path)

    # Then --check fails with one line, and a run rewrites it so that --check passes
    assert TOOL.main(["--check"]) == 1
    assert capsys.readouterr().err.strip().count("\n") == 0
    assert TOOL.main([]) == 0
    assert TOOL.main(["--check"]) == 0
    assert json.loads(stale.read_text()) == TOOL.build()


def test_the_service_provider_config_validates_and_says_what_we_support():
    # Given the served ServiceProviderConfig
    served = discovery.service_provider_config(BASE)

    # Then scim2-models reads it as a response, losing nothing
    config = ServiceProviderConfig.model_validate(served, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    assert config.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE) == served
    # and it promises PATCH, filters and ETags, but no bulk, sort or password change
    assert served["patch"] == {"supported": True}
    assert served["bulk"] == {"supported": False, "maxOperations": 0, "maxPayloadSize": 0}
    assert served["filter"] == {"supported": True, "maxResults": 200}
    assert served["changePassword"] == served["sort"] == {"supported": False}
    assert served["etag"] == {"supported": True}
    [scheme] = served["authenticationSchemes"]
    assert scheme["type"] == "oauthbearertoken" and scheme["primary"] is True
    assert "POST /partner/v1/directories" in scheme["description"]
    assert "documentationUri" not in served
    assert served["meta"] == {
        "resourceType": "ServiceProviderConfig",
        "location": f"{BASE}/ServiceProviderConfig",
    }


def test_the_user_resource_type_validates_and_points_at_the_user_schema():
    # Given the served resource types
    [served] = discovery.resource_types(BASE)

    # Then the one is the User, read by scim2-models as a response, losing nothing
    found = ResourceType.model_validate(served, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    assert found.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE) == served
    assert (served["id"], served["name"], served["endpoint"]) == ("User", "User", "/Users")
    assert served["schema"] == USER_SCHEMA and served["description"]
    assert "schemaExtensions" not in served
    assert served["meta"] == {"resourceType": "ResourceType", "location": f"{BASE}/ResourceTypes/User"}
    assert discovery.resource_type("User", BASE) == served


def test_the_user_schema_validates_and_publishes_exactly_what_a_client_stores():
    # Given the served schemas
    [served] = discovery.schemas(BASE)

    # Then the one is the core User schema, read by scim2-models as a response, losing nothing
    found = Schema.model_validate(served, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    assert found.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE) == served
    assert served["id"] == USER_SCHEMA
    assert served["meta"] == {"resourceType": "Schema", "location": f"{BASE}/Schemas/{USER_SCHEMA}"}
    # and it lists the attributes a client record stores, no more
    published = {
        a["name"]: ({s["name"] for s in a["subAttributes"]} if "subAttributes" in a else None)
        for a in served["attributes"]
    }
    assert published == PUBLISHED
    assert len(served["attributes"]) == len(PUBLISHED)


def test_the_user_schema_keeps_scim2_models_definitions():
    # Given scim2-models' full User schema
    full = User.to_schema().model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    definitions = {a["name"]: a for a in full["attributes"]}

    # Then each published simple attribute is its definition, the description unwrapped; where a
    # client differs (what it always has, what its email is) only the description and required do
    for name in ("userName", "displayName", "title", "active"):
        wanted = definitions[name] | {"description": " ".join(definitions[name]["description"].split())}
        if name == "title":
            assert attribute(name) == wanted
        else:
            mine = {k: v for k, v in attribute(name).items() if k not in ("description", "required")}
            assert mine == {k: v for k, v in wanted.items() if k not in ("description", "required")}
            assert attribute(name)["required"] is True


def test_what_a_client_keeps_of_emails_and_phone_numbers_is_read_only():
    for name in ("emails", "phoneNumbers"):
        subs = {sub["name"]: sub for sub in attribute(name)["subAttributes"]}
        assert subs["value"]["mutability"] == "readWrite"
        assert subs["type"]["mutability"] == subs["primary"]["mutability"] == "readOnly"
    assert attribute("emails")["required"] is True
    assert "email address" in attribute("userName")["description"]


def test_user_name_is_required_and_unique_and_ids_are_the_servers():
    user_name = attribute("userName")
    assert (user_name["required"], user_name["uniqueness"], user_name["caseExact"]) == (True, "server", False)
    id_ = attribute("id")
    assert (id_["mutability"], id_["returned"], id_["uniqueness"], id_["caseExact"]) == (
        "readOnly",
        "always",
        "server",
        True,
    )
    assert attribute("externalId")["caseExact"] is True
    assert attribute("meta")["mutability"] == "readOnly"
    assert attribute("active")["type"] == "boolean"
    emails = attribute("emails")
    assert emails["multiValued"] is True
    email_type = next(s for s in emails["subAttributes"] if s["name"] == "type")
    assert email_type["canonicalValues"] == ["work", "home", "other"]
    assert attribute("phoneNumbers")["multiValued"] is True


def test_a_checker_can_build_a_user_model_from_the_schema_and_read_a_full_user():
    # Given the model a client (a conformance checker) builds from our schema
    model = Resource.from_schema(Schema.model_validate(user_schema()))

    # When it reads a User carrying every published attribute
    user = {
        "schemas": [USER_SCHEMA],
        "id": "c1",
        "externalId": "ext-1",
        "userName": "jo@example.com",
        "name": {"givenName": "Jo", "familyName": "Doe"},
        "displayName": "Jo Doe",
        "title": "Buyer",
        "emails": [{"value": "jo@example.com", "type": "work", "primary": True}],
        "phoneNumbers": [{"value": "+441234567890", "type": "work", "primary": True}],
        "active": True,
        "meta": {
            "resourceType": "User",
            "created": "2024-01-01T00:00:00Z",
            "lastModified": "2024-01-02T00:00:00Z",
            "location": f"{BASE}/Users/c1",
            "version": 'W/"1"',
        },
    }
    read = model.model_validate(user, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)

    # Then nothing is lost
    dumped = read.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    assert set(dumped) == set(user)
    assert dumped["name"] == user["name"] and dumped["emails"] == user["emails"]


@pytest.mark.parametrize(
    "found",
    [
        lambda: discovery.resource_type("Group", BASE),
        lambda: discovery.resource_type("user", BASE),  # ids are compared exactly
        lambda: discovery.resource_type("", BASE),
        lambda: discovery.resource_type("User/", BASE),
        lambda: discovery.schema("urn:ietf:params:scim:schemas:core:2.0:Group", BASE),
        lambda: discovery.schema(USER_SCHEMA.upper(), BASE),  # a URI: no case folding
        lambda: discovery.schema("User", BASE),
    ],
    ids=["Group", "user", "empty", "User/", "group schema", "upper-case urn", "schema by name"],
)
def test_an_unknown_id_finds_nothing(found: Any):
    assert found() is None


def test_each_document_returned_is_the_callers_own_copy():
    # Given documents a caller changed, deep inside too
    config = discovery.service_provider_config(BASE)
    config["patch"]["supported"] = False
    config["meta"]["location"] = "elsewhere"
    schema = user_schema()
    schema["attributes"].clear()
    discovery.resource_types(BASE)[0]["name"] = "Changed"

    # Then the next ones are as published, and located where asked
    assert discovery.service_provider_config(BASE)["patch"] == {"supported": True}
    assert user_schema()["attributes"]
    assert discovery.resource_types(BASE)[0]["name"] == "User"
    other = "https://other.example.com/scim/v2"
    assert discovery.service_provider_config(other)["meta"]["location"] == f"{other}/ServiceProviderConfig"


def test_a_list_response_is_the_rfc_7644_message():
    # Given the served schemas as a ListResponse
    body = discovery.list_response(discovery.schemas(BASE))

    # Then it is one page holding them all, read by scim2-models as a search response
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert (body["totalResults"], body["startIndex"], body["itemsPerPage"]) == (1, 1, 1)
    read = ListResponse[Schema].model_validate(body, scim_ctx=Context.SEARCH_RESPONSE)
    assert read.resources and read.resources[0].id == USER_SCHEMA


def test_a_list_response_can_be_one_page_of_more():
    body = discovery.list_response([{"id": "a"}, {"id": "b"}], total=7, start_index=3)
    assert (body["totalResults"], body["startIndex"], body["itemsPerPage"]) == (7, 3, 2)
    empty = discovery.list_response([])
    assert (empty["totalResults"], empty["itemsPerPage"], empty["Resources"]) == (0, 0, [])


def test_serving_the_documents_imports_neither_scim2_models_nor_pydantic():
    # Given a fresh interpreter, the layer on its path as in Lambda
    code = (
        "import sys, partner_api.scim.discovery as d; d.schemas('https://x/scim/v2'); "
        "print('scim2_models' in sys.modules, 'pydantic' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "layers" / "shared")}
    ran = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)

    # Then neither was imported
    assert ran.stdout.split() == ["False", "False"]
