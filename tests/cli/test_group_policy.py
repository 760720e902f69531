"""``hermit group policy show|set`` against a scripted server."""

from __future__ import annotations

from tests.cli.scripted_server import Hermit, ScriptedServer

GROUP = {"uuid": "u", "name": "staff", "spn": "staff@example.com", "classes": ["group"],
         "description": None, "members": [], "memberof": [], "posix": None}
POLICY = {"min_credential": "mfa", "session_lifetime": 28800, "privilege_lifetime": None,
          "password_min_length": None}


def test_group_policy__set_sends_values_and_clears(hermit: Hermit, server: ScriptedServer) -> None:
    hermit.log_in_as("admin")
    server.expect("PUT", "/v1/group/staff/policy",
                  {"changed": True, "entry": GROUP | {"policy": POLICY}})
    result = hermit("group", "policy", "set", "staff", "--min-credential", "mfa",
                    "--session-lifetime", "8h", "--clear", "password-min-length")
    assert (result.status, result.out) == (0, "policy of group staff updated\n")
    assert server.sent_json() == {"min_credential": "mfa", "session_lifetime": 28800,
                                  "password_min_length": None}


def test_group_policy__set_without_changes_or_with_a_conflict_is_a_usage_error(
    hermit: Hermit,
) -> None:
    hermit.log_in_as("admin")
    assert hermit("group", "policy", "set", "staff").status == 2
    both = hermit("group", "policy", "set", "staff", "--password-min-length", "20",
                  "--clear", "password-min-length")
    assert both.status == 2
    assert hermit("group", "policy", "set", "staff", "--session-lifetime", "8 hours").status == 2


def test_group_policy__show_lists_every_setting(hermit: Hermit, server: ScriptedServer) -> None:
    hermit.log_in_as("admin")
    server.expect("GET", "/v1/group/staff", GROUP | {"policy": POLICY})
    result = hermit("group", "policy", "show", "staff")
    assert result.out.splitlines() == [
        "min_credential:      mfa",
        "session_lifetime:    28800",
        "privilege_lifetime:  -",
        "password_min_length: -",
    ]
    server.expect("GET", "/v1/group/staff", GROUP | {"policy": None})
    assert hermit("group", "policy", "show", "staff").out.count(" -\n") == 4

