"""Credential update sessions against a real database: who may begin, staging, commit,
cancel, idle timeout, policy, reset tokens (idmd/idm/credentials/updates.py)."""

from __future__ import annotations

import pyotp
import pytest

from hermit_common.clock import FakeClock
from hermit_common.errors import InvalidRequest, InvalidValue
from hermit_common.secret import Secret
from idmd import limits
from idmd.entry import Entry
from idmd.errors import (
    AccessDenied,
    Conflict,
    InvalidCredentialUpdate,
    InvalidResetToken,
    MfaRequired,
    NotFound,
    PasswordRejected,
    ReadOnlySession,
)
from idmd.idm import Idm
from idmd.idm.credentials import passkeys, totp
from idmd.idm.credentials.passwords import verify_password_sync
from idmd.idm.directory import accounts, lookup
from idmd.idm.directory.views import JSON
from idmd.idm.values import iso_time
from idmd.server import builtin
from idmd.server.identity import INTERNAL
from idmd.server.mods import Set
from tests.idmd.app_client import BASE_URL
from tests.idmd.entries import make_group, make_person
from tests.idmd.idm_callers import admin, caller, enrol_passkey, stored
from tests.idmd.soft_authenticator import AuthenticatorRefused, SoftAuthenticator

GOOD = Secret("correct horse battery staple 42")
ALSO_GOOD = Secret("an entirely different long passphrase 7")


def current_code(record_uri: str, clock: FakeClock) -> str:
    app = pyotp.parse_uri(record_uri)
    assert isinstance(app, pyotp.TOTP)
    return str(app.at(clock.now()))


# -- who may begin ----------------------------------------------------------------------


def test_begin__owner_and_admin_may_others_may_not(idm: Idm, alice: Entry) -> None:
    updates = idm.credential_updates
    with idm.server.write() as txn:
        bob = make_person(txn, "bob")
    assert updates.begin(caller(idm, alice.uuid), "alice")
    assert updates.begin(admin(idm), "alice")
    with pytest.raises(AccessDenied):
        updates.begin(caller(idm, bob.uuid), "alice")
    with pytest.raises(ReadOnlySession):
        updates.begin(caller(idm, alice.uuid, read_only=True), "alice")


def test_begin__the_unix_password_needs_its_own_right(idm: Idm, alice: Entry) -> None:
    # idm_admin's people admins may change passwords; the unix password is the unix admins'.
    with idm.server.write() as txn:
        txn.modify(INTERNAL, builtin.UUID_IDM_UNIX_ADMINS, [Set("member", frozenset())])
    sid = idm.credential_updates.begin(admin(idm), "alice")
    assert idm.credential_updates.status(sid)["unix_allowed"] is False
    with pytest.raises(AccessDenied):
        idm.credential_updates.begin_totp(sid, "phone", unix=True)
    own = idm.credential_updates.begin(caller(idm, alice.uuid), "alice")
    assert idm.credential_updates.status(own)["unix_allowed"] is True


# -- staging and commit -----------------------------------------------------------------


async def test_commit__nothing_applies_before_it(idm: Idm, alice: Entry, clock: FakeClock) -> None:
    updates = idm.credential_updates
    sid = updates.begin(admin(idm), "alice")
    await updates.set_password(sid, "password", GOOD)
    enrolment = updates.begin_totp(sid, "phone", unix=False)
    status = updates.confirm_totp(sid, current_code(enrolment.uri.reveal(), clock))
    assert status["password"] == "staged" and status["totp"] == ["phone"]
    assert status["changed"] is True
    before = stored(idm, alice.uuid)
    assert not before.get("password") and not before.get("totp")
    assert updates.commit(sid) == (True, 0)
    after = stored(idm, alice.uuid)
    phc = after.first("password")
    assert phc is not None and verify_password_sync(GOOD.reveal(), phc)
    (record,) = totp.records(after.get("totp"))
    assert record.label == "phone"
    with pytest.raises(InvalidCredentialUpdate):
        updates.status(sid)
    with pytest.raises(InvalidCredentialUpdate):
        updates.commit(sid)


