"""The PAM conversation as a sans-IO state machine, driven by a scripted checker that fails on
checks it did not expect and on checks left unused; the per-connection session table; and
the online/offline state machine beside it (both are tables of transitions)."""

from __future__ import annotations

from collections import deque

import pytest

from unixd.pam import (
    MAX_SESSIONS_PER_CONNECTION,
    PASSWORD_PROMPT,
    AccountKind,
    Conversation,
    ConversationError,
    Outcome,
    Reply,
    SessionTable,
    VerifyLocal,
    VerifyOffline,
    VerifyOnline,
)
from unixd.proto.messages import DeniedPrompt, PasswordPrompt, SuccessPrompt
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
    reply = Conversation("u", AccountKind.DIRECTORY).start()
    assert reply.prompt == PasswordPrompt(prompt=PASSWORD_PROMPT)
    assert reply.prompt.to_json()["echo"] is False


@pytest.mark.parametrize(
    ("kind", "online", "script", "expected"),
    [
        (AccountKind.DIRECTORY, True, [(VerifyOnline, Outcome.ACCEPTED)], SuccessPrompt()),
        (AccountKind.DIRECTORY, True, [(VerifyOnline, Outcome.REFUSED)],
         DeniedPrompt(reason="wrong password")),
        (AccountKind.DIRECTORY, True, [(VerifyOnline, Outcome.EXPIRED)],
         DeniedPrompt(reason="this account is expired or not yet valid")),
        (AccountKind.DIRECTORY, True, [(VerifyOnline, Outcome.ERROR)],
         DeniedPrompt(reason="the password cannot be checked now")),
        (AccountKind.DIRECTORY, True,
         [(VerifyOnline, Outcome.UNREACHABLE), (VerifyOffline, Outcome.ACCEPTED)],
         SuccessPrompt()),
        (AccountKind.DIRECTORY, True,
         [(VerifyOnline, Outcome.UNREACHABLE), (VerifyOffline, Outcome.REFUSED)],
         DeniedPrompt(reason="wrong password")),
        (AccountKind.DIRECTORY, False, [(VerifyOffline, Outcome.ACCEPTED)], SuccessPrompt()),
        (AccountKind.DIRECTORY, False, [(VerifyOffline, Outcome.NO_HASH)],
         DeniedPrompt(reason="the identity server is unreachable and this password was never "
                             "used on this host")),
        (AccountKind.LOCAL, True, [(VerifyLocal, Outcome.ACCEPTED)], SuccessPrompt()),
        (AccountKind.LOCAL, False, [(VerifyLocal, Outcome.REFUSED)],
         DeniedPrompt(reason="wrong password")),
    ],
)
def test_conversation__each_path_ends_in_its_prompt(
    kind: AccountKind, online: bool, script: list[tuple[type, Outcome]], expected: object
) -> None:
    conversation = Conversation("u", kind)
    conversation.start()
    reply = Script(*script).run(conversation, "secret", online=online)
    assert reply.prompt == expected
    assert conversation.done


def test_conversation__an_outcome_without_a_rule_is_our_bug() -> None:
    conversation = Conversation("u", AccountKind.DIRECTORY)
    conversation.receive("secret", online=False)
    with pytest.raises(ConversationError):
        conversation.outcome(Outcome.UNREACHABLE)  # offline cannot become more offline


def test_conversation__a_step_after_the_end_is_denied() -> None:
    conversation = Conversation("u", AccountKind.DIRECTORY)
    Script((VerifyOnline, Outcome.ACCEPTED)).run(conversation, "secret", online=True)
    reply = conversation.receive("again", online=True)
    assert isinstance(reply, Reply)
    assert isinstance(reply.prompt, DeniedPrompt)


def test_conversation__never_shows_the_password() -> None:
    conversation = Conversation("u", AccountKind.DIRECTORY)
    action = conversation.receive("hunter2-secret", online=True)
    assert "hunter2" not in repr(action)
    assert "hunter2" not in repr(conversation)


def test_session_table__is_a_bounded_lru() -> None:
    table = SessionTable()
    ids = [table.add(Conversation(str(i), AccountKind.DIRECTORY))
           for i in range(MAX_SESSIONS_PER_CONNECTION)]
    assert table.get(ids[0]) is not None  # now the most recently used
    table.add(Conversation("new", AccountKind.DIRECTORY))
    assert len(table) == MAX_SESSIONS_PER_CONNECTION
    assert table.get(ids[1]) is None  # the least recently used went
    assert table.get(ids[0]) is not None
    table.remove(ids[0])
    assert table.get(ids[0]) is None


def test_session_table__ids_are_long_and_distinct() -> None:
    table = SessionTable()
    ids = {table.add(Conversation("u", AccountKind.DIRECTORY)) for _ in range(4)}
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
