"""Pure auth and identity logic: secret hashing, scopes and subtree visibility, ids, times, ETags."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from partner_api.auth.principal import Principal
from partner_api.auth.secrets import hash_secret, new_secret, verify_secret
from partner_api.errors import PreconditionFailed
from partner_api.ids import iso, new_event_id, now_iso
from partner_api.logic.versions import etag, require_match

CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"

# --- secrets ---------------------------------------------------------------------------------------


def test_a_hashed_secret_verifies_and_a_wrong_one_does_not():
    # Given a new secret and its stored hash
    secret = new_secret()
    stored = hash_secret(secret)

    # Then only that secret verifies, and the hash does not contain it
    assert verify_secret(secret, stored) is True
    assert verify_secret(secret + "x", stored) is False
    assert verify_secret(secret[:-1], stored) is False
    assert verify_secret("", stored) is False
    assert secret not in stored
    assert re.match(r"^scrypt\$16384\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$", stored)


def test_hashing_is_salted():
    assert hash_secret("same secret") != hash_secret("same secret")


def test_new_secrets_are_long_and_distinct():
    secrets = {new_secret() for _ in range(20)}
    assert len(secrets) == 20
    assert all(len(s) >= 40 for s in secrets)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "not a hash",
        "scrypt$16384$8$1$c2FsdA==",  # a field short
        "bcrypt$16384$8$1$c2FsdA==$ZGlnZXN0",  # another scheme
        "scrypt$abc$8$1$c2FsdA==$ZGlnZXN0",  # n not a number
        "scrypt$3$8$1$c2FsdA==$ZGlnZXN0",  # n not a power of two
        "scrypt$16384$8$1$c2FsdA==$",  # empty digest
        "scrypt$16384$8$1$!!!$###",  # not base64
        "scrypt$1073741824$8$1$c2FsdA==$ZGlnZXN0",  # a cost that would exhaust memory
    ],
)
def test_a_malformed_hash_never_matches_and_never_raises(stored: str):
    assert verify_secret("anything", stored) is False


def test_a_hash_with_the_scheme_of_another_secret_does_not_match():
    # Given a stored hash whose digest was swapped for another secret's digest
    mine, theirs = hash_secret("mine").split("$"), hash_secret("theirs").split("$")
    spliced = "$".join([*mine[:5], theirs[5]])

    # Then neither secret verifies against it
    assert verify_secret("mine", spliced) is False
    assert verify_secret("theirs", spliced) is False


# --- Principal -------------------------------------------------------------------------------------


def principal(*scopes: str, path: tuple[str, ...] = ("root",)) -> Principal:
    return Principal(
        client_id="c",
        token_use="partner",
        scopes=frozenset(scopes),
        tenant_id=path[0],
        partner_id=path[-1],
        partner_path=path,
    )


def test_write_scope_implies_read_but_not_the_reverse():
    writer, reader = principal("clients:write"), principal("clients:read")
    assert writer.has_scope("clients:write") and writer.has_scope("clients:read")
    assert reader.has_scope("clients:read")
    assert not reader.has_scope("clients:write")


def test_scopes_do_not_leak_across_resources():
    caller = principal("clients:write", "events:read")
    assert not caller.has_scope("partners:read")
    assert not caller.has_scope("partners:write")
    assert not caller.has_scope("admin")
    assert not caller.has_scope("clients")
    assert caller.has_scope("events:read")
    assert not caller.has_scope("events:write")


def test_a_partner_sees_itself_and_its_descendants_only():
    # Given a caller in the middle of a tree: root > a > (b, c)
    caller = principal(path=("root", "a"))

    # Then it sees itself and below, never its ancestor, a sibling, or another tenant
    assert caller.sees_partner(("root", "a"))
    assert caller.sees_partner(["root", "a", "b"])
    assert caller.sees_partner(("root", "a", "b", "d"))
    assert not caller.sees_partner(("root",))
    assert not caller.sees_partner(("root", "c"))
    assert not caller.sees_partner(("root", "ab"))  # a prefix of the id is not a descendant
    assert not caller.sees_partner(("other", "a"))
    assert not caller.sees_partner(())


def test_a_root_partner_sees_its_whole_tenant():
    root = principal(path=("root",))
    assert root.sees_partner(("root",)) and root.sees_partner(("root", "a", "b"))
    assert not root.sees_partner(("other",))


# --- ids and times ---------------------------------------------------------------------------------


def test_event_ids_have_the_prefix_and_26_crockford_chars():
    event_id = new_event_id()
    assert event_id.startswith("evt_")
    body = event_id.removeprefix("evt_")
    assert len(body) == 26
    assert set(body) <= set(CROCKFORD)


@pytest.mark.parametrize(
    ("earlier", "later"),
    [(0, 1), (1_700_000_000_000, 1_700_000_000_001), (1_700_000_000_999, 1_700_000_001_000), (31, 32)],
)
def test_event_ids_sort_by_time_whatever_their_random_part(earlier: int, later: int):
    firsts = [new_event_id(earlier) for _ in range(50)]
    seconds = [new_event_id(later) for _ in range(50)]
    assert max(firsts) < min(seconds)


def test_event_ids_carry_their_milliseconds_and_are_unique_within_one():
    ms = 1_759_244_513_188
    ids = [new_event_id(ms) for _ in range(1000)]
    assert len(set(ids)) == 1000
    decoded = 0
    for char in ids[0].removeprefix("evt_")[:10]:  # 10 chars x 5 bits: 2 zero bits, then 48 of time
        decoded = decoded * 32 + CROCKFORD.index(char)
    assert decoded == ms


def test_now_iso_is_utc_with_milliseconds_and_z():
    before = datetime.now(UTC).replace(microsecond=0)
    stamp = now_iso()
    after = datetime.now(UTC) + timedelta(milliseconds=1)
    assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$", stamp)
    assert before <= datetime.fromisoformat(stamp.replace("Z", "+00:00")) <= after


def test_iso_converts_to_utc_and_truncates_to_milliseconds():
    moment = datetime(2025, 9, 30, 17, 1, 53, 188_999, tzinfo=timezone(timedelta(hours=2)))
    assert iso(moment) == "2025-09-30T15:01:53.188Z"
    assert iso(datetime(2025, 1, 2, 3, 4, 5, 0, tzinfo=UTC)) == "2025-01-02T03:04:05.000Z"


# --- ETags and If-Match ----------------------------------------------------------------------------


def test_etags_are_quoted_deterministic_and_change_with_version_and_resource():
    tag = etag("client-1", 3)
    assert re.match(r'^"[0-9a-f]{20}"$', tag)
    assert etag("client-1", 3) == tag
    assert etag("client-1", 4) != tag
    assert etag("client-2", 3) != tag


@pytest.mark.parametrize(
    "if_match",
    [
        None,
        "*",
        etag("c", 2),
        f"W/{etag('c', 2)}",
        f'"stale", {etag("c", 2)}',
        f"{etag('c', 1)},{etag('c', 2)}",
        f"  {etag('c', 2)}  ",
        '"stale", *',
    ],
)
def test_require_match_accepts_absent_star_current_weak_and_listed_tags(if_match: str | None):
    require_match(if_match, "c", 2)  # does not raise


@pytest.mark.parametrize(
    "if_match",
    [
        "",
        etag("c", 1),
        etag("other", 2),
        f'W/"{etag("c", 2)}"',
        etag("c", 2).strip('"'),
        f'{etag("c", 1)}, "x"',
    ],
)
def test_require_match_rejects_stale_or_foreign_tags(if_match: str):
    with pytest.raises(PreconditionFailed) as caught:
        require_match(if_match, "c", 2)
    assert caught.value.code == "PRECONDITION_FAILED"