async def test_cancel__discards_everything(idm: Idm, alice: Entry) -> None:
    updates = idm.credential_updates
    sid = updates.begin(admin(idm), "alice")
    await updates.set_password(sid, "unix_password", GOOD)
    updates.cancel(sid)
    assert not stored(idm, alice.uuid).get("unix_password")
    with pytest.raises(InvalidCredentialUpdate):
        updates.commit(sid)
    with pytest.raises(InvalidCredentialUpdate):
        updates.cancel(sid)


async def test_commit__after_the_idle_timeout_is_refused(
    idm: Idm, alice: Entry, clock: FakeClock
) -> None:
    updates = idm.credential_updates
    sid = updates.begin(admin(idm), "alice")
    await updates.set_password(sid, "password", GOOD)
    clock.advance(limits.CREDENTIAL_UPDATE_IDLE_SECONDS)
    with pytest.raises(InvalidCredentialUpdate):
        updates.commit(sid)
    assert not stored(idm, alice.uuid).get("password")


async def test_set_password__is_vetted_by_the_password_policy(idm: Idm, alice: Entry) -> None:
    sid = idm.credential_updates.begin(admin(idm), "alice")
    with pytest.raises(PasswordRejected):
        await idm.credential_updates.set_password(sid, "password", Secret("alice-alice-123"))
    assert idm.credential_updates.status(sid)["password"] == "unset"


def test_confirm_totp__falls_back_to_sha1_for_apps_ignoring_the_algorithm(
    idm: Idm, alice: Entry, clock: FakeClock
) -> None:
    updates = idm.credential_updates
    sid = updates.begin(admin(idm), "alice")
    enrolment = updates.begin_totp(sid, "phone", unix=True)
    assert enrolment.algorithm == "sha256" and "algorithm=SHA256" in enrolment.uri.reveal()
    with pytest.raises(InvalidValue):
        updates.confirm_totp(sid, "000000")
    sha1_app = pyotp.TOTP(enrolment.secret.reveal())  # ignores algorithm=SHA256
    updates.confirm_totp(sid, sha1_app.at(clock.now()))
    assert updates.commit(sid) == (True, 0)
    (record,) = totp.records(stored(idm, alice.uuid).get("unix_totp"))
    assert record.algorithm == "sha1"
    # The enrolment code is used up: it never logs in.
    assert totp.check(record, sha1_app.at(clock.now()), clock.now()) is None


def test_totp__labels_are_unique_and_removal_is_staged(
    idm: Idm, alice: Entry, clock: FakeClock
) -> None:
    updates = idm.credential_updates
    sid = updates.begin(admin(idm), "alice")
    enrolment = updates.begin_totp(sid, "phone", unix=False)
    updates.confirm_totp(sid, current_code(enrolment.uri.reveal(), clock))
    with pytest.raises(Conflict):
        updates.begin_totp(sid, "phone", unix=False)
    with pytest.raises(InvalidRequest):
        updates.confirm_totp(sid, "123456")  # nothing pending any more
    updates.commit(sid)

    sid = updates.begin(admin(idm), "alice")
    assert updates.remove_totp(sid, "tablet", unix=False)[0] is False
    removed, status = updates.remove_totp(sid, "phone", unix=False)
    assert removed is True and status["totp"] == []
    assert totp.records(stored(idm, alice.uuid).get("totp"))  # not before commit
    assert updates.commit(sid) == (True, 0)
    assert not stored(idm, alice.uuid).get("totp")


def test_backup_codes__need_a_totp_are_hashed_and_go_with_the_last_totp(
    idm: Idm, alice: Entry, clock: FakeClock
) -> None:
    updates = idm.credential_updates
    sid = updates.begin(admin(idm), "alice")
    with pytest.raises(InvalidRequest):
        updates.generate_backup_codes(sid)
    enrolment = updates.begin_totp(sid, "phone", unix=False)
    updates.confirm_totp(sid, current_code(enrolment.uri.reveal(), clock))
    secrets, status = updates.generate_backup_codes(sid)
    codes = [code.reveal() for code in secrets]
    assert len(codes) == limits.BACKUP_CODE_COUNT and status["backup_codes"] == len(codes)
    updates.commit(sid)
    values = stored(idm, alice.uuid).get("backup_code")
    assert len(values) == len(codes)
    assert not any(code in value for code in codes for value in values)
    assert totp.match_backup_code(values, codes[3]) is not None

    sid = updates.begin(admin(idm), "alice")
    assert updates.remove_totp(sid, "phone", unix=False)[1]["backup_codes"] == 0
    updates.commit(sid)
    assert not stored(idm, alice.uuid).get("backup_code")


