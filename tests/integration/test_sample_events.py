"""The sample events in events/ (one per function, for `sam local invoke -e`) run through their handlers.

Each file is used as written, except for its placeholders: ``REPLACE_WITH_ACCESS_TOKEN`` becomes a
token issued by running events/oauth-issue_token.json itself (so the token's issuer is the sample's API
Gateway domain), ``REPLACE_WITH_CLIENT_ID``/``REPLACE_WITH_CLIENT_SECRET`` a real credential, and the
sample client and partner ids the ids of a client and a partner that exist.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest

from local import template as tpl
from partner_api.auth.principal import OPERATOR_SCOPES, PARTNER_SCOPES
from tests.conftest import Credential, Tenant
from tests.support.apigw import Api, Reply, run

EVENTS = tpl.ROOT / "events"
EVENT_NAMES = sorted(p.stem for p in EVENTS.glob("*.json"))
TOKEN_PLACEHOLDER = "REPLACE_WITH_ACCESS_TOKEN"
# The ids the sample events use for "an existing client" and "an existing root partner".
SAMPLE_CLIENT_ID = "0b9e2c1a-5d3f-4e8a-9c7b-2f6d1e0a4b38"
SAMPLE_PARTNER_ID = "6f2a8c4e-1b3d-4a5f-8e7c-9d0b2a4c6e81"
PUBLIC = {"oauth-issue_token", "oauth-jwks", "oauth-server_metadata", "system-health"}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def event_name(route: tpl.FunctionRoute) -> str:
    """``<CodeUri folder>-<handler module>``, e.g. ``clients-register``."""
    return f"{Path(route.code_uri.rstrip('/')).name}-{route.handler.rsplit('.', 1)[0]}"


ROUTES = {event_name(r): r for r in tpl.routes()}


def handler_module(route: tpl.FunctionRoute) -> str:
    """Load the function's handler file as Lambda (and `sam local invoke`) does, from its CodeUri,
    and return the name it is registered under."""
    name = f"sample_events.{route.logical_id}"
    if name not in sys.modules:
        path = tpl.ROOT / route.code_uri / f"{route.handler.rsplit('.', 1)[0]}.py"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader, path
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return name


def raw_event(name: str) -> dict[str, Any]:
    return dict(json.loads((EVENTS / f"{name}.json").read_text()))


def sample_event(name: str, substitutions: dict[str, str]) -> dict[str, Any]:
    """The file with its placeholders replaced, and nothing else changed."""
    text = (EVENTS / f"{name}.json").read_text()
    for placeholder, value in substitutions.items():
        text = text.replace(placeholder, value)
    assert "REPLACE_WITH" not in text, f"{name}: a placeholder was left unsubstituted"
    return dict(json.loads(text))


def issuer() -> str:
    """The token issuer the samples imply: the API Gateway URL they were called on."""
    context = raw_event("oauth-issue_token")["requestContext"]
    return f"https://{context['domainName']}/{context['stage']}"


def sample_token(credential: Credential) -> str:
    """A token issued by running events/oauth-issue_token.json with ``credential``."""
    evt = sample_event(
        "oauth-issue_token",
        {"REPLACE_WITH_CLIENT_ID": credential.client_id, "REPLACE_WITH_CLIENT_SECRET": credential.secret},
    )
    reply = run(handler_module(ROUTES["oauth-issue_token"]), evt)
    assert reply.status == 200, reply.text
    return str(reply.body["access_token"])


# --- Given: the files themselves ------------------------------------------------------------------


def test_every_function_has_exactly_one_sample_event_and_every_event_a_function():
    # Given the template's functions and the files in events/
    functions = [
        logical_id
        for logical_id, resource in tpl.load()["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    ]
    names = [event_name(r) for r in tpl.routes()]

    # Then each function has one route, named uniquely, and the files are exactly those names
    assert sorted(r.logical_id for r in tpl.routes()) == sorted(functions)
    assert len(set(names)) == len(names)
    assert sorted(names) == EVENT_NAMES


@pytest.mark.parametrize("name", EVENT_NAMES)
def test_sample_event_is_a_rest_proxy_event_for_its_route(name: str):
    # Given a sample event and the template route it is named after
    evt, route = raw_event(name), ROUTES[name]
    headers, context = evt["headers"], evt["requestContext"]

    # Then it is what API Gateway would send for that route
    assert evt["httpMethod"] == context["httpMethod"] == route.method
    assert evt["resource"] == context["resourcePath"] == route.path
    assert (route.matches(evt["httpMethod"], evt["path"]) or None) == evt["pathParameters"]
    assert context["path"] == f"/{context['stage']}{evt['path']}"
    assert context["stage"] == "dev"
    assert UUID.match(context["requestId"])
    assert (
        context["domainName"]
        == headers["Host"]
        == raw_event("oauth-issue_token")["requestContext"]["domainName"]
    )
    assert context["identity"]["sourceIp"]
    assert evt["isBase64Encoded"] is False
    assert evt["multiValueHeaders"] == {k: [v] for k, v in headers.items()}
    query = evt["queryStringParameters"]
    assert evt["multiValueQueryStringParameters"] == ({k: [v] for k, v in query.items()} if query else None)
    if name in PUBLIC:
        assert "Authorization" not in headers
    else:
        assert headers["Authorization"] == f"Bearer {TOKEN_PLACEHOLDER}"
    if evt["body"] is None:
        assert "Content-Type" not in headers
    elif name == "oauth-issue_token":
        assert headers["Content-Type"] == "application/x-www-form-urlencoded"
        assert evt["body"] == (
            "grant_type=client_credentials&client_id=REPLACE_WITH_CLIENT_ID"
            "&client_secret=REPLACE_WITH_CLIENT_SECRET"
        )
    else:
        assert headers["Content-Type"] == "application/json"
        assert isinstance(json.loads(evt["body"]), dict)


# --- When: each runs through its handler ----------------------------------------------------------


@dataclass
class World:
    """What the samples' placeholders stand for, created through the API."""

    api: Api
    tenant: Tenant
    operator_token: str  # issued with the API's test domain, for arranging and checking
    client: dict[str, Any]  # an existing client of the tenant (its public shape)

    def get_client(self, client_id: str) -> dict[str, Any]:
        reply = self.api.call("GET", f"/partner/v1/clients/{client_id}", token=self.tenant.token)
        assert reply.status == 200, reply.text
        return dict(reply.body["data"])

    def get_partner(self, partner_id: str) -> dict[str, Any]:
        reply = self.api.call("GET", f"/admin/v1/partners/{partner_id}", token=self.operator_token)
        assert reply.status == 200, reply.text
        return dict(reply.body["data"])


