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
    PasswordRejected,
    ReadOnlySession,
)
from idmd.idm import Idm
from idmd.idm.credentials import totp
from idmd.idm.credentials.passwords import verify_password_sync
from idmd.server import builtin
from idmd.server.identity import INTERNAL
from idmd.server.mods import Set
from tests.idmd.entries import make_group, make_person
from tests.idmd.idm_callers import admin, caller, stored

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
