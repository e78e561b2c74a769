"""DPoP-bound tokens (RFC 9449, API.md section 3) through the real handlers: the token endpoint
binds, every protected route demands a valid proof for a bound token, a proof works once across
every function and container, and the server nonce when it is switched on."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from tests.conftest import Tenant, _forget_container_state
from tests.support.apigw import Api, Reply, event, run
from tests.support.clients import register
from tests.support.dpop import DROP, Key, ath

ISSUER = "https://api.test.local"  # what the test events' domainName makes the public URL
CLIENTS = "/partner/v1/clients"
TOKEN = "/oauth/token"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ALGS = 'algs="ES256 RS256 PS256 EdDSA"'
INVALID_PROOF = f'DPoP error="invalid_dpop_proof", {ALGS}'
INVALID_TOKEN = f'DPoP error="invalid_token", {ALGS}'
USE_NONCE = f'DPoP error="use_dpop_nonce", {ALGS}'


def url(path: str) -> str:
    return ISSUER + path


def credentials_form(tenant: Tenant, **fields: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": tenant.credential.client_id,
        "client_secret": tenant.credential.secret,
        **fields,
    }


def bound_token(api: Api, tenant: Tenant, key: Key, **fields: str) -> str:
    reply = api.call(
        "POST",
        TOKEN,
        form=credentials_form(tenant, **fields),
        headers={"DPoP": key.proof("POST", url(TOKEN))},
    )
    assert reply.status == 200, reply.text
    assert reply.body["token_type"] == "DPoP"
    return str(reply.body["access_token"])


def with_proof(
    api: Api, method: str, path: str, token: str, proof: str | None, *, scheme: str = "DPoP", **kw: Any
) -> Reply:
    headers = {"Authorization": f"{scheme} {token}"}
    if proof is not None:
        headers["DPoP"] = proof
    return api.call(method, path, headers=headers, **kw)


def claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def assert_refused(reply: Reply, challenge: str = INVALID_PROOF) -> None:
    """401 INVALID_DPOP_PROOF in the envelope, with exactly this challenge."""
    assert reply.status == 401, reply.text
    assert reply.body["success"] is False
    assert reply.body["code"] == "INVALID_DPOP_PROOF"
    assert reply.body["message"]
    assert reply.body["requestId"] == reply.header("x-request-id")
    assert reply.header("WWW-Authenticate") == challenge
    assert "data" not in reply.body


class Calls:
    """The AWS calls the handlers' clients make while ``recording`` (service, operation, params)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] | None = None

    def install(self) -> None:
        from partner_api.store import aws

        for service in ("dynamodb", "kms", "secretsmanager"):
            aws.client(service).meta.events.register(
                "before-parameter-build", self._record, unique_id="dpop-count"
            )

    def _record(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        if self.calls is not None:
            self.calls.append((model.service_model.service_name, model.name, dict(params)))

    def during(self, action: Any) -> tuple[Any, list[tuple[str, str, dict[str, Any]]]]:
        self.calls = []
        try:
            return action(), self.calls
        finally:
            self.calls = None


@pytest.fixture
def key() -> Key:
    return Key()


@pytest.fixture
def other_key() -> Key:
    return Key()


@pytest.fixture
def token(api: Api, tenant: Tenant, key: Key) -> str:
    return bound_token(api, tenant, key)


@pytest.fixture
def nonces_on(monkeypatch: pytest.MonkeyPatch, stack: Any) -> Iterator[None]:
    """The stack deployed with DpopNonce=on (the environment every function reads)."""
    from partner_api.config import settings

    monkeypatch.setenv("DPOP_NONCE", "on")
    settings.cache_clear()
    yield
    settings.cache_clear()


# --- the token endpoint ---------------------------------------------------------------------------


def test_a_proof_at_the_token_endpoint_binds_the_token_to_its_key(api: Api, tenant: Tenant, key: Key):
    # When a token is requested with a DPoP proof of the client's key
    reply = api.call(
        "POST", TOKEN, form=credentials_form(tenant), headers={"DPoP": key.proof("POST", url(TOKEN))}
    )

    # Then it is a DPoP token whose cnf.jkt is the key's RFC 7638 thumbprint
    assert reply.status == 200, reply.text
    assert reply.body["token_type"] == "DPoP"
    assert reply.header("Cache-Control") == "no-store"
    assert claims(reply.body["access_token"])["cnf"] == {"jkt": key.thumbprint}
    # and without a proof, a plain bearer token as before
    plain = api.call("POST", TOKEN, form=credentials_form(tenant))
    assert plain.body["token_type"] == "Bearer" and "cnf" not in claims(plain.body["access_token"])


@pytest.mark.parametrize(
    "fault",
    ["alg none", "wrong htu", "wrong htm", "old iat", "not a JWT", "private key"],
)
def test_a_bad_proof_at_the_token_endpoint_is_invalid_dpop_proof_and_nothing_is_issued(
    api: Api, tenant: Tenant, key: Key, fault: str
):
    proof = {
        "alg none": lambda: key.proof("POST", url(TOKEN), header={"alg": "none"}),
        "wrong htu": lambda: key.proof("POST", "https://evil.example/oauth/token"),
        "wrong htm": lambda: key.proof("GET", url(TOKEN)),
        "old iat": lambda: key.proof("POST", url(TOKEN), claims={"iat": int(time.time()) - 300}),
        "not a JWT": lambda: "not-a-jwt",
        "private key": lambda: key.proof("POST", url(TOKEN), header={"jwk": key.private_jwk}),
    }[fault]()
    calls = Calls()
    calls.install()

    # When a token is requested with a bad proof
    reply, made = calls.during(
        lambda: api.call("POST", TOKEN, form=credentials_form(tenant), headers={"DPoP": proof})
    )

    # Then it is an OAuth error, and no token was signed
    assert reply.status == 400, reply.text
    assert reply.body["error"] == "invalid_dpop_proof" and reply.body["error_description"]
    assert "access_token" not in reply.body
    assert ("kms", "Sign") not in [(s, op) for s, op, _ in made]


def test_a_proof_replayed_at_the_token_endpoint_is_refused(api: Api, tenant: Tenant, key: Key):
    proof = key.proof("POST", url(TOKEN))
    first = api.call("POST", TOKEN, form=credentials_form(tenant), headers={"DPoP": proof})
    again = api.call("POST", TOKEN, form=credentials_form(tenant), headers={"DPoP": proof})
    assert first.status == 200, first.text
    assert again.status == 400 and again.body["error"] == "invalid_dpop_proof", again.text


def test_metadata_lists_the_proof_algorithms(api: Api):
    reply = api.call("GET", "/.well-known/oauth-authorization-server")
    assert reply.status == 200, reply.text
    assert reply.body["dpop_signing_alg_values_supported"] == ["ES256", "RS256", "PS256", "EdDSA"]


def test_validate_token_reports_a_bound_tokens_cnf(api: Api, tenant: Tenant, key: Key, token: str):
    def validate(presented: str) -> Reply:
        form = {"client_id": tenant.credential.client_id, "token": presented, "type": "access_token"}
        return api.call("POST", "/oauth/validate_token", form=form)

    bound, plain = validate(token), validate(tenant.token)

    assert bound.status == 200, bound.text
    assert bound.body == {"valid": True, "expires_at": claims(token)["exp"], "cnf": {"jkt": key.thumbprint}}
    assert plain.body == {"valid": True, "expires_at": claims(tenant.token)["exp"]}


# --- protected routes -----------------------------------------------------------------------------


def test_a_bound_token_with_a_fresh_proof_works_under_dpop_and_bearer(api: Api, token: str, key: Key):
    under_dpop = with_proof(api, "GET", CLIENTS, token, key.proof("GET", url(CLIENTS), token))
    under_bearer = with_proof(
        api, "GET", CLIENTS, token, key.proof("GET", url(CLIENTS), token), scheme="Bearer"
    )

    assert under_dpop.status == 200, under_dpop.text
    assert under_bearer.status == 200, under_bearer.text
    assert under_dpop.body["data"] == under_bearer.body["data"]


def test_a_query_in_htu_is_ignored_and_the_query_still_applies(
    api: Api, tenant: Tenant, token: str, key: Key
):
    register(api, tenant, "one@example.com")
    register(api, tenant, "two@example.com")
    proof = key.proof("GET", url(CLIENTS) + "?limit=1", token)

    reply = with_proof(api, "GET", CLIENTS, token, proof, query={"limit": "1"})

    assert reply.status == 200, reply.text
    assert len(reply.body["data"]["clients"]) == 1 and reply.body["data"]["pagination"]["total"] == 2


# Each fault alone, and why the proof is refused (the message names it).
FAULTS: dict[str, tuple[Any, str]] = {
    "typ missing": (lambda k, o, t: k.proof("GET", url(CLIENTS), t, header={"typ": DROP}), "typ"),
    "typ JWT": (lambda k, o, t: k.proof("GET", url(CLIENTS), t, header={"typ": "JWT"}), "typ"),
    "alg none": (lambda k, o, t: k.proof("GET", url(CLIENTS), t, header={"alg": "none"}), "alg"),
    "HS256": (
        lambda k, o, t: k.proof("GET", url(CLIENTS), t, header={"alg": "HS256"}, signer=b"s" * 32),
        "alg",
    ),
    "private key in jwk": (
        lambda k, o, t: k.proof("GET", url(CLIENTS), t, header={"jwk": k.private_jwk}),
        "private key",
    ),
    "the bound key's jwk, signed by another key": (
        lambda k, o, t: k.proof("GET", url(CLIENTS), t, signer=o.private),
        "signature",
    ),
    "another key's proof (thumbprint mismatch)": (
        lambda k, o, t: o.proof("GET", url(CLIENTS), t),
        "does not match the key the token is bound to",
    ),
    "wrong htm": (lambda k, o, t: k.proof("POST", url(CLIENTS), t), "htm"),
    "wrong htu path": (lambda k, o, t: k.proof("GET", url("/partner/v1/accounts"), t), "htu"),
    "wrong htu host": (lambda k, o, t: k.proof("GET", "https://evil.example" + CLIENTS, t), "htu"),
    "iat 5 minutes old": (
        lambda k, o, t: k.proof("GET", url(CLIENTS), t, claims={"iat": int(time.time()) - 300}),
        "iat",
    ),
    "iat 5 minutes ahead": (
        lambda k, o, t: k.proof("GET", url(CLIENTS), t, claims={"iat": int(time.time()) + 300}),
        "iat",
    ),
    "ath missing": (lambda k, o, t: k.proof("GET", url(CLIENTS), t, claims={"ath": DROP}), "ath"),
    "ath of another token": (
        lambda k, o, t: k.proof("GET", url(CLIENTS), t, claims={"ath": ath(t + "x")}),
        "ath",
    ),
    "not a JWT": (lambda k, o, t: "not-a-jwt", "not a JWT"),
}


@pytest.mark.parametrize("scheme", ["DPoP", "Bearer"])
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_bound_token_with_a_bad_proof_is_refused(
    api: Api, token: str, key: Key, other_key: Key, fault: str, scheme: str
):
    # Given a proof with exactly one fault
    make, reason = FAULTS[fault]
    proof = make(key, other_key, token)

    # When it comes with the bound token
    reply = with_proof(api, "GET", CLIENTS, token, proof, scheme=scheme)

    # Then the route refuses it, for that fault, before doing anything
    assert_refused(reply)
    assert reason in reply.body["message"]


def test_two_dpop_headers_are_refused_even_when_each_is_valid(api: Api, token: str, key: Key):
    # Given a request carrying two valid proofs in two DPoP headers
    evt = event(
        "GET",
        CLIENTS,
        headers={"Authorization": f"DPoP {token}", "DPoP": key.proof("GET", url(CLIENTS), token)},
    )
    evt["multiValueHeaders"]["DPoP"].append(key.proof("GET", url(CLIENTS), token))

    # Then it is refused
    reply = run("clients.list", evt)
    assert_refused(reply)
    assert "more than one" in reply.body["message"]


@pytest.mark.parametrize("scheme", ["DPoP", "Bearer"])
def test_a_bound_token_without_a_proof_is_refused_under_either_scheme(api: Api, token: str, scheme: str):
    assert_refused(with_proof(api, "GET", CLIENTS, token, None, scheme=scheme))


def test_an_unbound_token_under_the_dpop_scheme_is_refused_as_invalid_token(
    api: Api, tenant: Tenant, key: Key
):
    proof = key.proof("GET", url(CLIENTS), tenant.token)
    assert_refused(with_proof(api, "GET", CLIENTS, tenant.token, proof), INVALID_TOKEN)


def test_an_unbound_bearer_token_works_as_before_with_or_without_a_stray_proof(
    api: Api, tenant: Tenant, key: Key
):
    plain = api.call("GET", CLIENTS, token=tenant.token)
    stray = with_proof(api, "GET", CLIENTS, tenant.token, "not-a-jwt", scheme="Bearer")
    assert plain.status == 200, plain.text
    assert stray.status == 200, stray.text


def test_a_proof_replayed_to_the_same_route_is_refused(api: Api, token: str, key: Key):
    proof = key.proof("GET", url(CLIENTS), token)

    first = with_proof(api, "GET", CLIENTS, token, proof)
    replay = with_proof(api, "GET", CLIENTS, token, proof)

    assert first.status == 200, first.text
    assert_refused(replay)
    assert "used before" in replay.body["message"]


def test_a_proof_replayed_to_another_container_is_refused(api: Api, token: str, key: Key):
    # Given a proof accepted by one container
    proof = key.proof("GET", url(CLIENTS), token)
    assert with_proof(api, "GET", CLIENTS, token, proof).status == 200

    # When it reaches a fresh container (no settings, clients, keys or caches of the first)
    _forget_container_state()
    replay = with_proof(api, "GET", CLIENTS, token, proof)

    # Then that container refuses it too
    assert_refused(replay)


def test_a_proofs_jti_reused_at_another_function_is_refused(api: Api, tenant: Tenant, token: str, key: Key):
    # Given a proof accepted by the clients list function
    jti = str(uuid.uuid4())
    client = register(api, tenant, "jti@example.com")
    path = f"{CLIENTS}/{client['clientId']}"
    assert (
        with_proof(
            api, "GET", CLIENTS, token, key.proof("GET", url(CLIENTS), token, claims={"jti": jti})
        ).status
        == 200
    )

    # When a proof with the same jti (otherwise valid for its request) reaches another function
    replay = with_proof(api, "GET", path, token, key.proof("GET", url(path), token, claims={"jti": jti}))

    # Then that function refuses it: the record of used proofs is one for all functions
    assert_refused(replay)
    fresh = with_proof(api, "GET", path, token, key.proof("GET", url(path), token))
    assert fresh.status == 200, fresh.text


def test_a_dpop_request_costs_exactly_one_put_item_more_than_a_bearer_request(
    api: Api, stack: Any, tenant: Tenant, token: str, key: Key
):
    # Given a client, and a warm function (key and the credential's standing cached)
    client = register(api, tenant, "count@example.com")
    path = f"{CLIENTS}/{client['clientId']}"
    assert api.call("GET", path, token=tenant.token).status == 200
    assert with_proof(api, "GET", path, token, key.proof("GET", url(path), token)).status == 200
    calls = Calls()
    calls.install()

    # When the client is read with the bearer token, then with the bound token and a fresh proof
    bearer, bearer_calls = calls.during(lambda: api.call("GET", path, token=tenant.token))
    dpop, dpop_calls = calls.during(
        lambda: with_proof(api, "GET", path, token, key.proof("GET", url(path), token))
    )

    # Then the DPoP request made the bearer request's calls plus one conditional PutItem on the
    # proofs table, and nothing else
    assert bearer.status == 200 and dpop.status == 200, (bearer.text, dpop.text)
    assert [(s, op) for s, op, _ in bearer_calls] == [("dynamodb", "GetItem")]
    extra = [call for call in dpop_calls if call[:2] != ("dynamodb", "GetItem")]
    assert [(s, op) for s, op, _ in dpop_calls].count(("dynamodb", "GetItem")) == 1
    assert [(s, op) for s, op, _ in extra] == [("dynamodb", "PutItem")]
    params = extra[0][2]
    assert params["TableName"] == stack.physical_ids["ProofsTable"]
    assert params["ConditionExpression"] == "attribute_not_exists(PK)"
    assert params["Item"]["PK"]["S"].startswith(f"DPOP#{key.thumbprint}#")


def test_the_used_proof_item_outlives_its_acceptance_window(api: Api, stack: Any, token: str, key: Key):
    import boto3

    from partner_api.auth.dpop import MAX_SKEW_SECONDS

    # Given a proof issued 30 s in the future (still accepted, until iat + 60 s)
    iat, jti = int(time.time()) + 30, str(uuid.uuid4())
    proof = key.proof("GET", url(CLIENTS), token, claims={"iat": iat, "jti": jti})
    assert with_proof(api, "GET", CLIENTS, token, proof).status == 200

    # Then its record expires (TTL) only after the last moment the proof is accepted
    item = boto3.client("dynamodb").get_item(
        TableName=stack.physical_ids["ProofsTable"], Key={"PK": {"S": f"DPOP#{key.thumbprint}#{jti}"}}
    )["Item"]
    assert int(item["expiresAt"]["N"]) > iat + MAX_SKEW_SECONDS


# --- token exchange -------------------------------------------------------------------------------


def exchange(api: Api, tenant: Tenant, actor: str, email: str, proof: str | None) -> Reply:
    form = {
        "grant_type": EXCHANGE,
        "client_id": tenant.credential.client_id,
        "client_secret": tenant.credential.secret,
        "subject_token": jwt.encode({"email": email}, "k" * 32, algorithm="HS256"),
        "subject_token_type": "jwt",
        "actor_token": actor,
        "actor_token_type": "access_token",
        "scope": "clients:read",
    }
    return api.call("POST", TOKEN, form=form, headers={"DPoP": proof} if proof else None)


def test_an_exchange_from_a_bound_actor_binds_the_user_token_to_the_proving_key(
    api: Api, tenant: Tenant, token: str, key: Key
):
    # Given an active client and a DPoP-bound actor token
    client = register(api, tenant, "bound.user@example.com")

    # When the actor exchanges its token with a proof by its key
    reply = exchange(api, tenant, token, "bound.user@example.com", key.proof("POST", url(TOKEN)))

    # Then the user token is bound to that key, and works with its proofs only
    assert reply.status == 200, reply.text
    assert reply.body["token_type"] == "DPoP"
    user_token = reply.body["access_token"]
    assert claims(user_token)["cnf"] == {"jkt": key.thumbprint}
    me = with_proof(
        api, "GET", "/partner/v1/me", user_token, key.proof("GET", url("/partner/v1/me"), user_token)
    )
    assert me.status == 200, me.text
    assert me.body["data"]["clientId"] == client["clientId"]
    assert_refused(with_proof(api, "GET", "/partner/v1/me", user_token, None, scheme="Bearer"))


@pytest.mark.parametrize("proof_by", ["nobody", "another key"])
def test_an_exchange_from_a_bound_actor_needs_a_proof_by_the_actors_key(
    api: Api, tenant: Tenant, token: str, other_key: Key, proof_by: str
):
    register(api, tenant, "stolen@example.com")
    proof = other_key.proof("POST", url(TOKEN)) if proof_by == "another key" else None

    reply = exchange(api, tenant, token, "stolen@example.com", proof)

    assert reply.status == 400, reply.text
    assert reply.body["error"] == "invalid_dpop_proof" and "access_token" not in reply.body


def test_an_exchange_from_a_bearer_actor_with_a_proof_binds_the_user_token(
    api: Api, tenant: Tenant, other_key: Key
):
    register(api, tenant, "plain.actor@example.com")

    reply = exchange(
        api, tenant, tenant.token, "plain.actor@example.com", other_key.proof("POST", url(TOKEN))
    )
    unbound = exchange(api, tenant, tenant.token, "plain.actor@example.com", None)

    assert reply.status == 200, reply.text
    assert reply.body["token_type"] == "DPoP"
    assert claims(reply.body["access_token"])["cnf"] == {"jkt": other_key.thumbprint}
    assert unbound.body["token_type"] == "Bearer" and "cnf" not in claims(unbound.body["access_token"])


# --- server nonces --------------------------------------------------------------------------------


def test_with_nonces_on_a_route_answers_use_dpop_nonce_then_accepts_the_nonce(
    api: Api, tenant: Tenant, key: Key, nonces_on: None
):
    # Given a bound token obtained with the token endpoint's nonce
    first = api.call(
        "POST", TOKEN, form=credentials_form(tenant), headers={"DPoP": key.proof("POST", url(TOKEN))}
    )
    assert first.status == 400, first.text
    assert first.body["error"] == "use_dpop_nonce"
    nonce = first.header("DPoP-Nonce")
    assert nonce
    granted = api.call(
        "POST",
        TOKEN,
        form=credentials_form(tenant),
        headers={"DPoP": key.proof("POST", url(TOKEN), claims={"nonce": nonce})},
    )
    assert granted.status == 200, granted.text
    token = granted.body["access_token"]

    # When a route gets a proof without a nonce, then one with a stale nonce, then the fresh one
    missing = with_proof(api, "GET", CLIENTS, token, key.proof("GET", url(CLIENTS), token))
    from partner_api.auth import nonces

    stale_nonce = nonces.current(time.time() - 2 * nonces.WINDOW_SECONDS)
    stale = with_proof(
        api, "GET", CLIENTS, token, key.proof("GET", url(CLIENTS), token, claims={"nonce": stale_nonce})
    )
    fresh_nonce = missing.header("DPoP-Nonce")
    fresh = with_proof(
        api, "GET", CLIENTS, token, key.proof("GET", url(CLIENTS), token, claims={"nonce": fresh_nonce})
    )

    # Then the first two are use_dpop_nonce with a nonce to use, and the last succeeds
    assert_refused(missing, USE_NONCE)
    assert_refused(stale, USE_NONCE)
    assert fresh_nonce and stale.header("DPoP-Nonce") == fresh_nonce != stale_nonce
    assert fresh.status == 200, fresh.text
    # and a bearer token needs no nonce at all
    assert api.call("GET", CLIENTS, token=tenant.token).status == 200


def test_with_nonces_off_a_proof_needs_no_nonce_and_none_is_ever_sent(api: Api, token: str, key: Key):
    from partner_api.config import settings

    assert settings().dpop_nonce is False
    without = with_proof(api, "GET", CLIENTS, token, key.proof("GET", url(CLIENTS), token))
    any_nonce = with_proof(
        api, "GET", CLIENTS, token, key.proof("GET", url(CLIENTS), token, claims={"nonce": "x"})
    )
    refused = with_proof(api, "GET", CLIENTS, token, "not-a-jwt")

    assert without.status == 200 and any_nonce.status == 200, (without.text, any_nonce.text)
    assert_refused(refused)
    assert refused.header("DPoP-Nonce") is None