def test_commit__refuses_to_leave_an_mfa_account_without_totp(
    idm: Idm, alice: Entry, clock: FakeClock
) -> None:
    with idm.server.write() as txn:
        make_group(txn, "strict", (alice,), policy_min_credential=["mfa"])
    updates = idm.credential_updates
    sid = updates.begin(admin(idm), "alice")
    assert "TOTP" in str(updates.status(sid)["commit_blocker"])
    with pytest.raises(MfaRequired):
        updates.commit(sid)
    enrolment = updates.begin_totp(sid, "phone", unix=False)
    updates.confirm_totp(sid, current_code(enrolment.uri.reveal(), clock))
    assert updates.status(sid)["commit_blocker"] is None
    assert updates.commit(sid) == (True, 0)


async def test_commit__refuses_a_password_vetted_for_a_second_factor_then_removed(
    idm: Idm, alice: Entry, clock: FakeClock
) -> None:
    updates = idm.credential_updates
    sid = updates.begin(admin(idm), "alice")
    enrolment = updates.begin_totp(sid, "phone", unix=False)
    updates.confirm_totp(sid, current_code(enrolment.uri.reveal(), clock))
    await updates.set_password(sid, "password", GOOD)
    updates.remove_totp(sid, "phone", unix=False)
    with pytest.raises(PasswordRejected):
        updates.commit(sid)
    await updates.set_password(sid, "password", ALSO_GOOD)
    assert updates.commit(sid) == (True, 0)


# -- reset tokens -----------------------------------------------------------------------


async def test_reset_token__begins_a_session_once(
    idm: Idm, alice: Entry, clock: FakeClock
) -> None:
    updates = idm.credential_updates
    token, expires_at = updates.create_reset_token(admin(idm), "alice", 3600)
    token = token.reveal()
    assert expires_at.endswith("Z")
    sid = updates.begin_with_reset_token(token)
    assert updates.status(sid)["unix_allowed"] is True
    await updates.set_password(sid, "password", GOOD)
    updates.commit(sid)
    with pytest.raises(InvalidResetToken):
        updates.begin_with_reset_token(token)


def test_reset_token__expires(idm: Idm, alice: Entry, clock: FakeClock) -> None:
    token, _ = idm.credential_updates.create_reset_token(admin(idm), "alice", 600)
    token = token.reveal()
    clock.advance(600)
    with pytest.raises(InvalidResetToken):
        idm.credential_updates.begin_with_reset_token(token)


def test_reset_token__only_others_with_the_right_may_create(idm: Idm, alice: Entry) -> None:
    with idm.server.write() as txn:
        bob = make_person(txn, "bob")
    with pytest.raises(AccessDenied):
        idm.credential_updates.create_reset_token(caller(idm, alice.uuid), "alice")
    with pytest.raises(AccessDenied):
        idm.credential_updates.create_reset_token(caller(idm, bob.uuid), "alice")
    with pytest.raises(ReadOnlySession):
        idm.credential_updates.create_reset_token(
            caller(idm, builtin.UUID_IDM_ADMIN, read_only=True), "alice"
        )


# -- passkeys -----------------------------------------------------------------------------


def _authenticator() -> SoftAuthenticator:
    return SoftAuthenticator(origin=BASE_URL)


def _add_passkey(idm: Idm, sid: str, label: str, authenticator: SoftAuthenticator) -> JSON:
    options = idm.credential_updates.begin_passkey(sid, label)
    return idm.credential_updates.finish_passkey(sid, authenticator.create(options))


def test_passkey__enrolled_in_a_session_and_written_by_commit(
    idm: Idm, alice: Entry, clock: FakeClock
) -> None:
    updates = idm.credential_updates
    sid = updates.begin(caller(idm, alice.uuid), "alice")
    authenticator = _authenticator()
    options = updates.begin_passkey(sid, "Laptop")
    assert options["publicKey"]["user"]["name"] == "alice@example.com"
    status = updates.finish_passkey(sid, authenticator.create(options))
    assert status["passkeys"] == [
        {"label": "laptop", "created_at": iso_time(clock.now()), "last_used_at": None}
    ]
    assert status["changed"] is True
    assert not stored(idm, alice.uuid).get("passkey")  # nothing before commit
    assert updates.commit(sid) == (True, 0)
    (record,) = passkeys.records(stored(idm, alice.uuid).get("passkey"))
    assert record.label == "laptop"
    assert record.credential_id == authenticator.only().credential_id


