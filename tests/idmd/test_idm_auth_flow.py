"""The auth state machine: each transition, each invalid state, the bounds of the store."""

import pytest

from hermit_common.clock import FakeClock
from idmd.errors import InvalidAuthState
from idmd.idm.auth.flow import (
    ACCOUNT_EXPIRED,
    MFA_MISSING,
    PASSKEY_MISSING,
    WRONG_CODE,
    WRONG_CREDENTIALS,
    WRONG_PASSKEY,
    AuthSessions,
    AuthSubject,
    Continue,
    Denied,
    Success,
)
from idmd.idm.credentials.passkeys import Ceremony
from idmd.idm.policy.account import AccountPolicy, CredentialType

ALICE = AuthSubject(uuid="0b1e9c2e-7a4b-4c7e-9f57-3d2f1c1a8e11")
UNKNOWN = AuthSubject(uuid=None)
ANON = AuthSubject(uuid="00000000-0000-0000-0000-000000000003", anonymous=True)
NO_NAME = AuthSubject(uuid=None, usernameless=True)
# What the fake relying party sends: a fresh "challenge" per session.
_made: list[int] = []


def _passkey_request() -> tuple[dict[str, object], Ceremony]:
    _made.append(len(_made))
    options: dict[str, object] = {"publicKey": {"challenge": str(len(_made))}}
    return options, Ceremony({"challenge": str(len(_made))}, "webauthn.get")



@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sessions(clock: FakeClock) -> AuthSessions:
    return AuthSessions(clock, passkey=_passkey_request, max_pending=3, ttl=300)


def test_auth__password_success(sessions: AuthSessions) -> None:
    sid, first = sessions.begin(ALICE, read_only=False)
    assert first.methods == ("password", "passkey")
    check = sessions.start_step(sid, "password")
    assert sessions.finish_step(check, credential_ok=True) == Success(ALICE.uuid or "", False)


def test_auth__read_only_is_kept(sessions: AuthSessions) -> None:
    sid, _ = sessions.begin(ALICE, read_only=True)
    outcome = sessions.finish_step(sessions.start_step(sid, "password"), credential_ok=True)
    assert isinstance(outcome, Success) and outcome.read_only


def test_auth__wrong_password_denied_and_session_over(sessions: AuthSessions) -> None:
    sid, _ = sessions.begin(ALICE, read_only=False)
    check = sessions.start_step(sid, "password")
    assert sessions.finish_step(check, credential_ok=False) == Denied(WRONG_CREDENTIALS)
    with pytest.raises(InvalidAuthState):
        sessions.start_step(sid, "password")


def test_auth__unknown_name_offered_password_then_denied_like_wrong(
    sessions: AuthSessions,
) -> None:
    sid, first = sessions.begin(UNKNOWN, read_only=False)
    assert first.methods == ("password", "passkey")
    check = sessions.start_step(sid, "password")
    assert sessions.finish_step(check, credential_ok=True) == Denied(WRONG_CREDENTIALS)


def test_auth__anonymous_is_read_only(sessions: AuthSessions) -> None:
    sid, first = sessions.begin(ANON, read_only=False)
    assert first == Continue(methods=("anonymous",))
    outcome = sessions.finish_step(sessions.start_step(sid, "anonymous"), credential_ok=True)
    assert outcome == Success(ANON.uuid or "", read_only=True)


def test_auth__success_is_final(sessions: AuthSessions) -> None:
    sid, _ = sessions.begin(ALICE, read_only=False)
    sessions.finish_step(sessions.start_step(sid, "password"), credential_ok=True)
    with pytest.raises(InvalidAuthState):
        sessions.start_step(sid, "password")


@pytest.mark.parametrize("sid", [None, "", "made-up"])
def test_auth__step_without_known_session_is_invalid(sessions: AuthSessions, sid: object) -> None:
    sessions.begin(ALICE, read_only=False)
    with pytest.raises(InvalidAuthState):
        sessions.start_step(sid, "password")  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["anonymous", "totp", None, 1])
def test_auth__method_not_offered_is_invalid_and_ends_session(
    sessions: AuthSessions, method: object
) -> None:
    sid, _ = sessions.begin(ALICE, read_only=False)
    with pytest.raises(InvalidAuthState):
        sessions.start_step(sid, method)
    with pytest.raises(InvalidAuthState):
        sessions.start_step(sid, "password")


