"""The command tree and the global-options-anywhere rule of ``hermit``."""

from __future__ import annotations

import argparse

import pytest

from hermit_cli.errors import UsageError
from hermit_cli.main import build_parser


def _leaf_commands(parser: argparse.ArgumentParser, prefix: str = "") -> set[str]:
    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subparsers:
        return {prefix.strip()}
    found: set[str] = set()
    for name, child in subparsers[0].choices.items():
        found |= _leaf_commands(child, f"{prefix} {name}")
    return found


def test_parser__command_tree_is_the_designed_one() -> None:
    # The public surface of the CLI (DESIGN.md "Entry points", the commands whose routes exist).
    assert _leaf_commands(build_parser()) == {
        "login", "logout", "whoami", "reauth", "session list", "session destroy",
        "person credential unlock",
        "person create", "person get", "person delete", "person list", "person update",
        "person posix enable", "person posix set-password",
        "person ssh add", "person ssh list", "person ssh remove",
        "person validity", "person credential set-password",
        "person credential update", "person credential totp add",
        "person credential totp remove", "person credential backup-codes",
        "person credential passkey list", "person credential passkey remove",
        "person credential create-reset-token", "credential use-reset-token",
        "person credential import-hash",
        "group policy show", "group policy set",
        "system pw-badlist show", "system pw-badlist upload", "system pw-badlist remove",
        "group create", "group get", "group delete", "group list",
        "group add-members", "group remove-members", "group posix enable",
        "service-account create", "service-account get", "service-account delete",
        "service-account list", "service-account generate-password",
        "service-account api-token create", "service-account api-token list",
        "service-account api-token destroy",
    }  # fmt: skip


@pytest.mark.parametrize(
    "argv",
    [
        ["--json", "--url", "https://a", "--name", "alice", "--ca", "/ca.pem", "person", "list"],
        ["person", "list", "--json", "--url", "https://a", "--name", "alice", "--ca", "/ca.pem"],
        ["person", "--json", "--url", "https://a", "list", "--name", "alice", "--ca", "/ca.pem"],
        ["--json", "person", "--url", "https://a", "list", "--name", "alice", "--ca", "/ca.pem"],
    ],
)
def test_parser__global_options_anywhere(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert (args.json, args.url, args.name, args.ca) == (True, "https://a", "alice", "/ca.pem")


def test_parser__global_options_default_when_absent() -> None:
    args = build_parser().parse_args(["group", "list"])
    assert (args.json, args.url, args.name, args.ca) == (False, None, None, None)


def test_parser__later_global_option_wins() -> None:
    args = build_parser().parse_args(["--url", "https://a", "whoami", "--url", "https://b"])
    assert args.url == "https://b"


def test_parser__global_name_does_not_clash_with_positional_name() -> None:
    args = build_parser().parse_args(
        ["--name", "idm_admin", "person", "create", "bob", "--display-name", "Bob"]
    )
    assert (args.name, args.account, args.display_name) == ("idm_admin", "bob", "Bob")


def test_parser__repeated_options_collect() -> None:
    args = build_parser().parse_args(
        ["person", "create", "bob", "--display-name", "Bob", "--mail", "a@x", "--mail", "b@x"]
    )
    assert args.mail == ["a@x", "b@x"]


def test_parser__ssh_key_words_are_kept_in_order() -> None:
    args = build_parser().parse_args(
        ["person", "ssh", "add", "bob", "laptop", "ssh-ed25519", "AAAAC3", "bob@host", "--json"]
    )
    assert (args.key, args.json) == (["ssh-ed25519", "AAAAC3", "bob@host"], True)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["person"], "person: the following arguments are required: COMMAND"),
        (["person", "create", "bob"], "person create: the following arguments are required"),
        (["group", "posix", "enable", "g", "--gid", "x"], "invalid int value"),
        (["frobnicate"], "invalid choice"),
        (["person", "totp"], "invalid choice"),
    ],
)
def test_parser__usage_error_is_one_usage_error(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        build_parser().parse_args(argv)
    assert message in caught.value.detail
    assert "\n" not in caught.value.detail


@pytest.mark.parametrize("session_id", ["-Xq3_k9", "--Zz9_aB-c", "-h0Ab", "-json"])
def test_parser__id_that_begins_with_a_dash_is_a_positional(session_id: str) -> None:
    args = build_parser().parse_args(["session", "destroy", session_id, "--json"])
    assert (args.session_id, args.json) == (session_id, True)


def test_parser__api_token_id_that_begins_with_a_dash_is_a_positional() -> None:
    args = build_parser().parse_args(["service-account", "api-token", "destroy", "sa", "-t0k"])
    assert (args.account, args.token_id) == ("sa", "-t0k")


def test_parser__mistyped_long_option_is_still_refused() -> None:
    with pytest.raises(UsageError) as caught:
        build_parser().parse_args(["session", "list", "--jsn"])
    assert "unrecognized arguments: --jsn" in caught.value.detail
