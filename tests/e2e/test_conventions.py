"""API.md section 1 over real HTTP: envelopes, request ids, the request log, ETags, tokens."""

from __future__ import annotations

import uuid
from typing import Any

import requests

from tests.e2e.conftest import (
    UUID_RE,
    LocalServer,
    Partner,
    assert_error,
    assert_success,
    call,
    get_token,
    unique_email,
)

CLIENTS = "/partner/v1/clients"
NOT_FOUND_MESSAGE = "No such route."


def register(server: LocalServer, token: str, email: str | None = None) -> dict[str, Any]:
    body = {"name": "Conventions Client", "email": email or unique_email("conv")}
    return assert_success(  # type: ignore[no-any-return]
        call(server, "POST", CLIENTS, token, json=body), 201, "Client registered successfully."
    )


# ----------------------------------------------------------------------------- error envelope


def test_missing_field_is_400_with_details(server: LocalServer, token: str) -> None:
    # When a client is registered without its e-mail
    reply = call(server, "POST", CLIENTS, token, json={"name": "No Mail"})

    # Then it is a validation error naming the field
    body = assert_error(reply, 400, "MISSING_REQUIRED_PARAMS")
    assert body["details"] == [{"field": "email", "issue": "required"}]


def test_unknown_field_and_bad_format_are_400_invalid_parameter_with_details(
    server: LocalServer, token: str
) -> None:
    # When a body has an unknown field, and another a malformed e-mail
    unknown = call(server, "POST", CLIENTS, token, json={"name": "X", "email": unique_email(), "foo": 1})
    malformed = call(server, "POST", CLIENTS, token, json={"name": "X", "email": "not-an-email"})

    # Then both are INVALID_PARAMETER, one detail per offending field
    unknown_body = assert_error(unknown, 400, "INVALID_PARAMETER")
    assert [d["field"] for d in unknown_body["details"]] == ["foo"]
    malformed_body = assert_error(malformed, 400, "INVALID_PARAMETER")
    assert [d["field"] for d in malformed_body["details"]] == ["email"]


def test_invalid_json_is_400(server: LocalServer, token: str) -> None:
    reply = call(
        server, "POST", CLIENTS, token, data="{not json", headers={"Content-Type": "application/json"}
    )
    body = assert_error(reply, 400, "INVALID_JSON")
    assert "details" not in body


def test_no_authorization_header_is_401(server: LocalServer) -> None:
    # When the clients list is called without a token
    reply = call(server, "GET", CLIENTS)

    # Then the envelope says so
    assert_error(reply, 401, "NO_AUTHORIZATION_HEADER")


def test_garbage_token_is_401_invalid_access_token(server: LocalServer) -> None:
    reply = call(server, "GET", CLIENTS, "not.a.jwt")
    assert_error(reply, 401, "INVALID_ACCESS_TOKEN")


def test_unknown_client_is_404_client_not_found(server: LocalServer, token: str) -> None:
    reply = call(server, "GET", f"{CLIENTS}/{uuid.uuid4()}", token)
    assert_error(reply, 404, "CLIENT_NOT_FOUND")


def test_unknown_route_is_the_gateway_404_envelope(server: LocalServer, token: str) -> None:
    # When a path no route declares is called, with or without a token
    anonymous = call(server, "GET", "/partner/v1/no-such-thing")
    with_token = call(server, "POST", "/nowhere/at/all", token, json={})

    # Then both get the template's Gateway Response: NOT_FOUND in the API's envelope
    for reply in (anonymous, with_token):
        body = assert_error(reply, 404, "NOT_FOUND")
        assert body["message"] == NOT_FOUND_MESSAGE
        assert UUID_RE.match(body["requestId"])
    assert anonymous.json()["requestId"] != with_token.json()["requestId"]


