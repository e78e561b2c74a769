"""DPoP proof verification (RFC 9449), the storage-free part: one fault per test, each alone."""

from __future__ import annotations

import base64
import functools
import json
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from partner_api.auth.dpop import (
    ALGORITHMS,
    InvalidProof,
    Proof,
    same_url,
    thumbprint,
    token_hash,
    verify,
)

NOW = 1_700_000_000.0
URL = "https://api.example.com/v1/clients"
DROP = object()  # an override value that removes the member


@functools.cache
def key_for(alg: str, n: int = 0) -> Any:
    """A private key fitting ``alg``; ``n`` picks another key of the same kind."""
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg in ("RS256", "PS256"):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(alg)


def public_jwk(private_key: Any) -> dict[str, Any]:
    public = private_key.public_key()
    if isinstance(public, ec.EllipticCurvePublicKey):
        return ECAlgorithm.to_jwk(public, as_dict=True)
    if isinstance(public, rsa.RSAPublicKey):
        return RSAAlgorithm.to_jwk(public, as_dict=True)
    return OKPAlgorithm.to_jwk(public, as_dict=True)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _apply(base: dict[str, Any], overrides: dict[str, Any] | None) -> dict[str, Any]:
    merged = {**base, **(overrides or {})}
    return {name: value for name, value in merged.items() if value is not DROP}


def make_proof(
    *,
    alg: str = "ES256",
    signer: Any = None,
    header: dict[str, Any] | None = None,
    claims: dict[str, Any] | None = None,
) -> str:
    """A compact DPoP proof: valid for ``POST URL`` at ``NOW`` unless overridden.

    ``signer`` signs (default: the ``alg`` key, whose public half is the header's ``jwk``);
    the header's ``alg`` decides how, so a forged header really is signed that way.
    """
    signer = signer if signer is not None else key_for(alg)
    protected = _apply({"typ": "dpop+jwt", "alg": alg, "jwk": public_jwk(key_for(alg))}, header)
    payload = _apply({"jti": str(uuid.uuid4()), "htm": "POST", "htu": URL, "iat": int(NOW)}, claims)
    signing_input = f"{_b64(json.dumps(protected).encode())}.{_b64(json.dumps(payload).encode())}"
    if protected.get("alg") == "none":
        return signing_input + "."
    algorithm = jwt.get_algorithm_by_name(protected["alg"])
    signature = algorithm.sign(signing_input.encode(), algorithm.prepare_key(signer))
    return f"{signing_input}.{_b64(signature)}"


def refused(proof: str | list[str], **kwargs: Any) -> InvalidProof:
    """The ``InvalidProof`` raised for ``proof`` on ``POST URL`` at ``NOW``."""
    headers = proof if isinstance(proof, list) else [proof]
    with pytest.raises(InvalidProof) as caught:
        verify(headers, method=kwargs.pop("method", "POST"), url=kwargs.pop("url", URL), now=NOW, **kwargs)
    return caught.value


def accepted(proof: str, **kwargs: Any) -> Proof:
    return verify([proof], method=kwargs.pop("method", "POST"), url=kwargs.pop("url", URL), now=NOW, **kwargs)


# --- a valid proof ---------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_a_valid_proof_passes_for_each_algorithm(alg: str):
    # Given a proof signed with a fresh key of that kind, for this request
    proof = make_proof(alg=alg, claims={"jti": "jti-1"})

    # When it is verified
    result = accepted(proof)

    # Then it yields the key's thumbprint and the proof's claims
    assert result == Proof(jkt=thumbprint(public_jwk(key_for(alg))), jti="jti-1", iat=int(NOW), nonce=None)


def test_a_valid_proof_with_every_optional_check_passes():
    # Given a bound token, its proof carrying ath and the server's nonce
    token = "an.access.token"
    jkt = thumbprint(public_jwk(key_for("ES256")))
    proof = make_proof(claims={"ath": token_hash(token), "nonce": "n-1"})
    seen: list[str | None] = []

    # When it is verified with the token, the bound key and a nonce judge
    result = accepted(
        proof, access_token=token, expected_jkt=jkt, nonce_ok=lambda nonce: seen.append(nonce) is None
    )

    # Then it passes, and the judge saw the proof's nonce
    assert (result.jkt, result.nonce) == (jkt, "n-1")
    assert seen == ["n-1"]


# --- the header value ------------------------------------------------------------------------------


def test_no_header_is_refused():
    assert refused([]).reason == "missing DPoP proof"


