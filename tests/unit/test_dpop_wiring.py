"""The pure parts around DPoP proof checking: server nonces, reading DPoP headers from an event,
and how a DPoP refusal becomes HTTP."""

from __future__ import annotations

import pytest

from partner_api.auth import nonces
from partner_api.errors import InvalidDpopProof, OAuthError
from partner_api.http import errors
from partner_api.http.api import auth_request
from tests.support.apigw import event

ALGS = 'algs="ES256 RS256 PS256 EdDSA"'
T = 1_700_000_100.0  # 100 s into a 300 s window


@pytest.fixture(autouse=True)
def nonce_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nonces.cursors, "derived_key", lambda purpose: b"k" * 32 + purpose.encode())


def test_a_nonce_is_accepted_in_its_window_and_the_next_only():
    nonce = nonces.current(T)
    assert nonces.accepts(nonce, T)
    assert nonces.accepts(nonce, T + nonces.WINDOW_SECONDS)  # the next window: still fine
    assert not nonces.accepts(nonce, T + 2 * nonces.WINDOW_SECONDS)  # stale
    assert not nonces.accepts(nonce, T - nonces.WINDOW_SECONDS)  # not yet issued
    assert not nonces.accepts(None, T) and not nonces.accepts("", T) and not nonces.accepts("x", T)


def test_nonces_change_with_the_window_and_with_the_key(monkeypatch: pytest.MonkeyPatch):
    first = nonces.current(T)
    assert nonces.current(T + nonces.WINDOW_SECONDS) != first
    monkeypatch.setattr(nonces.cursors, "derived_key", lambda purpose: b"other key")
    assert nonces.current(T) != first


def test_the_auth_request_has_method_public_url_authorization_and_every_dpop_value(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("TENANTS_TABLE", "t")
    monkeypatch.setenv("USERS_TABLE", "u")
    monkeypatch.setenv("EVENTS_TABLE", "e")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://api.example.com/v2/")
    from partner_api.config import settings

    settings.cache_clear()
    try:
        evt = event(
            "get",
            "/partner/v1/clients",
            query={"limit": "5"},
            headers={"authorization": "DPoP t", "DPoP": "a"},
        )
        evt["multiValueHeaders"]["dpop"] = ["b, c", " "]  # another spelling, a folded pair, an empty one
        request = auth_request(evt)
        alone = auth_request(event("GET", "/x", headers={"DPoP": "only"}) | {"multiValueHeaders": None})
    finally:
        settings.cache_clear()

    assert (request.method, request.url, request.authorization) == (
        "GET",
        "https://api.example.com/v2/partner/v1/clients",
        "DPoP t",
    )
    assert request.dpop == ("a", "b", "c")
    assert alone.dpop == ("only",)


@pytest.mark.parametrize(
    ("error", "challenge"),
    [
        (InvalidDpopProof(), f'DPoP error="invalid_dpop_proof", {ALGS}'),
        (InvalidDpopProof(error="invalid_token"), f'DPoP error="invalid_token", {ALGS}'),
        (InvalidDpopProof(nonce="n0nce"), f'DPoP error="use_dpop_nonce", {ALGS}'),
    ],
)
def test_a_dpop_refusal_is_401_invalid_dpop_proof_with_its_challenge(error: InvalidDpopProof, challenge: str):
    status, body, headers = errors.envelope_error(error, "req-1")
    assert status == 401 and body["code"] == "INVALID_DPOP_PROOF"
    assert headers["WWW-Authenticate"] == challenge
    assert headers.get("DPoP-Nonce") == error.nonce


def test_the_token_endpoints_nonce_refusal_carries_the_nonce():
    status, body, headers = errors.oauth_error(OAuthError("use_dpop_nonce", "Use the nonce.", nonce="n0nce"))
    assert (status, body, headers) == (
        400,
        {"error": "use_dpop_nonce", "error_description": "Use the nonce."},
        {"DPoP-Nonce": "n0nce"},
    )