def test_wrong_method_on_a_known_path_is_405_with_the_paths_methods(server: LocalServer, token: str) -> None:
    # Given paths that exist for other methods
    client = register(server, token)
    one = f"{CLIENTS}/{client['clientId']}"

    # When they are called with a method no route of theirs declares
    replies = {
        ("PUT", CLIENTS): call(server, "PUT", CLIENTS, token, json={}),
        ("DELETE", CLIENTS): call(
            server, "DELETE", CLIENTS, token, headers={"x-request-id": "delete-all-405"}
        ),
        ("POST", one): call(server, "POST", one, token, json={}),
        ("DELETE", "/health"): call(server, "DELETE", "/health"),
    }

    # Then each is 405 METHOD_NOT_ALLOWED in the envelope, Allow naming the methods the path has
    allowed = {CLIENTS: "GET, POST", one: "DELETE, GET, PATCH", "/health": "GET"}
    for (method, path), reply in replies.items():
        body = assert_error(reply, 405, "METHOD_NOT_ALLOWED")
        assert body["message"] == f"Method {method} is not allowed on this resource."
        assert reply.headers["Allow"] == allowed[path], (method, path)
        assert UUID_RE.match(body["requestId"]) or body["requestId"] == "delete-all-405"
    assert replies[("DELETE", CLIENTS)].headers["x-request-id"] == "delete-all-405"
    # and the path's own methods still reach their functions, with nothing changed by the others
    got = call(server, "GET", one, token)
    assert assert_success(got, 200, "Client retrieved successfully.") == client
    listed = call(server, "GET", CLIENTS, token, params={"q": client["email"]})
    assert [
        c["clientId"] for c in assert_success(listed, 200, "Clients retrieved successfully.")["clients"]
    ] == [client["clientId"]]


def test_unknown_path_stays_the_gateway_404_whatever_the_method(server: LocalServer, token: str) -> None:
    # When paths no route declares are called with methods that other paths have
    replies = [
        call(server, "PUT", "/partner/v1/no-such-thing", token, json={}),
        call(server, "DELETE", f"{CLIENTS}/{uuid.uuid4()}/nested", token),
        call(server, "GET", "/partner/v1"),
    ]

    # Then API Gateway's missing-route answer comes back, in the envelope, without Allow
    for reply in replies:
        body = assert_error(reply, 404, "NOT_FOUND")
        assert body["message"] == NOT_FOUND_MESSAGE
        assert "Allow" not in reply.headers


def test_body_over_64_kib_is_413(server: LocalServer, token: str) -> None:
    # Given a well-formed registration padded past 64 KiB
    email = unique_email("big")
    body = {"name": "Big Body", "email": email, "metadata": {"padding": "x" * (64 * 1024)}}

    # When it is posted
    reply = call(server, "POST", CLIENTS, token, json=body)

    # Then it is refused as too large and nothing is stored
    assert_error(reply, 413, "PAYLOAD_TOO_LARGE")
    listed = assert_success(
        call(server, "GET", CLIENTS, token, params={"q": email}), 200, "Clients retrieved successfully."
    )
    assert listed["clients"] == []


def test_duplicate_email_is_409_case_insensitively(server: LocalServer, token: str) -> None:
    # Given a registered client
    email = unique_email("dup")
    register(server, token, email)

    # When the same address is registered again, differently cased
    reply = call(server, "POST", CLIENTS, token, json={"name": "Copy", "email": email.upper()})

    # Then it is a conflict on the email field
    body = assert_error(reply, 409, "CLIENT_ALREADY_EXISTS")
    assert body["details"] == [{"field": "email", "issue": "already registered"}]
    listed = assert_success(
        call(server, "GET", CLIENTS, token, params={"q": email}), 200, "Clients retrieved successfully."
    )
    assert listed["pagination"]["total"] == 1


# ----------------------------------------------------------------------------- request ids and the log


