"""The idmd provider against a fake idmd behind httpx.MockTransport: the anonymous stepped
login, re-login on 401, and each failure translated once into the error named by its effect."""

from __future__ import annotations

import pytest
import trio

from tests.unixd.fake_idmd import FakeIdmd, make_provider, uuid_for
from unixd.resolver.errors import (
    AccountOutsideValidity,
    CredentialLocked,
    CredentialsRefused,
    EntryGone,
    GoOffline,
    ProviderError,
    SecondFactorRequired,
)


def far() -> float:
    return trio.current_time() + 30


@pytest.fixture
def fake() -> FakeIdmd:
    fake = FakeIdmd()
    fake.add_user("alice", 70001, password="right password")
    fake.add_group("staff", 70100, members=("alice",))
    return fake


async def test_provider__logs_in_as_anonymous_once_then_reads(fake: FakeIdmd) -> None:
    provider = make_provider(fake)
    user = await provider.user_at("alice", far())
    group = await provider.group_at(70100, far())
    assert user["uuid"] == uuid_for(70001)
    assert group["name"] == "staff"
    assert fake.logins == 1
    assert fake.requests[:2] == ["POST /v1/auth/begin", "POST /v1/auth/step"]
    await provider.aclose()


async def test_provider__logs_in_again_when_the_token_is_refused(fake: FakeIdmd) -> None:
    provider = make_provider(fake)
    await provider.user_at("alice", far())
    fake.tokens.clear()  # revoked or expired on the server
    user = await provider.user_at("alice", far())
    assert user["name"] == "alice"
    assert fake.logins == 2


async def test_provider__concurrent_requests_with_a_stale_token_log_in_once(
    fake: FakeIdmd,
) -> None:
    provider = make_provider(fake)
    await provider.user_at("alice", far())
    fake.tokens.clear()
    async with trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(provider.user_at, "alice", far())
    assert fake.logins == 2


async def test_provider__a_404_means_the_entry_is_gone(fake: FakeIdmd) -> None:
    with pytest.raises(EntryGone):
        await make_provider(fake).user_at("bob", far())


@pytest.mark.parametrize("failure", ["down", "timeout", "status_override"])
async def test_provider__transport_errors_timeouts_and_5xx_mean_go_offline(
    fake: FakeIdmd, failure: str
) -> None:
    setattr(fake, failure, 503 if failure == "status_override" else True)
    with pytest.raises(GoOffline):
        await make_provider(fake).user_at("alice", far())


async def test_provider__a_request_past_its_deadline_means_go_offline(
    fake: FakeIdmd, autojump_clock: trio.testing.MockClock
) -> None:
    fake.hang = True
    with pytest.raises(GoOffline):
        await make_provider(fake).users_at(trio.current_time() + 4)


async def test_provider__unix_auth_answers_the_user_or_says_why_not(fake: FakeIdmd) -> None:
    provider = make_provider(fake)
    user = await provider.unix_auth_at(uuid_for(70001), "right password", far())
    assert user["name"] == "alice"
    with pytest.raises(CredentialsRefused):
        await provider.unix_auth_at(uuid_for(70001), "wrong password", far())
    fake.expired.add(uuid_for(70001))
    with pytest.raises(AccountOutsideValidity):
        await provider.unix_auth_at(uuid_for(70001), "right password", far())
    assert fake.logins == 1  # a refused password is not a refused token


async def test_provider__unix_auth_sends_the_code_and_names_mfa_and_lockout(
    fake: FakeIdmd,
) -> None:
    provider = make_provider(fake)
    fake.set_code("alice", "123456")
    with pytest.raises(SecondFactorRequired):
        await provider.unix_auth_at(uuid_for(70001), "right password", far())
    with pytest.raises(CredentialsRefused):
        await provider.unix_auth_at(uuid_for(70001), "right password", far(), "654321")
    user = await provider.unix_auth_at(uuid_for(70001), "right password", far(), "123456")
    assert user["unix_mfa"] is True
    fake.locked.add(uuid_for(70001))
    with pytest.raises(CredentialLocked):
        await provider.unix_auth_at(uuid_for(70001), "right password", far(), "123456")
    assert fake.logins == 1


async def test_provider__a_token_refused_twice_is_a_provider_error(fake: FakeIdmd) -> None:
    provider = make_provider(fake)
    original = fake.handle

    async def never_accepts(request):  # type: ignore[no-untyped-def]
        response = await original(request)
        fake.tokens.clear()
        return response

    fake.handle = never_accepts  # type: ignore[method-assign]
    provider = make_provider(fake)
    with pytest.raises(ProviderError) as caught:
        await provider.user_at("alice", far())
    assert not isinstance(caught.value, GoOffline | EntryGone)


async def test_provider__ping_checks_status_and_logs_in(fake: FakeIdmd) -> None:
    provider = make_provider(fake)
    await provider.ping_at(far())
    assert fake.requests == ["GET /status", "POST /v1/auth/begin", "POST /v1/auth/step"]
