"""The idmd provider with ``token_path``: the file's API token as the bearer, one re-read of
the file after a 401 (rotation), never an anonymous login, and a refused token as offline."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
import trio

from tests.unixd.fake_idmd import URI, FakeIdmd
from unixd.resolver.errors import GoOffline
from unixd.resolver.provider import IdmProvider
from unixd.resolver.tokenfile import TokenFileError

OLD = "aaaa.bbbb.cccc"
NEW = "dddd.eeee.ffff"


class TokenIdmd(FakeIdmd):
    """The fake idmd, also answering ``whoami`` for the tokens it accepts."""

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/auth/whoami":
            self.requests.append(f"{request.method} {request.url.path}")
            bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if bearer not in self.tokens:
                return httpx.Response(401, json={"error": "token_revoked", "detail": "x"})
            return httpx.Response(200, json={"name": "host-bot", "scope": "read_only"})
        return await super().handle(request)


def far() -> float:
    return trio.current_time() + 30


def write_token(path: Path, token: str, *, mode: int = 0o600) -> None:
    path.write_text(token + "\n")
    path.chmod(mode)


@pytest.fixture
def fake() -> TokenIdmd:
    fake = TokenIdmd(tokens={OLD})
    fake.add_user("alice", 70001, password="right password")
    return fake


@pytest.fixture
def token_path(tmp_path: Path) -> Path:
    path = tmp_path / "unixd.token"
    write_token(path, OLD)
    return path


def make(fake: FakeIdmd, token_path: Path) -> IdmProvider:
    return IdmProvider(
        URI, verify=ssl.create_default_context(), connect_timeout=1.0, request_timeout=2.0,
        transport=fake.transport(), token_path=token_path,
    )


async def test_provider_token_path__reads_with_the_file_token_and_never_logs_in(
    fake: TokenIdmd, token_path: Path
) -> None:
    provider = make(fake, token_path)
    assert (await provider.user_at("alice", far()))["name"] == "alice"
    await provider.ping_at(far())
    assert fake.requests == ["GET /v1/unix/user/alice", "GET /status", "GET /v1/auth/whoami"]
    assert fake.logins == 0
    await provider.aclose()


async def test_provider_token_path__a_rotated_file_is_read_again_after_a_401(
    fake: TokenIdmd, token_path: Path
) -> None:
    provider = make(fake, token_path)
    await provider.user_at("alice", far())
    write_token(token_path, NEW)
    fake.tokens = {NEW}  # the old token was destroyed after the new one was made
    assert (await provider.user_at("alice", far()))["name"] == "alice"
    assert fake.count("GET /v1/unix/user/alice") == 3  # ok, refused, retried with NEW
    await provider.user_at("alice", far())
    assert fake.count("GET /v1/unix/user/alice") == 4  # NEW is kept
    assert fake.logins == 0
    await provider.aclose()


async def test_provider_token_path__a_destroyed_token_is_offline_never_anonymous(
    fake: TokenIdmd, token_path: Path
) -> None:
    provider = make(fake, token_path)
    fake.tokens.clear()
    with pytest.raises(GoOffline, match="refuses the API token in token_path"):
        await provider.user_at("alice", far())
    with pytest.raises(GoOffline):
        await provider.ping_at(far())
    with pytest.raises(GoOffline):
        await provider.unix_auth_at("alice", "right password", far())
    assert fake.logins == 0
    assert fake.count("POST /v1/auth") == 0
    # A new token in the file is picked up at the next try.
    write_token(token_path, NEW)
    fake.tokens = {NEW}
    await provider.ping_at(far())
    assert (await provider.user_at("alice", far()))["name"] == "alice"
    await provider.aclose()


async def test_provider_token_path__a_new_token_idmd_also_refuses_is_offline(
    fake: TokenIdmd, token_path: Path
) -> None:
    provider = make(fake, token_path)
    write_token(token_path, NEW)
    fake.tokens.clear()
    with pytest.raises(GoOffline, match="refuses the API token"):
        await provider.user_at("alice", far())
    assert fake.count("GET /v1/unix/user/alice") == 2
    await provider.aclose()


async def test_provider_token_path__a_file_spoiled_after_start_is_offline_not_a_crash(
    fake: TokenIdmd, token_path: Path
) -> None:
    provider = make(fake, token_path)
    write_token(token_path, OLD, mode=0o666)
    fake.tokens.clear()
    with pytest.raises(GoOffline, match="writable by group or others") as caught:
        await provider.user_at("alice", far())
    assert OLD not in str(caught.value)
    await provider.aclose()


def test_provider_token_path__a_bad_file_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(TokenFileError, match="no such file"):
        make(FakeIdmd(), tmp_path / "absent")
    bad = tmp_path / "open.token"
    write_token(bad, OLD, mode=0o644)
    with pytest.raises(TokenFileError, match="readable by others"):
        make(FakeIdmd(), bad)