def test_two_headers_are_refused_even_when_both_are_valid():
    assert refused([make_proof(), make_proof()]).reason == "more than one DPoP header"


@pytest.mark.parametrize("value", ["abc", "a.b", "a.b.c.d", "", "a b.c.d"])
def test_not_a_jwt_is_refused(value: str):
    assert refused(value).reason == "DPoP proof is not a JWT"


# --- the protected header --------------------------------------------------------------------------


@pytest.mark.parametrize("typ", [DROP, "JWT", "DPOP+JWT", "dpop+JWT"])
def test_typ_missing_or_not_exactly_dpop_jwt_is_refused(typ: object):
    assert refused(make_proof(header={"typ": typ})).reason == "typ is not dpop+jwt"


def test_alg_none_is_refused_before_the_key_is_looked_at():
    # Given an unsigned proof whose jwk is not even a key
    proof = make_proof(header={"alg": "none", "jwk": {"kty": "nonsense"}})

    # Then the algorithm is what is refused
    assert refused(proof).reason == "alg is not an accepted asymmetric algorithm"


def test_hs256_with_a_symmetric_jwk_is_refused():
    # Given a proof MACed with a shared secret that the proof itself discloses as an oct jwk
    secret = b"s" * 32
    proof = make_proof(signer=secret, header={"alg": "HS256", "jwk": {"kty": "oct", "k": _b64(secret)}})

    # Then it is refused for its algorithm
    assert refused(proof).reason == "alg is not an accepted asymmetric algorithm"


def test_an_oct_jwk_is_refused_under_an_asymmetric_alg():
    proof = make_proof(header={"jwk": {"kty": "oct", "k": _b64(b"s" * 32)}})

    assert refused(proof).reason == "jwk is a symmetric key"


def test_a_missing_jwk_is_refused():
    assert refused(make_proof(header={"jwk": DROP})).reason == "jwk header is missing or not an object"


def test_a_jwk_carrying_the_private_key_is_refused():
    # Given a correctly signed proof whose EC jwk also includes the private scalar "d"
    private = key_for("ES256")
    jwk = {**public_jwk(private), "d": _b64(private.private_numbers().private_value.to_bytes(32, "big"))}

    # Then it is refused
    assert refused(make_proof(header={"jwk": jwk})).reason == "jwk contains a private key"


def test_a_jwk_of_another_kind_than_the_alg_is_refused():
    # Given an ES256 proof presenting a P-384 key
    jwk = public_jwk(ec.generate_private_key(ec.SECP384R1()))

    assert refused(make_proof(header={"jwk": jwk})).reason == "jwk does not fit the proof's alg"


def test_an_rsa_key_under_2048_bits_is_refused():
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)

    proof = make_proof(alg="RS256", signer=small, header={"jwk": public_jwk(small)})

    assert refused(proof).reason == "jwk RSA key is shorter than 2048 bits"


# --- the signature ---------------------------------------------------------------------------------


def test_a_signature_by_another_key_than_the_jwk_is_refused():
    # Given a proof presenting key A's jwk but signed with key B
    proof = make_proof(signer=key_for("ES256", 1))

    assert refused(proof).reason == "DPoP proof signature is invalid"


def test_the_bound_keys_jwk_signed_by_another_key_is_refused():
    # Given a token bound to key A, and a proof that presents A's jwk but is signed by B
    bound = thumbprint(public_jwk(key_for("ES256")))
    proof = make_proof(signer=key_for("ES256", 1))

    # Then presenting the right thumbprint does not help
    assert refused(proof, expected_jkt=bound).reason == "DPoP proof signature is invalid"


def test_a_thumbprint_other_than_the_bound_one_is_refused():
    # Given a token bound to key A, and a valid proof made with key B
    bound = thumbprint(public_jwk(key_for("ES256")))
    other = key_for("ES256", 1)
    proof = make_proof(signer=other, header={"jwk": public_jwk(other)})

    error = refused(proof, expected_jkt=bound)

    assert error.reason == "DPoP key does not match the key the token is bound to"


# --- the claims ------------------------------------------------------------------------------------


@pytest.mark.parametrize("jti", [DROP, "", 7, "x" * 257])
def test_a_missing_or_invalid_jti_is_refused(jti: object):
    assert refused(make_proof(claims={"jti": jti})).reason == "jti is missing or invalid"


@pytest.mark.parametrize("htm", ["GET", "post"])
def test_a_wrong_htm_is_refused(htm: str):
    assert refused(make_proof(claims={"htm": htm})).reason == "htm does not match the request method"


