"""Fixtures: a moto stack built from template.yaml, and tenants/tokens created through the API."""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from local import dynamodb
from local.stack import Stack, provision
from tests.support.apigw import Api


def _forget_container_state() -> None:
    """What a fresh Lambda container would not have: cached settings, clients, keys, statuses."""
    from partner_api.auth import directories, signing, tokens
    from partner_api.config import settings
    from partner_api.store import aws, cursors

    settings.cache_clear()
    aws.reset_clients()
    signing.forget_key()
    cursors.forget_key()
    tokens.forget_standing()
    directories.forget_cached()


@functools.cache
def shared_session() -> Any:
    """One boto3 session for the test process, so each service model loads once, not per test."""
    import boto3

    # moto hooks botocore through a handler copied into each new session: import moto first.
    import moto  # noqa: F401

    return boto3.session.Session()


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """Every table, key and secret of template.yaml in moto, and the functions' environment."""
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    dynamodb.apply()
    # The handlers' clients (a fresh "container" per test) come from the shared session too.
    monkeypatch.setattr("boto3._get_default_session", shared_session)
    with mock_aws():
        # Webhooks may target a local receiver, and retries come back at once (the schedule is
        # asserted where it matters, not waited for).
        built = provision(
            "test",
            parameters={"AllowLoopbackWebhooks": "true", "WebhookRetrySchedule": "0,0,0,0,0,0,0"},
            session=shared_session(),
        )
        for name, value in built.environment().items():
            monkeypatch.setenv(name, value)
        _forget_container_state()
        yield built
    _forget_container_state()


@pytest.fixture
def api(stack: Stack) -> Api:
    return Api()


@dataclass
class Credential:
    client_id: str
    secret: str

    def basic(self) -> str:
        return "Basic " + base64.b64encode(f"{self.client_id}:{self.secret}".encode()).decode()


@dataclass
class Tenant:
    partner_id: str
    credential: Credential
    token: str
    partner: dict[str, Any]


def token_for(api: Api, credential: Credential, scope: str | None = None) -> str:
    form = {
        "grant_type": "client_credentials",
        "client_id": credential.client_id,
        "client_secret": credential.secret,
    }
    if scope is not None:
        form["scope"] = scope
    reply = api.call("POST", "/oauth/token", form=form)
    assert reply.status == 200, reply.text
    return str(reply.body["access_token"])


@pytest.fixture
def operator(stack: Stack) -> Credential:
    from partner_api.logic.credentials import issue_operator_credential

    return Credential(*issue_operator_credential("test operator"))


@pytest.fixture
def operator_token(api: Api, operator: Credential) -> str:
    return token_for(api, operator)


@pytest.fixture
def new_tenant(api: Api, operator_token: str):  # type: ignore[no-untyped-def]
    """Create a root partner through the operator API; returns its credential and a token."""

    def create(name: str = "Acme Partner", **fields: Any) -> Tenant:
        reply = api.call(
            "POST", "/admin/v1/partners", token=operator_token, json_body={"name": name, **fields}
        )
        assert reply.status == 201, reply.text
        data = reply.body["data"]
        credential = Credential(data["credential"]["clientId"], data["credential"]["clientSecret"])
        token = token_for(api, credential) if data["partner"]["status"] == "active" else ""
        return Tenant(data["partner"]["partnerId"], credential, token, data["partner"])

    return create


@pytest.fixture
def tenant(new_tenant) -> Tenant:  # type: ignore[no-untyped-def]
    return new_tenant("Acme Partner")  # type: ignore[no-any-return]


@pytest.fixture
def other_tenant(new_tenant) -> Tenant:  # type: ignore[no-untyped-def]
    return new_tenant("Other Partner")  # type: ignore[no-any-return]