def test_auth__session_expires_after_ttl(sessions: AuthSessions, clock: FakeClock) -> None:
    sid, _ = sessions.begin(ALICE, read_only=False)
    clock.advance(299)
    assert len(sessions) == 1
    clock.advance(1)
    with pytest.raises(InvalidAuthState):
        sessions.start_step(sid, "password")
    assert len(sessions) == 0


def test_auth__store_is_bounded_oldest_dropped(sessions: AuthSessions) -> None:
    ids = [sessions.begin(ALICE, read_only=False)[0] for _ in range(4)]
    assert len(sessions) == 3
    with pytest.raises(InvalidAuthState):
        sessions.start_step(ids[0], "password")
    assert sessions.start_step(ids[3], "password").session.id == ids[3]


@pytest.mark.parametrize(
    ("valid_from", "expire_at"),
    [(1_800_000_001.0, None), (None, 1_800_000_000.0), (None, 1_700_000_000.0)],
)
def test_auth__outside_validity_denied_after_right_password(
    sessions: AuthSessions, valid_from: float | None, expire_at: float | None
) -> None:
    subject = AuthSubject(uuid=ALICE.uuid, valid_from=valid_from, expire_at=expire_at)
    sid, _ = sessions.begin(subject, read_only=False)
    check = sessions.start_step(sid, "password")
    assert sessions.finish_step(check, credential_ok=True) == Denied(ACCOUNT_EXPIRED)


def test_auth__inside_validity_succeeds(sessions: AuthSessions) -> None:
    subject = AuthSubject(uuid=ALICE.uuid, valid_from=1_700_000_000.0, expire_at=1_800_000_001.0)
    sid, _ = sessions.begin(subject, read_only=False)
    outcome = sessions.finish_step(sessions.start_step(sid, "password"), credential_ok=True)
    assert isinstance(outcome, Success)


TOTP_ALICE = AuthSubject(uuid=ALICE.uuid, has_totp=True)


def test_auth__totp_account_is_asked_a_code_then_the_password(sessions: AuthSessions) -> None:
    sid, first = sessions.begin(TOTP_ALICE, read_only=False)
    assert first.methods == ("totp", "backup_code", "passkey")
    check = sessions.start_step(sid, "backup_code")
    assert sessions.finish_step(check, credential_ok=True) == Continue(methods=("password",))
    with pytest.raises(InvalidAuthState):
        sessions.start_step(sid, "totp")  # the first stage is done; the session is now over


def test_auth__a_wrong_code_ends_the_session_before_the_password(sessions: AuthSessions) -> None:
    sid, _ = sessions.begin(TOTP_ALICE, read_only=False)
    check = sessions.start_step(sid, "totp")
    assert sessions.finish_step(check, credential_ok=False) == Denied(WRONG_CODE)
    with pytest.raises(InvalidAuthState):
        sessions.start_step(sid, "password")


@pytest.mark.parametrize(
    ("min_credential", "has_totp", "reason"),
    [("mfa", False, MFA_MISSING), ("passkey", True, PASSKEY_MISSING), ("mfa", True, None)],
)
def test_auth__policy_is_judged_after_every_credential(
    sessions: AuthSessions, min_credential: CredentialType, has_totp: bool, reason: str | None
) -> None:
    policy = AccountPolicy(min_credential=min_credential)
    subject = AuthSubject(uuid=ALICE.uuid, has_totp=has_totp, policy=policy)
    sid, _ = sessions.begin(subject, read_only=False)
    outcome: object = None
    for method in ("totp", "password") if has_totp else ("password",):
        outcome = sessions.finish_step(sessions.start_step(sid, method), credential_ok=True)
    if reason is None:
        assert isinstance(outcome, Success) and outcome.policy == policy
    else:
        assert outcome == Denied(reason)


def test_auth__reauth_success_names_the_session_it_extends(sessions: AuthSessions) -> None:
    sid, _ = sessions.begin(ALICE, read_only=False, reauth_of="record-id")
    outcome = sessions.finish_step(sessions.start_step(sid, "password"), credential_ok=True)
    assert isinstance(outcome, Success) and outcome.reauth_of == "record-id"


def test_auth_subject__lock_key_of_an_unknown_name_is_folded() -> None:
    assert AuthSubject(uuid=None, name="Mallory").lock_key == "?mallory"
    assert ALICE.lock_key == ALICE.uuid


# -- passkeys ------------------------------------------------------------------------------