def test_passkey__a_reset_token_enrols_one_with_no_password(
    idm: Idm, alice: Entry
) -> None:
    updates = idm.credential_updates
    token, _ = updates.create_reset_token(admin(idm), "alice")
    sid = updates.begin_with_reset_token(token.reveal())
    _add_passkey(idm, sid, "phone", _authenticator())
    assert updates.commit(sid) == (True, 0)
    entry = stored(idm, alice.uuid)
    assert not entry.get("password") and len(entry.get("passkey")) == 1


def test_passkey__the_same_authenticator_is_not_enrolled_twice(
    idm: Idm, alice: Entry
) -> None:
    authenticator = _authenticator()
    enrol_passkey(idm, alice.uuid, "laptop", authenticator)
    sid = idm.credential_updates.begin(caller(idm, alice.uuid), "alice")
    options = idm.credential_updates.begin_passkey(sid, "again")
    excluded = options["publicKey"]["excludeCredentials"]
    assert len(excluded) == 1
    with pytest.raises(AuthenticatorRefused):
        authenticator.create(options)
    # A client that ignores excludeCredentials and sends the enrolled credential id again
    # is refused by hermit itself.
    options["publicKey"]["excludeCredentials"] = []
    forged = _authenticator().create(options, credential_id=authenticator.only().credential_id)
    with pytest.raises(Conflict, match="enrolled already"):
        idm.credential_updates.finish_passkey(sid, forged)


def test_passkey__labels_are_unique_and_at_most_32(idm: Idm, alice: Entry) -> None:
    updates = idm.credential_updates
    sid = updates.begin(caller(idm, alice.uuid), "alice")
    for n in range(passkeys.MAX_PASSKEYS_PER_ACCOUNT):
        _add_passkey(idm, sid, f"key{n}", _authenticator())
    with pytest.raises(InvalidRequest, match="at most 32"):
        updates.begin_passkey(sid, "one-more")
    with pytest.raises(Conflict):
        updates.begin_passkey(sid, "key3")
    assert updates.commit(sid) == (True, 0)
    assert len(stored(idm, alice.uuid).get("passkey")) == 32


def test_passkey__an_answer_to_another_sessions_challenge_is_refused(
    idm: Idm, alice: Entry
) -> None:
    updates = idm.credential_updates
    with idm.server.write() as txn:
        make_person(txn, "bob")
    mine = updates.begin(caller(idm, alice.uuid), "alice")
    updates.begin_passkey(mine, "laptop")
    theirs = updates.begin(admin(idm), "bob")
    other_options = updates.begin_passkey(theirs, "laptop")
    with pytest.raises(InvalidValue, match="another or an already used ceremony"):
        updates.finish_passkey(mine, _authenticator().create(other_options))
    # The ceremony is over: the same answer cannot be tried again.
    with pytest.raises(InvalidRequest):
        updates.finish_passkey(mine, _authenticator().create(other_options))
    assert updates.status(mine)["passkeys"] == []
    assert updates.commit(mine) == (False, 0)
    assert not stored(idm, alice.uuid).get("passkey")


def test_passkey__finish_without_begin_is_refused(idm: Idm, alice: Entry) -> None:
    sid = idm.credential_updates.begin(caller(idm, alice.uuid), "alice")
    with pytest.raises(InvalidRequest):
        idm.credential_updates.finish_passkey(sid, {"type": "public-key"})


