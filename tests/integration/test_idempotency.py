"""Idempotency-Key on POST routes (API.md section 1)."""

from __future__ import annotations

import threading

import pytest
from aws_lambda_powertools.event_handler import Response

from tests.conftest import Tenant
from tests.support.apigw import Api
from tests.support.clients import CLIENTS, assert_error

BODY = {"name": "Ada Lovelace", "email": "ada@example.com"}


def total(api: Api, tenant: Tenant) -> int:
    return int(api.call("GET", CLIENTS, token=tenant.token).body["data"]["pagination"]["total"])


def test_a_retry_with_the_same_key_and_body_replays_the_first_response(api: Api, tenant: Tenant):
    # Given a registration sent twice with one Idempotency-Key
    key = {"Idempotency-Key": "register-ada-1"}
    first = api.call("POST", CLIENTS, token=tenant.token, json_body=BODY, headers=key)
    second = api.call("POST", CLIENTS, token=tenant.token, json_body=BODY, headers=key)

    # Then the second is the first's status and body, marked replayed, with its own request id
    assert first.status == second.status == 201, (first.text, second.text)
    assert second.body == first.body
    assert first.header("Idempotent-Replayed") is None
    assert second.header("Idempotent-Replayed") == "true"
    assert second.header("x-request-id") and second.header("x-request-id") != first.header("x-request-id")
    # And one client exists
    assert total(api, tenant) == 1


def test_the_same_key_with_another_body_is_idempotency_key_reused(api: Api, tenant: Tenant):
    key = {"Idempotency-Key": "register-ada-2"}
    api.call("POST", CLIENTS, token=tenant.token, json_body=BODY, headers=key)

    reply = api.call("POST", CLIENTS, token=tenant.token, json_body={**BODY, "name": "Ada L."}, headers=key)

    assert_error(reply, 422, "IDEMPOTENCY_KEY_REUSED")
    assert total(api, tenant) == 1


def test_a_failed_request_is_not_kept_so_its_retry_runs_again(api: Api, tenant: Tenant):
    key = {"Idempotency-Key": "register-ada-3"}
    failed = api.call("POST", CLIENTS, token=tenant.token, json_body={"name": "No Email"}, headers=key)
    fixed = api.call("POST", CLIENTS, token=tenant.token, json_body={"name": "No Email"}, headers=key)

    assert_error(failed, 400, "MISSING_REQUIRED_PARAMS")
    assert_error(fixed, 400, "MISSING_REQUIRED_PARAMS")
    assert fixed.header("Idempotent-Replayed") is None


def test_keys_are_scoped_to_the_calling_credential(api: Api, tenant: Tenant, other_tenant: Tenant):
    # Given two tenants using the same key string for different requests
    key = {"Idempotency-Key": "shared-key"}
    mine = api.call("POST", CLIENTS, token=tenant.token, json_body=BODY, headers=key)
    theirs = api.call("POST", CLIENTS, token=other_tenant.token, json_body=BODY, headers=key)

    # Then neither replays the other's response
    assert mine.status == theirs.status == 201
    assert theirs.header("Idempotent-Replayed") is None
    assert theirs.body["data"]["clientId"] != mine.body["data"]["clientId"]


def test_the_same_key_on_another_route_is_reused_not_replayed(api: Api, tenant: Tenant):
    # Given a key used for a registration
    key = {"Idempotency-Key": "one-key-two-routes"}
    first = api.call("POST", CLIENTS, token=tenant.token, json_body=BODY, headers=key)

    # When the same key and the same body go to another route (the legacy registration)
    reply = api.call("POST", "/partner/v1/register-user", token=tenant.token, json_body=BODY, headers=key)

    # Then it is a reuse, not the first route's answer replayed, and nothing more is written
    assert first.status == 201
    assert_error(reply, 422, "IDEMPOTENCY_KEY_REUSED")
    assert total(api, tenant) == 1


def test_an_empty_key_is_invalid(api: Api, tenant: Tenant):
    reply = api.call("POST", CLIENTS, token=tenant.token, json_body=BODY, headers={"Idempotency-Key": ""})

    assert_error(reply, 400, "INVALID_PARAMETER", field="Idempotency-Key")
    assert total(api, tenant) == 0


def test_a_key_over_255_characters_is_invalid(api: Api, tenant: Tenant):
    reply = api.call(
        "POST", CLIENTS, token=tenant.token, json_body=BODY, headers={"Idempotency-Key": "k" * 256}
    )

    assert_error(reply, 400, "INVALID_PARAMETER", field="Idempotency-Key")
    assert total(api, tenant) == 0


def test_a_second_request_while_the_first_runs_is_idempotency_key_in_use(stack, tenant: Tenant):
    # Given a first request that is still running (the route blocks until released)
    from partner_api.errors import IdempotencyKeyInUse
    from partner_api.http import idempotency

    started, release = threading.Event(), threading.Event()

    def slow() -> Response[str]:
        started.set()
        release.wait(10)
        return Response(201, "application/json", '{"success":true}')

    first: list[Response[str]] = []
    worker = threading.Thread(target=lambda: first.append(idempotency.once("cred", "k", b"{}", None, slow)))
    worker.start()
    assert started.wait(10)

    # When the same key arrives meanwhile, Then it is refused as in use
    with pytest.raises(IdempotencyKeyInUse):
        idempotency.once("cred", "k", b"{}", None, slow)
    release.set()
    worker.join(10)
    assert first[0].status_code == 201


def test_operator_posts_are_idempotent_too(api: Api, operator_token: str):
    key = {"Idempotency-Key": "create-partner-1"}
    first = api.call(
        "POST", "/admin/v1/partners", token=operator_token, json_body={"name": "Once"}, headers=key
    )
    second = api.call(
        "POST", "/admin/v1/partners", token=operator_token, json_body={"name": "Once"}, headers=key
    )

    assert first.status == second.status == 201
    assert second.body == first.body  # the same partner and the same one-time secret
    listed = api.call("GET", "/admin/v1/partners", token=operator_token, query={"q": "once"})
    assert listed.body["data"]["pagination"]["total"] == 1


def test_sub_partner_account_and_account_client_posts_replay_once(api: Api, tenant: Tenant):
    # Given each new POST route sent twice with one key
    def twice(path: str, body: dict[str, object], key: str) -> dict[str, object]:
        headers = {"Idempotency-Key": key}
        first = api.call("POST", path, token=tenant.token, json_body=body, headers=headers)
        second = api.call("POST", path, token=tenant.token, json_body=body, headers=headers)
        # Then the second replays the first: same status and body, nothing created twice
        assert first.status == second.status == 201, (first.text, second.text)
        assert second.body == first.body and second.header("Idempotent-Replayed") == "true"
        return dict(first.body["data"])

    twice("/partner/v1/partners", {"name": "West"}, "sub-1")
    account = twice("/partner/v1/accounts", {"name": "Retail", "countryCode": "US"}, "account-1")
    twice(f"/partner/v1/accounts/{account['accountId']}/clients", BODY, "account-client-1")

    children = api.call("GET", "/partner/v1/partners", token=tenant.token).body["data"]
    accounts = api.call("GET", "/partner/v1/accounts", token=tenant.token).body["data"]
    assert (children["pagination"]["total"], accounts["pagination"]["total"], total(api, tenant)) == (1, 1, 1)
    again = api.call("GET", f"/partner/v1/accounts/{account['accountId']}", token=tenant.token)
    assert again.body["data"]["usage"] == {"SEATS": 1}
