"""idm refuses out-of-bounds input itself, whichever door it came through (idmd/idm/bounds.py,
passwords.validate_password): these tests call ``Idm`` directly, with no web layer."""

from __future__ import annotations

import pytest

from hermit_common.errors import InvalidValue
from idmd import limits
from idmd.entry import Entry
from idmd.errors import InvalidAuthState, NotFound
from idmd.idm import Idm, bounds
from idmd.idm.credentials.passwords import MIN_PASSWORD_CHARS
from tests.idmd.idm_callers import admin

# 171 euro signs: 171 characters, 513 UTF-8 bytes (one over MAX_PASSWORD_BYTES).
OVER_512_BYTES = "\u20ac" * 171
assert len(OVER_512_BYTES.encode()) == limits.MAX_PASSWORD_BYTES + 1


@pytest.mark.parametrize("password", ["x" * (MIN_PASSWORD_CHARS - 1), OVER_512_BYTES, 12345678])
async def test_idm_set_password__refuses_out_of_bounds(
    idm: Idm, alice: Entry, password: object
) -> None:
    with pytest.raises(InvalidValue):
        await idm.set_password(admin(idm), "person", "alice", "password", password)  # type: ignore[arg-type]
    with idm.server.read() as txn:
        entry = txn.get(alice.uuid)
    assert entry is not None and not entry.get("password")


async def test_credential_update_set_password__refuses_out_of_bounds(
    idm: Idm, alice: Entry
) -> None:
    session = idm.credential_updates.begin(admin(idm), "alice")
    with pytest.raises(InvalidValue):
        await idm.credential_updates.set_password(session, "password", OVER_512_BYTES)
    assert idm.credential_updates.status(session)["password"] == "unset"


def test_login_begin__refuses_a_name_over_the_text_limit(idm: Idm) -> None:
    with pytest.raises(InvalidValue):
        idm.login.begin("a" * (limits.MAX_TEXT_LEN + 1), read_only=False)
    idm.login.begin("a" * limits.MAX_TEXT_LEN, read_only=False)


@pytest.mark.parametrize(
    ("method", "credential"),
    [
        ("password", OVER_512_BYTES),
        ("totp", "1" * (limits.MAX_TOTP_CODE_LEN + 1)),
        ("backup_code", "b" * (limits.MAX_BACKUP_CODE_LEN + 1)),
    ],
)
async def test_login_step__refuses_a_credential_over_its_bytes_before_the_session(
    idm: Idm, method: str, credential: str
) -> None:
    # No session at all: the bound is checked first, so the answer is the bound's.
    with pytest.raises(InvalidValue):
        await idm.login.step(None, method, credential)
    with pytest.raises(InvalidAuthState):
        await idm.login.step(None, method, credential[:8])


@pytest.mark.parametrize(
    ("password", "code"),
    [(OVER_512_BYTES, None), ("a good password", "1" * (limits.MAX_TOTP_CODE_LEN + 1))],
)
async def test_unix_auth__refuses_out_of_bounds(
    idm: Idm, alice: Entry, password: str, code: str | None
) -> None:
    with pytest.raises(InvalidValue):
        await idm.unix_auth(admin(idm), "alice", password, code)
    # Nothing was counted against the account's softlock.
    assert idm.softlocks.failures(alice.uuid, "unix_password") == 0


@pytest.mark.parametrize("scope", ["admin", "", None, True])
def test_create_api_token__refuses_an_unknown_scope(idm: Idm, scope: object) -> None:
    with pytest.raises(InvalidValue):
        idm.create_api_token(admin(idm), "nobody", "ci", scope=scope, expires_at=None)


def test_create_api_token__known_scopes_pass_the_bound(idm: Idm) -> None:
    for scope in bounds.API_TOKEN_SCOPES:
        with pytest.raises(NotFound):
            idm.create_api_token(admin(idm), "nobody", "ci", scope=scope, expires_at=None)


def test_bounds__step_credential_counts_utf8_bytes() -> None:
    at_most = "\u20ac" * 170  # 510 bytes
    kept = bounds.validate_step_credential("password", at_most)
    assert kept is not None and kept.reveal() == at_most
    assert bounds.validate_step_credential("anonymous", None) is None
    with pytest.raises(InvalidValue):
        bounds.validate_step_credential("password", OVER_512_BYTES)