def test_passkey__rename_and_remove_are_staged(idm: Idm, alice: Entry) -> None:
    enrol_passkey(idm, alice.uuid, "laptop", _authenticator())
    enrol_passkey(idm, alice.uuid, "phone", _authenticator())
    updates = idm.credential_updates
    sid = updates.begin(caller(idm, alice.uuid), "alice")
    with pytest.raises(Conflict):
        updates.rename_passkey(sid, "laptop", "phone")
    with pytest.raises(NotFound):
        updates.rename_passkey(sid, "tablet", "desk")
    status = updates.rename_passkey(sid, "laptop", "work-laptop")
    assert [p["label"] for p in status["passkeys"]] == ["phone", "work-laptop"]
    assert updates.remove_passkey(sid, "tablet")[0] is False
    removed, status = updates.remove_passkey(sid, "phone")
    assert removed and [p["label"] for p in status["passkeys"]] == ["work-laptop"]
    assert len(stored(idm, alice.uuid).get("passkey")) == 2  # not before commit
    updates.commit(sid)
    (record,) = passkeys.records(stored(idm, alice.uuid).get("passkey"))
    assert record.label == "work-laptop"


def test_passkey__a_staged_one_can_be_renamed_and_removed_before_commit(
    idm: Idm, alice: Entry
) -> None:
    updates = idm.credential_updates
    sid = updates.begin(caller(idm, alice.uuid), "alice")
    _add_passkey(idm, sid, "laptop", _authenticator())
    updates.rename_passkey(sid, "laptop", "desk")
    assert updates.remove_passkey(sid, "desk")[0] is True
    assert updates.status(sid)["changed"] is False
    assert updates.commit(sid) == (False, 0)


def test_passkey__policy_passkey_needs_one_and_mfa_takes_one(idm: Idm, alice: Entry) -> None:
    with idm.server.write() as txn:
        group = make_group(txn, "strict", (alice,), policy_min_credential=["passkey"])
    updates = idm.credential_updates
    sid = updates.begin(caller(idm, alice.uuid), "alice")
    assert "add a passkey" in str(updates.status(sid)["commit_blocker"])
    with pytest.raises(MfaRequired):
        updates.commit(sid)
    _add_passkey(idm, sid, "laptop", _authenticator())
    assert updates.status(sid)["commit_blocker"] is None
    updates.commit(sid)
    with idm.server.write() as txn:
        txn.modify(INTERNAL, group.uuid, [Set("policy_min_credential", frozenset({"mfa"}))])
    sid = updates.begin(caller(idm, alice.uuid), "alice")
    assert updates.status(sid)["commit_blocker"] is None  # a passkey meets mfa
    updates.remove_passkey(sid, "laptop")
    assert "TOTP or a passkey" in str(updates.status(sid)["commit_blocker"])


def test_overview__the_callers_own_account_with_nothing_staged(
    idm: Idm, alice: Entry
) -> None:
    enrol_passkey(idm, alice.uuid, "laptop", _authenticator())
    view = idm.credential_updates.overview(caller(idm, alice.uuid))
    assert view["account"]["name"] == "alice"
    assert [p["label"] for p in view["passkeys"]] == ["laptop"]
    assert view["expires_at"] is None and view["changed"] is False
    sid = idm.credential_updates.begin(caller(idm, alice.uuid), "alice")
    assert set(view) == set(idm.credential_updates.status(sid))
    with pytest.raises(AccessDenied):
        idm.credential_updates.overview(caller(idm, builtin.UUID_ANONYMOUS))


def test_list_passkeys__for_the_owner_and_admins_only(idm: Idm, alice: Entry) -> None:
    with idm.server.write() as txn:
        bob = make_person(txn, "bob")
    enrol_passkey(idm, alice.uuid, "laptop", _authenticator())
    for who in (caller(idm, alice.uuid), admin(idm), caller(idm, alice.uuid, read_only=True)):
        (listed,) = idm.credential_updates.list_passkeys(who, "alice")
        assert listed["label"] == "laptop" and listed["last_used_at"] is None
    with pytest.raises(AccessDenied):
        idm.credential_updates.list_passkeys(caller(idm, bob.uuid), "alice")
    with pytest.raises(NotFound):
        idm.credential_updates.list_passkeys(admin(idm), "nobody")


def test_passkey__never_in_a_generic_view(idm: Idm, alice: Entry) -> None:
    enrol_passkey(idm, alice.uuid, "laptop", _authenticator())
    admin_caller = admin(idm)
    view = idm.read(admin_caller, accounts.get_account, "person", "alice")
    assert "passkey" not in view
    with idm.server.read() as txn:
        for who in (admin_caller, caller(idm, alice.uuid)):
            assert "passkey" not in lookup.read_as(txn, who.identity, alice).attrs