@pytest.mark.parametrize(
    "htu",
    ["https://api.example.com/v1/accounts", "https://evil.example.com/v1/clients"],
    ids=["wrong path", "wrong host"],
)
def test_a_wrong_htu_is_refused(htu: str):
    assert refused(make_proof(claims={"htu": htu})).reason == "htu does not match the request URL"


@pytest.mark.parametrize(
    "htu",
    [
        "https://api.example.com/v1/clients?page=2#top",
        "HTTPS://API.Example.COM/v1/clients",
        "https://api.example.com:443/v1/clients",
    ],
    ids=["query and fragment", "scheme and host case", "default port"],
)
def test_an_equivalent_htu_is_accepted(htu: str):
    assert accepted(make_proof(claims={"htu": htu})).jkt


def test_the_request_urls_query_is_ignored_too():
    assert accepted(make_proof(), url=URL + "?limit=10").jkt


@pytest.mark.parametrize("offset", [-300, 300], ids=["5 minutes old", "5 minutes ahead"])
def test_an_iat_far_from_now_is_refused(offset: int):
    proof = make_proof(claims={"iat": int(NOW) + offset})

    assert refused(proof).reason == "iat is outside the accepted window"


@pytest.mark.parametrize("offset", [-59, 59], ids=["59 s old", "59 s ahead"])
def test_an_iat_within_the_window_is_accepted(offset: int):
    assert accepted(make_proof(claims={"iat": int(NOW) + offset})).iat == int(NOW) + offset


@pytest.mark.parametrize("iat", [DROP, "1700000000", True])
def test_a_missing_or_non_numeric_iat_is_refused(iat: object):
    assert refused(make_proof(claims={"iat": iat})).reason == "iat is missing or not a number"


def test_ath_is_required_when_an_access_token_is_presented():
    assert refused(make_proof(), access_token="tok").reason == "ath is missing"


def test_an_ath_of_another_token_is_refused():
    proof = make_proof(claims={"ath": token_hash("another token")})

    assert refused(proof, access_token="tok").reason == "ath does not match the access token"


def test_a_refused_nonce_asks_for_a_new_one():
    # Given a server whose nonce judge refuses the proof's (absent) nonce
    seen: list[str | None] = []

    def nonce_ok(nonce: str | None) -> bool:
        seen.append(nonce)
        return False

    # When a proof without nonce is verified
    error = refused(make_proof(), nonce_ok=nonce_ok)

    # Then the caller is told to answer use_dpop_nonce
    assert (error.reason, error.use_nonce) == ("use_dpop_nonce", True)
    assert seen == [None]


def test_other_refusals_do_not_ask_for_a_nonce():
    assert refused([]).use_nonce is False


# --- the helpers -----------------------------------------------------------------------------------


def test_thumbprint_matches_rfc_7638_example():
    # Given RFC 7638 §3.1's RSA key, with its optional members alg and kid
    jwk = {
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPeb"
        "WKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMi"
        "cAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr"
        "3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29",
    }

    assert thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize("jwk", [{"kty": "oct", "k": "AAAA"}, {"kty": "EC", "crv": "P-256", "x": "AA"}, {}])
def test_thumbprint_refuses_unsupported_or_incomplete_keys(jwk: dict[str, Any]):
    with pytest.raises(InvalidProof):
        thumbprint(jwk)


def test_token_hash_matches_rfc_9449_example():
    # RFC 9449 §7.1: the access token and the ath of the proof sent with it
    token = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"

    assert token_hash(token) == "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://a.example/x", "https://a.example/x?q=1#f"),
        ("https://a.example", "https://a.example/"),
        ("http://a.example:80/x", "http://a.example/x"),
        ("https://a.example/%7Euser/%41", "https://a.example/~user/A"),
        ("https://a.example/a%2fb", "https://a.example/a%2Fb"),
    ],
)
def test_same_url_treats_equivalent_urls_as_equal(a: str, b: str):
    assert same_url(a, b) and same_url(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://a.example/x", "http://a.example/x"),
        ("https://a.example:8443/x", "https://a.example/x"),
        ("https://a.example/X", "https://a.example/x"),
        ("https://a.example/a%2Fb", "https://a.example/a/b"),
        ("https://a.example:99999/x", "https://a.example:99999/x"),
        ("/x", "/x"),
    ],
)
def test_same_url_tells_different_urls_apart(a: str, b: str):
    assert not same_url(a, b)