@pytest.fixture
def world(api: Api, tenant: Tenant, operator_token: str) -> World:
    reply = api.call(
        "POST",
        "/partner/v1/clients",
        token=tenant.token,
        json_body={"name": "Existing Client", "email": "existing.client@example.com", "title": "Controller"},
    )
    assert reply.status == 201, reply.text
    return World(api, tenant, operator_token, reply.body["data"])


def envelope(reply: Reply, evt: dict[str, Any], status: int, message: str) -> Any:
    assert reply.status == status, reply.text
    assert reply.header("Content-Type") == "application/json"
    assert reply.header("x-request-id") == evt["requestContext"]["requestId"]
    body = reply.body
    assert set(body) == {"success", "message", "data"}
    assert body["success"] is True
    assert body["message"] == message
    return body["data"]


def sent(evt: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(evt["body"]))


def check_clients_register(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 201, "Client registered successfully.")
    assert {k: data[k] for k in sent(evt)} == sent(evt)
    assert UUID.match(data["clientId"]) and ISO.match(data["registeredAt"])
    assert data["status"] == "active"
    assert data["partnerId"] == world.tenant.partner_id
    assert reply.header("ETag")
    assert world.get_client(data["clientId"]) == data


def check_clients_list(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "Clients retrieved successfully.")
    assert data == {
        "clients": [world.client],
        "pagination": {"limit": 20, "offset": 0, "total": 1, "hasMore": False},
    }


