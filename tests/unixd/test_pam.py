"""The PAM conversation as a sans-IO state machine, driven by a scripted checker that fails on
checks it did not expect and on checks left unused, with every transition after a check listed
once (password + TOTP and offline_mfa included); the per-connection session table; and the
online/offline state machine beside it (both are tables of transitions)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import pytest

from unixd.proto.messages import CodePrompt, DeniedPrompt, PasswordPrompt, SuccessPrompt
from unixd.resolver.pam import (
    _TRANSITIONS,
    CANNOT_CHECK,
    CODE_PROMPT,
    EXPIRED,
    LOCKED,
    MAX_SESSIONS_PER_CONNECTION,
    NO_HASH,
    OFFLINE_MFA_DENIED,
    OVER,
    PASSWORD_PROMPT,
    WRONG_PASSWORD,
    WRONG_PASSWORD_OR_CODE,
    Action,
    Conversation,
    ConversationError,
    OfflineMfa,
    Outcome,
    Reply,
    SessionTable,
    Step,
    VerifyOffline,
    VerifyOnline,
)
from unixd.resolver.state import FIRST_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS, OnlineState


class Script:
    """Expected checks in order, each with the outcome to report."""

    def __init__(self, *steps: tuple[type, Outcome]) -> None:
        self._steps = deque(steps)

    def run(self, conversation: Conversation, answer: str, *, online: bool) -> Reply:
        action = conversation.receive(answer, online=online)
        while not isinstance(action, Reply):
            assert self._steps, f"unexpected check {type(action).__name__}"
            expected, outcome = self._steps.popleft()
            assert isinstance(action, expected), f"{type(action).__name__} instead of {expected}"
            assert action.password == answer
            action = conversation.outcome(outcome)
        assert not self._steps, "checks left unused"
        return action


def test_conversation__starts_by_asking_a_password_without_echo() -> None:
    reply = Conversation("u").start()
    assert reply.prompt == PasswordPrompt(prompt=PASSWORD_PROMPT)
    assert reply.prompt.to_json()["echo"] is False


@pytest.mark.parametrize(
    ("online", "script", "expected"),
    [
        (True, [(VerifyOnline, Outcome.ACCEPTED)], SuccessPrompt()),
        (True, [(VerifyOnline, Outcome.REFUSED)],
         DeniedPrompt(reason="wrong password")),
        (True, [(VerifyOnline, Outcome.EXPIRED)],
         DeniedPrompt(reason="this account is expired or not yet valid")),
        (True, [(VerifyOnline, Outcome.ERROR)],
         DeniedPrompt(reason="the password cannot be checked now")),
        (True,
         [(VerifyOnline, Outcome.UNREACHABLE), (VerifyOffline, Outcome.ACCEPTED)],
         SuccessPrompt()),
        (True,
         [(VerifyOnline, Outcome.UNREACHABLE), (VerifyOffline, Outcome.REFUSED)],
         DeniedPrompt(reason="wrong password")),
        (False, [(VerifyOffline, Outcome.ACCEPTED)], SuccessPrompt()),
        (False, [(VerifyOffline, Outcome.NO_HASH)],
         DeniedPrompt(reason="the identity server is unreachable and this password was never "
                             "used on this host")),
    ],
)
def test_conversation__each_path_ends_in_its_prompt(
    online: bool, script: list[tuple[type, Outcome]], expected: object
) -> None:
    conversation = Conversation("u")
    conversation.start()
    reply = Script(*script).run(conversation, "secret", online=online)
    assert reply.prompt == expected
    assert conversation.done


def test_conversation__an_outcome_without_a_rule_is_our_bug() -> None:
    conversation = Conversation("u")
    conversation.receive("secret", online=False)
    with pytest.raises(ConversationError):
        conversation.outcome(Outcome.UNREACHABLE)  # offline cannot become more offline


def test_conversation__a_step_after_the_end_is_denied() -> None:
    conversation = Conversation("u")
    Script((VerifyOnline, Outcome.ACCEPTED)).run(conversation, "secret", online=True)
    reply = conversation.receive("again", online=True)
    assert isinstance(reply, Reply)
    assert isinstance(reply.prompt, DeniedPrompt)


def test_conversation__never_shows_the_password() -> None:
    conversation = Conversation("u")
    action = conversation.receive("hunter2-secret", online=True)
    assert "hunter2" not in repr(action)
    assert "hunter2" not in repr(conversation)


def test_session_table__is_a_bounded_lru() -> None:
    table = SessionTable()
    ids = [table.add(Conversation(str(i)))
           for i in range(MAX_SESSIONS_PER_CONNECTION)]
    assert table.get(ids[0]) is not None  # now the most recently used
    table.add(Conversation("new"))
    assert len(table) == MAX_SESSIONS_PER_CONNECTION
    assert table.get(ids[1]) is None  # the least recently used went
    assert table.get(ids[0]) is not None
    table.remove(ids[0])
    assert table.get(ids[0]) is None


def test_session_table__ids_are_long_and_distinct() -> None:
    table = SessionTable()
    ids = {table.add(Conversation("u")) for _ in range(4)}
    assert len(ids) == 4
    assert all(len(session) == 43 for session in ids)


def test_online_state__backs_off_doubling_to_a_cap_and_resets_when_online() -> None:
    state = OnlineState()
    assert state.may_try(0.0)
    state.failed(100.0)
    assert not state.may_try(100.0 + FIRST_BACKOFF_SECONDS - 1)
    assert state.may_try(100.0 + FIRST_BACKOFF_SECONDS)
    now = 100.0
    for _ in range(12):
        now += 1000
        state.failed(now)
    assert state.retry_at == now + MAX_BACKOFF_SECONDS
    state.succeeded()
    assert state.is_online and state.may_try(now)
    state.failed(now)
    assert state.retry_at == now + FIRST_BACKOFF_SECONDS


def test_online_state__a_network_change_ends_the_back_off_but_keeps_its_length() -> None:
    state = OnlineState()
    state.failed(0.0)
    state.network_changed()
    assert state.may_try(0.0)
    assert not state.is_online
    state.failed(1.0)
    assert state.retry_at == 1.0 + 2 * FIRST_BACKOFF_SECONDS


# Password + TOTP ------------------------------------------------------------------------------

CODE = "123456"


def _at_code(offline_mfa: OfflineMfa = OfflineMfa.DENY) -> Conversation:
    conversation = Conversation("u", mfa=True, offline_mfa=offline_mfa)
    reply = conversation.receive("secret", online=True)
    assert reply == Reply(CodePrompt(prompt=CODE_PROMPT))
    return conversation


def test_conversation__mfa_asks_for_the_code_with_echo_then_checks_both_online() -> None:
    conversation = _at_code()
    assert conversation.step is Step.AWAIT_CODE
    assert CodePrompt(prompt=CODE_PROMPT).to_json()["echo"] is True
    action = conversation.receive(CODE, online=True)
    assert action == VerifyOnline("secret", CODE)
    assert "secret" not in repr(action) and CODE not in repr(action)
    assert conversation.outcome(Outcome.ACCEPTED) == Reply(SuccessPrompt())


def test_conversation__mfa_offline_at_the_password_with_deny_is_denied_without_a_code() -> None:
    conversation = Conversation("u", mfa=True)
    assert conversation.receive("secret", online=False) == Reply(
        DeniedPrompt(reason=OFFLINE_MFA_DENIED))
    assert conversation.done


def test_conversation__mfa_offline_with_password_policy_lets_the_cached_hash_decide() -> None:
    conversation = Conversation("u", mfa=True,
                                offline_mfa=OfflineMfa.PASSWORD)
    # The code is still asked (prompts do not tell online from offline), never checked.
    assert conversation.receive("secret", online=False) == Reply(CodePrompt(prompt=CODE_PROMPT))
    assert conversation.receive(CODE, online=False) == VerifyOffline("secret")
    assert conversation.outcome(Outcome.ACCEPTED) == Reply(SuccessPrompt())


@pytest.mark.parametrize("offline_mfa", list(OfflineMfa))
def test_conversation__mfa_offline_by_the_code(offline_mfa: OfflineMfa) -> None:
    conversation = _at_code(offline_mfa)
    action = conversation.receive(CODE, online=False)
    if offline_mfa is OfflineMfa.DENY:
        assert action == Reply(DeniedPrompt(reason=OFFLINE_MFA_DENIED))
    else:
        assert action == VerifyOffline("secret")


def test_conversation__the_code_is_dropped_at_the_end() -> None:
    conversation = _at_code()
    conversation.receive(CODE, online=True)
    conversation.outcome(Outcome.REFUSED)
    assert conversation._password is None and conversation._code is None


# Every transition after a check: (how to get there, outcome, what follows). The last test of
# this block proves the list covers the whole of ``_TRANSITIONS``.


def _online() -> Conversation:
    conversation = Conversation("u")
    assert isinstance(conversation.receive("secret", online=True), VerifyOnline)
    return conversation


def _online_with_code(offline_mfa: OfflineMfa = OfflineMfa.DENY) -> Conversation:
    conversation = _at_code(offline_mfa)
    assert isinstance(conversation.receive(CODE, online=True), VerifyOnline)
    return conversation


def _offline() -> Conversation:
    conversation = Conversation("u")
    assert isinstance(conversation.receive("secret", online=False), VerifyOffline)
    return conversation


TRANSITION_CASES: list[tuple[str, Callable[[], Conversation], Outcome, Action]] = [
    ("online accepted", _online, Outcome.ACCEPTED, Reply(SuccessPrompt())),
    ("online refused", _online, Outcome.REFUSED, Reply(DeniedPrompt(reason=WRONG_PASSWORD))),
    ("online refused with a code", _online_with_code, Outcome.REFUSED,
     Reply(DeniedPrompt(reason=WRONG_PASSWORD_OR_CODE))),
    ("online expired", _online, Outcome.EXPIRED, Reply(DeniedPrompt(reason=EXPIRED))),
    ("online error", _online, Outcome.ERROR, Reply(DeniedPrompt(reason=CANNOT_CHECK))),
    ("online unreachable", _online, Outcome.UNREACHABLE, VerifyOffline("secret")),
    ("online unreachable with a code, deny", _online_with_code, Outcome.UNREACHABLE,
     Reply(DeniedPrompt(reason=OFFLINE_MFA_DENIED))),
    ("online unreachable with a code, password",
     lambda: _online_with_code(OfflineMfa.PASSWORD), Outcome.UNREACHABLE,
     VerifyOffline("secret")),
    ("online locked", _online, Outcome.LOCKED, Reply(DeniedPrompt(reason=LOCKED))),
    ("online locked with a code", _online_with_code, Outcome.LOCKED,
     Reply(DeniedPrompt(reason=LOCKED))),
    ("online mfa required: ask the code", _online, Outcome.MFA_REQUIRED,
     Reply(CodePrompt(prompt=CODE_PROMPT))),
    ("online mfa required with a code sent", _online_with_code, Outcome.MFA_REQUIRED,
     Reply(DeniedPrompt(reason=CANNOT_CHECK))),
    ("offline accepted", _offline, Outcome.ACCEPTED, Reply(SuccessPrompt())),
    ("offline refused", _offline, Outcome.REFUSED, Reply(DeniedPrompt(reason=WRONG_PASSWORD))),
    ("offline no hash", _offline, Outcome.NO_HASH, Reply(DeniedPrompt(reason=NO_HASH))),
    # Issue 9: the account's offline failure delay is running: refused, nothing checked.
    ("offline delayed", _offline, Outcome.LOCKED, Reply(DeniedPrompt(reason=LOCKED))),
]


@pytest.mark.parametrize(("make", "outcome", "expected"),
                         [case[1:] for case in TRANSITION_CASES],
                         ids=[case[0] for case in TRANSITION_CASES])
def test_conversation__every_transition(make: Callable[[], Conversation], outcome: Outcome,
                                        expected: Action) -> None:
    conversation = make()
    assert conversation.outcome(outcome) == expected
    asks_again = isinstance(expected, Reply) and isinstance(expected.prompt, CodePrompt)
    assert conversation.done is (isinstance(expected, Reply) and not asks_again)


def test_conversation__mfa_required_then_the_code_in_the_same_login() -> None:
    conversation = _online()
    conversation.outcome(Outcome.MFA_REQUIRED)
    assert conversation.mfa and conversation.step is Step.AWAIT_CODE
    assert conversation.receive(CODE, online=True) == VerifyOnline("secret", CODE)


def test_conversation__the_cases_cover_every_rule_and_nothing_else_has_one() -> None:
    covered = {(make().step, outcome) for _, make, outcome, _ in TRANSITION_CASES}
    assert covered == set(_TRANSITIONS)
    for step in Step:
        for outcome in Outcome:
            if (step, outcome) in _TRANSITIONS:
                continue
            conversation = Conversation("u")
            conversation.step = step
            with pytest.raises(ConversationError):
                conversation.outcome(outcome)


@pytest.mark.parametrize("step", [Step.VERIFY_ONLINE, Step.VERIFY_OFFLINE, Step.DONE])
def test_conversation__an_answer_while_checking_or_after_the_end_is_denied(step: Step) -> None:
    conversation = Conversation("u")
    conversation.step = step
    assert conversation.receive("x", online=True) == Reply(DeniedPrompt(reason=OVER))
    assert conversation.done