def test_given_request_id_is_echoed_in_header_body_and_log(server: LocalServer) -> None:
    # Given a caller-chosen request id of the maximum length
    request_id = "e2e-" + uuid.uuid4().hex + "-" + "r" * (128 - 37)
    assert len(request_id) == 128

    # When an unauthenticated request carries it
    reply = call(server, "GET", f"{CLIENTS}?limit=5", headers={"x-request-id": request_id})

    # Then the header and the error body echo it
    body = assert_error(reply, 401, "NO_AUTHORIZATION_HEADER")
    assert reply.headers["x-request-id"] == request_id
    assert body["requestId"] == request_id
    # and the request log has exactly one line for it: method, path with query, status, id
    lines = server.log_lines_for(request_id)
    assert len(lines) == 1, server.stderr()
    method, path, status, duration, logged_id = lines[0].split(" ")
    assert (method, path, status, logged_id) == ("GET", f"{CLIENTS}?limit=5", "401", request_id)
    assert duration.endswith("ms") and duration[:-2].isdigit()


def test_given_request_id_is_echoed_on_success(server: LocalServer, token: str) -> None:
    request_id = f"trace-{uuid.uuid4()}"
    reply = call(server, "GET", CLIENTS, token, headers={"x-request-id": request_id})
    assert_success(reply, 200, "Clients retrieved successfully.")
    assert reply.headers["x-request-id"] == request_id
    lines = server.log_lines_for(request_id)
    assert [line.split(" ")[:3] for line in lines] == [["GET", CLIENTS, "200"]], server.stderr()


def test_overlong_request_id_is_replaced_by_a_generated_one(server: LocalServer, token: str) -> None:
    # When the offered id is longer than 128 characters
    offered = "x" * 129
    reply = call(server, "GET", f"{CLIENTS}/{uuid.uuid4()}", token, headers={"x-request-id": offered})

    # Then the server uses one of its own instead
    body = assert_error(reply, 404, "CLIENT_NOT_FOUND")
    assert reply.headers["x-request-id"] != offered
    assert UUID_RE.match(body["requestId"])


def test_without_request_id_each_response_gets_its_own(server: LocalServer, token: str) -> None:
    # When two identical requests carry no x-request-id
    first = call(server, "GET", f"{CLIENTS}/{uuid.uuid4()}", token)
    second = call(server, "GET", f"{CLIENTS}/{uuid.uuid4()}", token)

    # Then each has a generated id, different from the other, matching its body
    ids = [assert_error(reply, 404, "CLIENT_NOT_FOUND")["requestId"] for reply in (first, second)]
    assert all(UUID_RE.match(i) for i in ids)
    assert ids[0] != ids[1]
    assert [first.headers["x-request-id"], second.headers["x-request-id"]] == ids
    # and each appears in its own log line
    for reply, request_id in zip((first, second), ids, strict=True):
        lines = server.log_lines_for(request_id)
        assert len(lines) == 1, server.stderr()
        assert lines[0].split(" ")[:3] == ["GET", reply.request.path_url, "404"]


def test_gateway_404_is_logged_with_its_request_id(server: LocalServer) -> None:
    reply = call(server, "GET", "/definitely/missing?x=1")
    body = assert_error(reply, 404, "NOT_FOUND")
    lines = server.log_lines_for(body["requestId"])
    assert [line.split(" ")[:3] for line in lines] == [["GET", "/definitely/missing?x=1", "404"]]


# ----------------------------------------------------------------------------- ETag and If-Match


def test_stale_if_match_is_412_and_current_one_updates(server: LocalServer, token: str) -> None:
    # Given a client read with its ETag
    client = register(server, token)
    path = f"{CLIENTS}/{client['clientId']}"
    read = call(server, "GET", path, token)
    assert_success(read, 200, "Client retrieved successfully.")
    etag = read.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2

    # When it is updated with that ETag
    updated = call(server, "PATCH", path, token, json={"name": "First Edit"}, headers={"If-Match": etag})

    # Then the update lands and the ETag changes
    assert assert_success(updated, 200, "Client updated successfully.")["name"] == "First Edit"
    new_etag = updated.headers["ETag"]
    assert new_etag != etag
    assert call(server, "GET", path, token).headers["ETag"] == new_etag

    # When the old ETag is offered again, on PATCH and on DELETE
    stale_patch = call(server, "PATCH", path, token, json={"name": "Lost"}, headers={"If-Match": etag})
    stale_delete = call(server, "DELETE", path, token, headers={"If-Match": etag})

    # Then both fail the precondition and the stored client is unchanged
    assert_error(stale_patch, 412, "PRECONDITION_FAILED")
    assert_error(stale_delete, 412, "PRECONDITION_FAILED")
    after = assert_success(call(server, "GET", path, token), 200, "Client retrieved successfully.")
    assert (after["name"], after["status"]) == ("First Edit", "active")