def check_clients_get(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "Client retrieved successfully.")
    assert data == world.client
    assert re.match(r'^"[^"]+"$', reply.header("ETag") or "")


def check_clients_update(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "Client updated successfully.")
    changed = sent(evt)
    assert {k: data[k] for k in changed} == changed
    assert {k: data[k] for k in ("clientId", "name", "email", "status")} == {
        k: world.client[k] for k in ("clientId", "name", "email", "status")
    }
    assert world.get_client(world.client["clientId"]) == data


def check_clients_remove(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "Client removed successfully.")
    assert set(data) == {"clientId", "removedAt"}
    assert data["clientId"] == world.client["clientId"] and ISO.match(data["removedAt"])
    stored = world.get_client(world.client["clientId"])
    assert (stored["status"], stored["removedAt"]) == ("deleted", data["removedAt"])


def as_user(client: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in client.items() if k != "clientId"}
    return {"userId": client["clientId"], **shown}


def check_users_register_user(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 201, "User registered successfully.")
    assert {k: data[k] for k in sent(evt)} == sent(evt)
    assert data["name"] == "Mary Major"  # derived from firstName + lastName
    assert "clientId" not in data and UUID.match(data["userId"])
    assert (data["status"], data["partnerId"]) == ("active", world.tenant.partner_id)
    assert as_user(world.get_client(data["userId"])) == data


def check_users_all_users(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "Users retrieved successfully.")
    assert data == {
        "users": [as_user(world.client)],
        "pagination": {"limit": 10, "offset": 0, "total": 1, "hasMore": False},
    }


def check_users_get_user(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "User retrieved successfully.")
    assert data == as_user(world.client)
    assert reply.header("ETag")


def check_users_update_user(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "User updated successfully.")
    assert data["userId"] == world.client["clientId"]
    assert (data["status"], data["company"]) == ("suspended", "Example Holdings")
    assert as_user(world.get_client(world.client["clientId"])) == data


def check_users_remove_user(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "User removed successfully.")
    assert set(data) == {"userId", "removedAt"}
    assert data["userId"] == world.client["clientId"] and ISO.match(data["removedAt"])
    stored = world.get_client(world.client["clientId"])
    assert (stored["status"], stored["removedAt"]) == ("deleted", data["removedAt"])


def check_oauth_token(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 200, reply.text
    body = reply.body
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600)
    assert body["scope"].split() == list(PARTNER_SCOPES)
    assert reply.header("Cache-Control") == "no-store"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["iss"] == issuer()
    assert claims["sub"] == world.tenant.credential.client_id
    assert claims["tenant_id"] == claims["partner_id"] == world.tenant.partner_id
    assert claims["token_use"] == "partner"


