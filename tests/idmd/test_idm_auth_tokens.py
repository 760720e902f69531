"""Bearer tokens: ES256 signing, exact expiry on the injected clock, session records."""

import jwt
import pytest

from hermit_common.clock import FakeClock
from idmd import limits
from idmd.errors import TokenExpired, TokenRevoked, Unauthenticated
from idmd.idm.auth.tokens import (
    SIGNING_KEY_META,
    SessionRecord,
    TokenSigner,
    check_session,
    expired_sessions,
    load_or_create_signing_key,
    new_session,
)

ALICE = "0b1e9c2e-7a4b-4c7e-9f57-3d2f1c1a8e11"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def signer(clock: FakeClock) -> TokenSigner:
    return TokenSigner(TokenSigner.generate_key_pem(), clock)


def test_token__round_trip_claims(signer: TokenSigner, clock: FakeClock) -> None:
    record = new_session(read_only=False, now=clock.now())
    issued = signer.issue(ALICE, record)
    assert repr(issued) == "[secure]"
    token = issued.reveal()
    claims = signer.check(token)
    assert claims.account_uuid == ALICE
    assert claims.session_id == record.id
    assert claims.scope == "read_write" and not claims.read_only
    assert claims.expires_at == int(clock.now()) + limits.READ_WRITE_TOKEN_TTL_SECONDS
    assert jwt.get_unverified_header(token)["alg"] == "ES256"


def test_token__expires_exactly_at_exp(signer: TokenSigner, clock: FakeClock) -> None:
    record = new_session(read_only=True, now=clock.now())
    token = signer.issue(ALICE, record).reveal()
    clock.advance(limits.READ_ONLY_TOKEN_TTL_SECONDS - 1)
    assert signer.check(token).read_only
    clock.advance(1)
    with pytest.raises(TokenExpired):
        signer.check(token)


def test_token__other_key_is_refused(signer: TokenSigner, clock: FakeClock) -> None:
    other = TokenSigner(TokenSigner.generate_key_pem(), clock)
    token = other.issue(ALICE, new_session(read_only=False, now=clock.now())).reveal()
    with pytest.raises(Unauthenticated) as info:
        signer.check(token)
    assert type(info.value) is Unauthenticated


def test_token__alg_none_and_garbage_are_refused(signer: TokenSigner, clock: FakeClock) -> None:
    unsigned = jwt.encode(
        {"sub": ALICE, "sid": "x", "scope": "read_write", "iat": 1, "exp": 2**40},
        key=None,
        algorithm="none",
    )
    for token in (unsigned, "garbage", "", "a.b.c"):
        with pytest.raises(Unauthenticated):
            signer.check(token)


def test_token__missing_claim_is_refused(signer: TokenSigner) -> None:
    token = jwt.encode({"sub": ALICE, "exp": 2**40}, signer._key, algorithm="ES256")
    with pytest.raises(Unauthenticated):
        signer.check(token)


def test_check_session__record_gone_is_revoked(signer: TokenSigner, clock: FakeClock) -> None:
    record = new_session(read_only=False, now=clock.now())
    claims = signer.check(signer.issue(ALICE, record).reveal())
    assert check_session(claims, [record.encode()], clock.now()) == record
    other = new_session(read_only=False, now=clock.now())
    with pytest.raises(TokenRevoked):
        check_session(claims, [other.encode(), "not json"], clock.now())


def test_check_session__scope_mismatch_is_revoked(signer: TokenSigner, clock: FakeClock) -> None:
    record = new_session(read_only=True, now=clock.now())
    claims = signer.check(signer.issue(ALICE, record).reveal())
    forged = SessionRecord(record.id, "read_write", record.issued_at, record.expires_at)
    with pytest.raises(TokenRevoked):
        check_session(claims, [forged.encode()], clock.now())


def test_expired_sessions__lists_over_and_unreadable(clock: FakeClock) -> None:
    old = new_session(read_only=False, now=clock.now() - limits.READ_WRITE_TOKEN_TTL_SECONDS)
    live = new_session(read_only=False, now=clock.now())
    assert expired_sessions([old.encode(), live.encode(), "junk"], clock.now()) == [
        old.encode(),
        "junk",
    ]


class _Meta:
    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}

    def get_meta(self, key: str) -> bytes | None:
        return self.values.get(key)

    def set_meta(self, key: str, value: bytes) -> None:
        self.values[key] = value


def test_load_or_create_signing_key__made_once_then_kept() -> None:
    meta = _Meta()
    first = load_or_create_signing_key(meta)
    assert meta.values[SIGNING_KEY_META] == first
    assert load_or_create_signing_key(meta) == first


def test_token__verified_cache_is_bounded_and_exact(
    signer: TokenSigner, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signer._verified, "maxsize", 2)
    tokens = [
        signer.issue(ALICE, new_session(read_only=True, now=clock.now())).reveal()
        for _ in range(3)
    ]
    for token in tokens:
        signer.check(token)
    assert len(signer._verified) == 2
    # A token that differs from a cached one in its signature is verified afresh, and refused.
    head, payload, signature = str(tokens[2]).split(".")
    forged = f"{head}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    with pytest.raises(Unauthenticated):
        signer.check(forged)


def test_new_session__privilege_window_within_the_lifetime(clock: FakeClock) -> None:
    now = int(clock.now())
    record = new_session(read_only=False, now=now, lifetime=3600, privilege_lifetime=900)
    assert (record.expires_at, record.privileged_until) == (now + 3600, now + 900)
    assert record.privileged_at(now + 899) and not record.privileged_at(now + 900)
    short = new_session(read_only=False, now=now, lifetime=600, privilege_lifetime=900)
    assert short.privileged_until == now + 600
    read_only = new_session(read_only=True, now=now, lifetime=3600, privilege_lifetime=900)
    assert not read_only.privileged_at(now)


def test_session_record__privileged_until_round_trips_and_may_be_absent(clock: FakeClock) -> None:
    now = int(clock.now())
    record = new_session(read_only=False, now=now, lifetime=3600, privilege_lifetime=60)
    assert SessionRecord.decode(record.encode()) == record
    legacy = SessionRecord.decode(
        '{"id":"x","scope":"read_write","issued_at":1,"expires_at":9999999999}'
    )
    assert legacy is not None and legacy.privileged_until is None
    assert legacy.privileged_at(now)  # records from before the window: writes for their life
    assert "privileged_until" not in legacy.encode()
    bad = '{"id":"x","scope":"read_write","issued_at":1,"expires_at":2,"privileged_until":"1"}'
    assert SessionRecord.decode(bad) is None