# ----------------------------------------------------------------------------- tokens


def test_token_by_form_fields_and_by_basic_both_work(server: LocalServer) -> None:
    # When the demo credential gets a token each documented way
    by_form = requests.post(
        server.url("/oauth/token"),
        data={
            "grant_type": "client_credentials",
            "client_id": server.demo_client_id,
            "client_secret": server.demo_client_secret,
        },
        timeout=10,
    )
    by_basic = requests.post(
        server.url("/oauth/token"),
        data={"grant_type": "client_credentials"},
        auth=(server.demo_client_id, server.demo_client_secret),
        timeout=10,
    )

    # Then both are bearer tokens with every partner scope that open the clients routes
    for reply in (by_form, by_basic):
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600)
        assert set(body["scope"].split(" ")) >= {"clients:read", "clients:write"}
        listed = call(server, "GET", CLIENTS, body["access_token"])
        assert_success(listed, 200, "Clients retrieved successfully.")


def test_wrong_secret_is_401_invalid_client(server: LocalServer) -> None:
    reply = requests.post(
        server.url("/oauth/token"),
        data={"grant_type": "client_credentials"},
        auth=(server.demo_client_id, "wrong-secret"),
        timeout=10,
    )
    assert reply.status_code == 401, reply.text
    assert reply.json()["error"] == "invalid_client"


def test_operator_creates_a_root_partner_whose_credential_gets_a_token(
    server: LocalServer, operator_token: str, token: str
) -> None:
    # Given the operator credential printed by the runner (fixed by the fixture's env vars)
    assert operator_token

    # When it creates a root partner
    reply = call(server, "POST", "/admin/v1/partners", operator_token, json={"name": "Operator Made"})

    # Then the partner and its first credential come back
    data = assert_success(reply, 201, "Partner created successfully.")
    assert data["partner"]["name"] == "Operator Made"
    assert data["partner"]["status"] == "active"
    assert UUID_RE.match(data["partner"]["partnerId"])
    credential = data["credential"]
    assert UUID_RE.match(credential["clientId"]) and credential["clientSecret"]
    # and that credential gets a token that works on the clients routes of an empty tenant
    partner_token = get_token(
        server.base_url, credential["clientId"], credential["clientSecret"], basic=False
    )
    listed = assert_success(
        call(server, "GET", CLIENTS, partner_token), 200, "Clients retrieved successfully."
    )
    assert listed == {"clients": [], "pagination": {"limit": 20, "offset": 0, "total": 0, "hasMore": False}}
    # and the operator can read it back
    got = call(server, "GET", f"/admin/v1/partners/{data['partner']['partnerId']}", operator_token)
    assert got.status_code == 200, got.text
    assert got.json()["data"]["partnerId"] == data["partner"]["partnerId"]
    # while a partner token cannot use the operator API
    assert_error(
        call(server, "POST", "/admin/v1/partners", token, json={"name": "Nope"}), 403, "MISSING_SCOPES"
    )


def test_tenants_do_not_see_each_other(server: LocalServer, token: str, new_partner: Any) -> None:
    # Given a client of the demo partner and another, empty tenant
    client = register(server, token)
    other: Partner = new_partner("Isolated Partner")

    # When the other tenant asks for that client
    reply = call(server, "GET", f"{CLIENTS}/{client['clientId']}", other.token)

    # Then it does not exist for them
    assert_error(reply, 404, "CLIENT_NOT_FOUND")