def check_oauth_jwks(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 200, reply.text
    (key,) = reply.body["keys"]
    assert set(key) == {"kid", "kty", "crv", "x", "y", "alg", "use"}
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")
    # The published key verifies a token the token endpoint issued.
    token = sample_token(world.tenant.credential)
    assert jwt.get_unverified_header(token)["kid"] == key["kid"]
    claims = jwt.decode(
        token, jwt.PyJWK(key).key, algorithms=["ES256"], audience="partner-api", issuer=issuer()
    )
    assert claims["sub"] == world.tenant.credential.client_id


def check_oauth_server_metadata(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 200, reply.text
    body = reply.body
    assert body["issuer"] == issuer()
    assert body["token_endpoint"] == f"{issuer()}/oauth/token"
    assert body["jwks_uri"] == f"{issuer()}/.well-known/jwks.json"
    assert "client_credentials" in body["grant_types_supported"]
    assert set(body["scopes_supported"]) == {*OPERATOR_SCOPES, *PARTNER_SCOPES}


def check_system_health(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 200, reply.text
    assert reply.body == {"status": "ok"}


def check_system_base_uris(reply: Reply, evt: dict[str, Any], world: World) -> None:
    assert reply.status == 200, reply.text
    assert reply.body == {"apiAccessPoint": f"{issuer()}/", "webAccessPoint": f"{issuer()}/"}


def check_admin_create_partner(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 201, "Partner created successfully.")
    wanted = sent(evt)
    partner, credential = data["partner"], data["credential"]
    for name in ("name", "reference", "billingId", "domains", "contact"):
        assert partner[name] == wanted[name]
    assert (partner["status"], partner["active"], partner["hasVerificationPhrase"]) == ("active", True, True)
    assert wanted["verificationPhrase"] not in reply.text
    assert UUID.match(credential["clientId"]) and credential["clientSecret"]
    assert credential["scopes"] == list(PARTNER_SCOPES)
    assert world.get_partner(partner["partnerId"]) == partner


def check_admin_list_partners(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "Partners retrieved successfully.")
    assert data == {
        "partners": [world.tenant.partner],
        "pagination": {"limit": 20, "offset": 0, "total": 1, "hasMore": False},
    }


def check_admin_get_partner(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "Partner retrieved successfully.")
    assert data == world.tenant.partner
    assert reply.header("ETag")


def check_admin_update_partner(reply: Reply, evt: dict[str, Any], world: World) -> None:
    data = envelope(reply, evt, 200, "Partner updated successfully.")
    changed = sent(evt)
    assert {k: data[k] for k in changed} == changed
    assert (data["partnerId"], data["reference"]) == (
        world.tenant.partner_id,
        world.tenant.partner["reference"],
    )
    assert world.get_partner(world.tenant.partner_id) == data


CHECKS: dict[str, Callable[[Reply, dict[str, Any], World], None]] = {
    "clients-register": check_clients_register,
    "clients-list": check_clients_list,
    "clients-get": check_clients_get,
    "clients-update": check_clients_update,
    "clients-remove": check_clients_remove,
    "users-register_user": check_users_register_user,
    "users-all_users": check_users_all_users,
    "users-get_user": check_users_get_user,
    "users-update_user": check_users_update_user,
    "users-remove_user": check_users_remove_user,
    "oauth-issue_token": check_oauth_token,
    "oauth-jwks": check_oauth_jwks,
    "oauth-server_metadata": check_oauth_server_metadata,
    "system-health": check_system_health,
    "system-base_uris": check_system_base_uris,
    "admin-create_partner": check_admin_create_partner,
    "admin-list_partners": check_admin_list_partners,
    "admin-get_partner": check_admin_get_partner,
    "admin-update_partner": check_admin_update_partner,
}


def test_every_sample_event_has_a_check():
    assert sorted(CHECKS) == EVENT_NAMES


@pytest.mark.parametrize("name", EVENT_NAMES)
def test_sample_event_runs_through_its_handler(name: str, world: World, operator: Credential):
    # Given the sample with its placeholders standing for a real token, client and partner
    substitutions = {
        SAMPLE_CLIENT_ID: world.client["clientId"],
        SAMPLE_PARTNER_ID: world.tenant.partner_id,
        "REPLACE_WITH_CLIENT_ID": world.tenant.credential.client_id,
        "REPLACE_WITH_CLIENT_SECRET": world.tenant.credential.secret,
    }
    if name not in PUBLIC:
        caller = operator if name.startswith("admin-") else world.tenant.credential
        substitutions[TOKEN_PLACEHOLDER] = sample_token(caller)
    evt = sample_event(name, substitutions)

    # When it runs through the handler its template function names
    reply = run(handler_module(ROUTES[name]), evt)

    # Then it succeeds as documented, with the right body and stored state
    CHECKS[name](reply, evt, world)
