"""DPoP over real HTTP against the local run: a bound token, fresh proofs, a replay refused."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import requests

from tests.e2e.conftest import LocalServer, assert_error, assert_success, unique_email
from tests.support.dpop import Key

CLIENTS = "/partner/v1/clients"
INVALID_PROOF = 'DPoP error="invalid_dpop_proof", algs="ES256 RS256 PS256 EdDSA"'


def dpop_token(server: LocalServer, key: Key) -> str:
    url = server.url("/oauth/token")
    reply = requests.post(
        url,
        data={"grant_type": "client_credentials"},
        auth=(server.demo_client_id, server.demo_client_secret),
        headers={"DPoP": key.proof("POST", url)},
        timeout=15,
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["token_type"] == "DPoP"
    return str(reply.json()["access_token"])


def send(
    server: LocalServer, method: str, path: str, token: str, proof: str, **kwargs: object
) -> requests.Response:
    headers = {"Authorization": f"DPoP {token}", "DPoP": proof}
    return requests.request(method, server.url(path), headers=headers, timeout=15, **kwargs)  # type: ignore[arg-type]


def test_a_dpop_token_works_with_fresh_proofs_and_a_replay_is_refused(server: LocalServer) -> None:
    # Given a token bound to the client's key
    key = Key()
    token = dpop_token(server, key)

    # When three routes are called, each with a fresh proof
    created = send(
        server,
        "POST",
        CLIENTS,
        token,
        key.proof("POST", server.url(CLIENTS), token),
        json={"name": "DPoP Client", "email": unique_email("dpop")},
    )
    client = assert_success(created, 201, "Client registered successfully.")
    one = f"{CLIENTS}/{client['clientId']}"
    read_proof = key.proof("GET", server.url(one), token)
    read = send(server, "GET", one, token, read_proof)
    listed = send(
        server, "GET", CLIENTS, token, key.proof("GET", server.url(CLIENTS), token), params={"limit": "5"}
    )

    # Then each succeeds
    assert assert_success(read, 200, "Client retrieved successfully.")["clientId"] == client["clientId"]
    assert assert_success(listed, 200, "Clients retrieved successfully.")["pagination"]["total"] >= 1

    # And a proof sent again is refused, whichever of the local run's processes serves it
    replay = send(server, "GET", one, token, read_proof)
    assert_error(replay, 401, "INVALID_DPOP_PROOF")
    assert replay.headers["WWW-Authenticate"] == INVALID_PROOF


def test_a_bound_token_without_its_proof_or_with_two_proofs_is_refused(server: LocalServer) -> None:
    key = Key()
    token = dpop_token(server, key)

    # A bearer request without any proof
    bare = requests.get(server.url(CLIENTS), headers={"Authorization": f"Bearer {token}"}, timeout=15)
    assert_error(bare, 401, "INVALID_DPOP_PROOF")
    assert bare.headers["WWW-Authenticate"] == INVALID_PROOF

    # Two DPoP headers, each a valid proof, on one request
    parts = urlsplit(server.base_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=15)
    try:
        connection.putrequest("GET", CLIENTS)
        connection.putheader("Authorization", f"DPoP {token}")
        connection.putheader("DPoP", key.proof("GET", server.url(CLIENTS), token))
        connection.putheader("DPoP", key.proof("GET", server.url(CLIENTS), token))
        connection.endheaders()
        answer = connection.getresponse()
        body = json.loads(answer.read())
    finally:
        connection.close()
    assert answer.status == 401, body
    assert body["code"] == "INVALID_DPOP_PROOF" and "more than one" in body["message"]
    assert answer.getheader("WWW-Authenticate") == INVALID_PROOF