@pytest.mark.parametrize("subject", [ALICE, UNKNOWN, TOTP_ALICE, NO_NAME])
def test_auth__passkey_options_exactly_when_a_passkey_is_offered(
    sessions: AuthSessions, subject: AuthSubject
) -> None:
    _, first = sessions.begin(subject, read_only=False)
    assert "passkey" in first.methods
    assert first.passkey is not None and "publicKey" in first.passkey


def test_auth__anonymous_is_offered_no_passkey(sessions: AuthSessions) -> None:
    _, first = sessions.begin(ANON, read_only=False)
    assert first.methods == ("anonymous",) and first.passkey is None


def test_auth__each_session_gets_its_own_challenge(sessions: AuthSessions) -> None:
    _, one = sessions.begin(ALICE, read_only=False)
    _, two = sessions.begin(ALICE, read_only=False)
    assert one.passkey != two.passkey


def test_auth__usernameless_offers_only_a_passkey(sessions: AuthSessions) -> None:
    sid, first = sessions.begin(NO_NAME, read_only=False)
    assert first.methods == ("passkey",)
    with pytest.raises(InvalidAuthState):
        sessions.start_step(sid, "password")


def test_auth__usernameless_success_is_the_account_the_passkey_proved(
    sessions: AuthSessions,
) -> None:
    sid, _ = sessions.begin(NO_NAME, read_only=False)
    check = sessions.start_step(sid, "passkey")
    assert check.session.ceremony is not None
    outcome = sessions.finish_step(check, credential_ok=True, subject=ALICE)
    assert outcome == Success(ALICE.uuid or "", False)


def test_auth__usernameless_without_an_account_is_denied(sessions: AuthSessions) -> None:
    sid, _ = sessions.begin(NO_NAME, read_only=False)
    outcome = sessions.finish_step(sessions.start_step(sid, "passkey"), credential_ok=True)
    assert outcome == Denied(WRONG_PASSKEY)


def test_auth__a_passkey_ends_the_flow_at_once_even_with_a_totp(sessions: AuthSessions) -> None:
    sid, _ = sessions.begin(TOTP_ALICE, read_only=False)
    outcome = sessions.finish_step(
        sessions.start_step(sid, "passkey"), credential_ok=True, subject=TOTP_ALICE
    )
    assert isinstance(outcome, Success)
    with pytest.raises(InvalidAuthState):
        sessions.start_step(sid, "password")


def test_auth__a_refused_passkey_ends_the_session_with_its_reason(
    sessions: AuthSessions,
) -> None:
    sid, _ = sessions.begin(ALICE, read_only=False)
    check = sessions.start_step(sid, "passkey")
    outcome = sessions.finish_step(check, credential_ok=False, reason="cloned")
    assert outcome == Denied("cloned")
    with pytest.raises(InvalidAuthState):
        sessions.start_step(sid, "passkey")


def test_auth__the_ceremony_is_forgotten_after_the_first_stage(sessions: AuthSessions) -> None:
    sid, _ = sessions.begin(TOTP_ALICE, read_only=False)
    second = sessions.finish_step(sessions.start_step(sid, "totp"), credential_ok=True)
    assert second == Continue(methods=("password",))
    check = sessions.start_step(sid, "password")
    assert check.session.ceremony is None


@pytest.mark.parametrize(
    ("min_credential", "method", "reason"),
    [
        ("passkey", "password", PASSKEY_MISSING),
        ("passkey", "passkey", None),
        ("mfa", "passkey", None),
        ("mfa", "password", MFA_MISSING),
    ],
)
def test_auth__policy_and_the_passkey_step(
    sessions: AuthSessions, min_credential: CredentialType, method: str, reason: str | None
) -> None:
    subject = AuthSubject(uuid=ALICE.uuid, policy=AccountPolicy(min_credential=min_credential))
    sid, _ = sessions.begin(subject, read_only=False)
    outcome = sessions.finish_step(
        sessions.start_step(sid, method), credential_ok=True, subject=subject
    )
    if reason is None:
        assert isinstance(outcome, Success)
    else:
        assert outcome == Denied(reason)


def test_auth__a_passkey_is_judged_by_validity_too(sessions: AuthSessions) -> None:
    subject = AuthSubject(uuid=ALICE.uuid, expire_at=1_700_000_000.0)
    sid, _ = sessions.begin(NO_NAME, read_only=False)
    outcome = sessions.finish_step(
        sessions.start_step(sid, "passkey"), credential_ok=True, subject=subject
    )
    assert outcome == Denied(ACCOUNT_EXPIRED)
