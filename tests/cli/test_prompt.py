"""Where passwords come from: the environment, a terminal, or piped stdin."""

from __future__ import annotations

import io

import pytest

from hermit_cli.auth import CODE
from hermit_cli.errors import UsageError
from hermit_cli.prompt import login_credential_asker, read_new_password
from tests.cli.scripted_server import TtyStringIO


def _no_prompt(prompt: str) -> str:
    raise AssertionError("must not prompt")


def test_prompt__login_takes_hermit_password_first() -> None:
    ask = login_credential_asker({"HERMIT_PASSWORD": "pw"}, TtyStringIO(), _no_prompt)
    assert ask("password", "alice").reveal() == "pw"


def test_prompt__login_without_terminal_or_env_fails_without_reading() -> None:
    stdin = io.StringIO("a line nobody should read\n")
    ask = login_credential_asker({}, stdin, _no_prompt)
    with pytest.raises(UsageError, match="HERMIT_PASSWORD"):
        ask("password", "alice")
    assert stdin.tell() == 0


def test_prompt__login_on_terminal_uses_getpass() -> None:
    prompts: list[str] = []

    def fake_getpass(prompt: str) -> str:
        prompts.append(prompt)
        return "typed"

    ask = login_credential_asker({}, TtyStringIO(), fake_getpass)
    assert ask("password", "alice").reveal() == "typed"
    assert prompts == ["password for alice: "]


def test_prompt__new_password_from_pipe_is_the_first_line() -> None:
    assert read_new_password(io.StringIO("s3cret pass\r\nsecond\n"), _no_prompt).reveal() == (
        "s3cret pass"
    )


@pytest.mark.parametrize("text", ["", "\n"])
def test_prompt__empty_new_password_is_refused(text: str) -> None:
    with pytest.raises(UsageError, match="empty password"):
        read_new_password(io.StringIO(text), _no_prompt)


def test_prompt__new_password_on_terminal_must_match() -> None:
    answers = iter(["one", "two"])
    with pytest.raises(UsageError, match="differ"):
        read_new_password(TtyStringIO(), lambda prompt: next(answers))
    answers = iter(["same", "same"])
    assert read_new_password(TtyStringIO(), lambda prompt: next(answers)).reveal() == "same"


def test_prompt__code_takes_hermit_totp_before_a_backup_code() -> None:
    env = {"HERMIT_TOTP": "123456", "HERMIT_BACKUP_CODE": "abcd-efgh-jkmn"}
    ask = login_credential_asker(env, io.StringIO(), _no_prompt)
    assert ask(CODE, "alice").reveal() == "123456"
    only_backup = login_credential_asker({"HERMIT_BACKUP_CODE": "abcd-efgh-jkmn"}, io.StringIO())
    assert only_backup(CODE, "alice").reveal() == "abcd-efgh-jkmn"


def test_prompt__code_without_terminal_or_env_names_hermit_totp() -> None:
    stdin = io.StringIO("000000\n")
    ask = login_credential_asker({"HERMIT_PASSWORD": "pw"}, stdin, _no_prompt)
    with pytest.raises(UsageError, match="HERMIT_TOTP"):
        ask(CODE, "alice")
    assert stdin.tell() == 0


def test_prompt__code_on_terminal_is_one_prompt_for_either() -> None:
    prompts: list[str] = []

    def fake_getpass(prompt: str) -> str:
        prompts.append(prompt)
        return " 123456 "

    ask = login_credential_asker({}, TtyStringIO(), fake_getpass)
    assert ask(CODE, "alice").reveal() == "123456"
    assert prompts == ["TOTP code for alice (or a backup code): "]
