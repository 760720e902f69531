"""Credential update sessions without I/O: the store (one per account, idle timeout, bound)
and what a session stages, shows and writes (idmd/idm/credentials/staging.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hermit_common.clock import FakeClock
from idmd.entry import Entry, freeze_attrs
from idmd.errors import InvalidCredentialUpdate, MfaRequired
from idmd.idm.credentials import totp
from idmd.idm.credentials.passkeys import PasskeyRecord, RelyingParty
from idmd.idm.credentials.staging import Authority, StagedPassword, UpdateSessions
from idmd.server.mods import Add, Remove, Set
from tests.idmd.soft_authenticator import SoftAuthenticator

# Whose right a session uses: asked again by the I/O layer (test_idm_credentials_updates.py),
# not here.
AUTH = Authority(actor_uuid="a", unix_by="a")


def _entry(**attrs: list[str]) -> Entry:
    return Entry(1, freeze_attrs({"uuid": {"00000000-0000-0000-0000-000000000001"},
                                  "name": {"alice"}, "spn": {"alice@example.com"},
                                  **{k: set(v) for k, v in attrs.items()}}))


# -- the store ---------------------------------------------------------------------------


def test_sessions__idle_timeout_ends_a_session(clock: FakeClock) -> None:
    sessions = UpdateSessions(clock, idle=60)
    session = sessions.begin("a", may_unix=False, authority=AUTH)
    clock.advance(59)
    assert sessions.use(session.id) is session  # each use restarts the idle clock
    clock.advance(59)
    sessions.use(session.id)
    clock.advance(60)
    with pytest.raises(InvalidCredentialUpdate):
        sessions.use(session.id)
    assert len(sessions) == 0


def test_sessions__a_second_begin_for_the_account_ends_the_first(clock: FakeClock) -> None:
    sessions = UpdateSessions(clock)
    first = sessions.begin("a", may_unix=False, authority=AUTH)
    other = sessions.begin("b", may_unix=False, authority=AUTH)
    second = sessions.begin("a", may_unix=False, authority=AUTH)
    with pytest.raises(InvalidCredentialUpdate):
        sessions.use(first.id)
    assert sessions.use(second.id) is second and sessions.use(other.id) is other


def test_sessions__are_bounded_dropping_the_idlest(clock: FakeClock) -> None:
    sessions = UpdateSessions(clock, max_sessions=2)
    a = sessions.begin("a", may_unix=False, authority=AUTH)
    b = sessions.begin("b", may_unix=False, authority=AUTH)
    sessions.use(a.id)
    sessions.begin("c", may_unix=False, authority=AUTH)
    assert len(sessions) == 2
    sessions.use(a.id)
    with pytest.raises(InvalidCredentialUpdate):
        sessions.use(b.id)


def test_sessions__unknown_or_malformed_ids_are_refused(clock: FakeClock) -> None:
    sessions = UpdateSessions(clock)
    for bad in ("nope", None, 3, ["x"]):
        with pytest.raises(InvalidCredentialUpdate):
            sessions.use(bad)


def test_session__repr_hides_the_id_and_hashes(clock: FakeClock) -> None:
    session = UpdateSessions(clock).begin("a", may_unix=False, authority=AUTH)
    assert session.id not in repr(session)


# -- what a session stages -------------------------------------------------------------


def test_session__mods_replace_remove_and_drop_backup_codes_with_the_last_totp(
    clock: FakeClock,
) -> None:
    phone, tablet = totp.new_record("phone"), totp.new_record("tablet")
    entry = _entry(totp=[phone.encode()], backup_code=["sha256$a$b"], password=["$old"])
    session = UpdateSessions(clock).begin("a", may_unix=True, authority=AUTH)
    session.totp_removed["totp"].add("phone")
    session.passwords["password"] = StagedPassword("$new", vetted_with_second_factor=False)
    assert session.mods(entry) == [
        Set("password", frozenset({"$new"})),
        Remove("totp", phone.encode()),
        Set("backup_code", frozenset()),
    ]
    session.totp_added["unix_totp"]["tablet"] = tablet
    assert Add("unix_totp", tablet.encode()) in session.mods(entry)


def test_session__status_shows_what_is_staged_and_never_a_secret(clock: FakeClock) -> None:
    phone = totp.new_record("phone")
    entry = _entry(password=["$argon2id$old"])
    session = UpdateSessions(clock).begin("a", may_unix=False, authority=AUTH)
    session.passwords["unix_password"] = StagedPassword("$argon2id$new", False)
    session.totp_added["totp"]["phone"] = phone
    status = session.status(entry, min_credential="mfa", expires_at=clock.now() + 60)
    assert (status["password"], status["unix_password"]) == ("set", "staged")
    assert (status["totp"], status["changed"], status["commit_blocker"]) == (["phone"], True, None)
    assert phone.secret not in repr(status) and "$argon2id" not in repr(status)
    blocked = UpdateSessions(clock).begin("b", may_unix=False, authority=AUTH)
    assert isinstance(blocked.commit_blocker(entry, "mfa"), MfaRequired)


# -- passkeys -----------------------------------------------------------------------------


def _passkey(label: str) -> PasskeyRecord:
    rp = RelyingParty("https://idm.example.com")
    options, ceremony = rp.registration(
        "00000000-0000-0000-0000-000000000001", "alice", "Alice", []
    )
    answer = SoftAuthenticator(origin="https://idm.example.com").create(options)
    return rp.finish_registration(ceremony, answer, label=label, now=1_750_000_000)


def test_passkeys__rename_and_remove_become_exact_mods(clock: FakeClock) -> None:
    laptop, phone = _passkey("laptop"), _passkey("phone")
    entry = _entry(passkey=[laptop.encode(), phone.encode()])
    session = UpdateSessions(clock).begin("a", may_unix=False, authority=AUTH)
    session.unstage_passkey(entry, "laptop")
    session.stage_passkey(replace(laptop, label="desk"))
    session.unstage_passkey(entry, "phone")
    assert [r.label for r in session.passkey_records(entry)] == ["desk"]
    assert session.has_changes()
    mods = session.mods(entry)
    assert Remove("passkey", laptop.encode()) in mods
    assert Remove("passkey", phone.encode()) in mods
    assert Add("passkey", replace(laptop, label="desk").encode()) in mods


def test_passkeys__a_staged_one_unstaged_leaves_nothing_to_write(clock: FakeClock) -> None:
    entry = _entry()
    session = UpdateSessions(clock).begin("a", may_unix=False, authority=AUTH)
    session.stage_passkey(_passkey("laptop"))
    session.unstage_passkey(entry, "laptop")
    assert not session.has_changes()
    assert not [m for m in session.mods(entry) if m.attr == "passkey"]


@pytest.mark.parametrize(
    ("min_credential", "passkeys", "blocked"),
    [("passkey", False, True), ("passkey", True, False), ("mfa", True, False),
     ("mfa", False, True)],
)
def test_passkeys__commit_blocker_by_policy(
    clock: FakeClock, min_credential: str, passkeys: bool, blocked: bool
) -> None:
    entry = _entry(passkey=[_passkey("laptop").encode()] if passkeys else [])
    session = UpdateSessions(clock).begin("a", may_unix=False, authority=AUTH)
    blocker = session.commit_blocker(entry, min_credential)
    assert (blocker is not None) is blocked
    if blocker is not None:
        assert isinstance(blocker, MfaRequired)
