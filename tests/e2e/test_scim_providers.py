"""Provisioning conversations in the shapes Okta and Microsoft Entra ID send, replayed on ``make run``.

Each recording (``tests/e2e/recordings/*.json``, its ``source`` naming the documentation it
follows) is a list of steps: a request (``path`` relative to the directory's SCIM base URL,
``{name}`` placeholders filled from earlier responses' ``capture``) and what must come back:
the status, a subset of the body, attributes that must be absent, the client as the partner
API then shows it, and the audit event the step records (none when ``event`` is left out).
Every run uses a fresh partner, a fresh directory and fresh addresses for the recorded ones,
so the tests can run again and again on one server.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from tests.e2e.conftest import LocalServer, Partner, assert_success, call

RECORDINGS = Path(__file__).with_name("recordings")
PLACEHOLDER = re.compile(r"\{(\w+)\}")
SCIM_MEDIA_TYPE = "application/scim+json"


@dataclass
class Directory:
    partner: Partner
    directory_id: str
    base_url: str
    token: str


@pytest.fixture
def directory(server: LocalServer, new_partner: Callable[[str], Partner]) -> Directory:
    """A directory of a partner with no clients yet."""
    partner = new_partner("SCIM Provider Partner")
    data = assert_success(
        call(server, "POST", "/partner/v1/directories", partner.token, json={"name": "Provider"}),
        201,
        "Directory created successfully.",
    )
    return Directory(partner, data["directoryId"], data["scimBaseUrl"], data["token"])


def fresh_addresses(recording: dict[str, Any]) -> dict[str, str]:
    """A new address for each recorded one, keeping its local part recognisable."""
    fresh = {}
    for recorded in recording["unique_emails"]:
        local, _, domain = recorded.partition("@")
        fresh[recorded] = f"{local}.{uuid.uuid4().hex[:12]}@{domain}"
    return fresh


def filled(value: Any, variables: dict[str, str], addresses: dict[str, str]) -> Any:
    """``value`` with the recorded addresses (plain or percent-encoded) replaced by this run's and
    the ``{name}`` placeholders filled."""
    if isinstance(value, dict):
        return {k: filled(v, variables, addresses) for k, v in value.items()}
    if isinstance(value, list):
        return [filled(v, variables, addresses) for v in value]
    if not isinstance(value, str):
        return value
    for recorded, fresh in addresses.items():
        value = value.replace(recorded, fresh).replace(quote(recorded, safe=""), quote(fresh, safe=""))

    def substitute(match: re.Match[str]) -> str:
        assert match.group(1) in variables, f"{match.group(0)} is not captured by an earlier step"
        return variables[match.group(1)]

    return PLACEHOLDER.sub(substitute, value)


def mismatches(expected: Any, actual: Any, where: str = "body") -> list[str]:
    """Where ``actual`` departs from ``expected``: objects may hold more keys, lists must have the
    same length with each element matching, anything else must be equal."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        found = []
        for key, value in expected.items():
            if key not in actual:
                found.append(f"{where}.{key}: missing")
            else:
                found += mismatches(value, actual[key], f"{where}.{key}")
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: expected {len(expected)} element(s) like {expected!r}, got {actual!r}"]
        return [
            m
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for m in mismatches(e, a, f"{where}[{i}]")
        ]
    return [] if expected == actual else [f"{where}: expected {expected!r}, got {actual!r}"]


def send(directory: Directory, request: dict[str, Any]) -> requests.Response:
    headers = {**request["headers"], "Authorization": f"Bearer {directory.token}"}
    body = None if request["body"] is None else json.dumps(request["body"]).encode()
    return requests.request(
        request["method"], directory.base_url + request["path"], headers=headers, data=body, timeout=15
    )


def replay(server: LocalServer, directory: Directory, name: str) -> tuple[str, list[str | None]]:
    """Play recording ``name`` step by step; returns the user's id and each step's request id."""
    recording = json.loads((RECORDINGS / name).read_text(encoding="utf-8"))
    assert recording["source"], name
    addresses = fresh_addresses(recording)
    variables: dict[str, str] = {}
    request_ids: list[str | None] = []
    for number, step in enumerate(recording["steps"], start=1):
        request = filled(step["request"], variables, addresses)
        reply = send(directory, request)
        label = f"{name} step {number} ({step.get('note', '')}): {request['method']} {request['path']}"
        expect = filled(step["expect"], variables, addresses)

        # Then the status and the body are what the provider expects
        assert reply.status_code == expect["status"], f"{label}\n{reply.status_code} {reply.text}"
        request_ids.append(reply.headers.get("x-request-id"))
        if expect.get("body_subset") is None:
            assert not reply.content, f"{label}: expected no body, got {reply.text}"
        else:
            assert reply.headers["Content-Type"].startswith(SCIM_MEDIA_TYPE), (label, dict(reply.headers))
            body = reply.json()
            problems = mismatches(expect["body_subset"], body)
            problems += [f"body.{key}: present" for key in expect.get("body_absent", []) if key in body]
            assert not problems, f"{label}\n" + "\n".join(problems) + f"\n{json.dumps(body, indent=2)}"
            if reply.status_code == 201:  # RFC 7644 section 3.3: Location is the new resource's URI
                assert reply.headers["Location"] == body["meta"]["location"], (label, dict(reply.headers))
            variables |= {var: str(body[key]) for var, key in step.get("capture", {}).items()}

        # ... and the partner API shows the client as the conversation left it
        if "client" in expect:
            shown = assert_success(
                call(server, "GET", f"/partner/v1/clients/{variables['id']}", directory.partner.token),
                200,
                "Client retrieved successfully.",
            )
            problems = mismatches(expect["client"], shown, "client")
            assert not problems, f"{label}\n" + "\n".join(problems) + f"\n{shown}"
    return variables["id"], request_ids


def assert_audit_trail(
    server: LocalServer, directory: Directory, name: str, user_id: str, request_ids: list[str | None]
) -> None:
    """Each step recorded the event its recording names (or none), with the directory as actor."""
    steps = json.loads((RECORDINGS / name).read_text(encoding="utf-8"))["steps"]
    trail = assert_success(
        call(
            server,
            "GET",
            "/partner/v1/events",
            directory.partner.token,
            params={"resourceId": user_id, "limit": "100"},
        ),
        200,
        "Events retrieved successfully.",
    )["events"]
    actor = {
        "type": "directory",
        "directoryId": directory.directory_id,
        "partnerId": directory.partner.partner_id,
    }
    for event in trail:
        assert event["actor"] == actor, event
        assert event["resource"] == {"type": "client", "id": user_id}, event
    recorded = [(e["requestId"], e["type"]) for e in reversed(trail)]
    expected = [
        (rid, s["expect"]["event"])
        for rid, s in zip(request_ids, steps, strict=True)
        if "event" in s["expect"]
    ]
    assert recorded == expected, f"events (oldest first) {recorded}, expected {expected}"


@pytest.mark.parametrize("name", ["okta_user_lifecycle.json", "entra_user_lifecycle.json"])
def test_a_recorded_provider_conversation_replays(
    server: LocalServer, directory: Directory, name: str
) -> None:
    # Given a fresh directory, when the provider's conversation is replayed step by step,
    # then every answer is the one the provider expects (checked inside replay)
    user_id, request_ids = replay(server, directory, name)

    # ... and the audit trail holds the conversation's changes, made by the directory
    assert_audit_trail(server, directory, name, user_id, request_ids)
