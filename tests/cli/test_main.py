"""Whole ``hermit`` command lines against a scripted server: output, exit status, errors."""

from __future__ import annotations

import io
import json

import httpx
import pytest

from hermit_cli.main import run
from tests.cli.scripted_server import URL, Hermit, ScriptedServer

PERSON = {
    "uuid": "u-1", "name": "bob", "spn": "bob@example.com", "classes": ["person"],
    "displayname": "Bob", "mail": [], "memberof": [], "posix": None, "ssh_keys": [],
    "valid_from": None, "expire_at": None,
}


def test_main__login_stores_token_and_prints_no_secret(
    hermit: Hermit, server: ScriptedServer
) -> None:
    server.expect("POST", "/v1/auth/begin", {"state": "continue", "methods": ["password"]},
                  headers={"Hermit-Auth-Session": "sid"})
    server.expect("POST", "/v1/auth/step", {"state": "success", "token": "tok-secret"})
    result = hermit("login", "--name", "Alice", env={"HERMIT_PASSWORD": "pw-secret"})
    assert (result.status, result.out, result.err) == (0, "logged in as alice\n", "")
    stored = hermit.store.load(URL, "alice")
    assert stored is not None and stored.token.reveal() == "tok-secret"


def test_main__login_denied_is_one_line(hermit: Hermit, server: ScriptedServer) -> None:
    server.expect("POST", "/v1/auth/begin", {"state": "continue", "methods": ["password"]},
                  headers={"Hermit-Auth-Session": "sid"})
    server.expect("POST", "/v1/auth/step", {"state": "denied", "reason": "wrong password"})
    result = hermit("login", "--name", "alice", env={"HERMIT_PASSWORD": "nope"})
    assert (result.status, result.err) == (
        1, "hermit: login denied: wrong password (login_failed)\n"
    )
    assert hermit.store.load(URL, "alice") is None


def test_main__login_without_terminal_or_password_fails_fast(
    hermit: Hermit, server: ScriptedServer
) -> None:
    server.expect("POST", "/v1/auth/begin", {"state": "continue", "methods": ["password"]},
                  headers={"Hermit-Auth-Session": "sid"})
    result = hermit("login", "--name", "alice", stdin="would-be-password\n")
    assert result.status == 2
    assert result.err == (
        "hermit: no terminal to ask for the password: set HERMIT_PASSWORD (usage)\n"
    )


def test_main__login_needs_a_name(hermit: Hermit) -> None:
    result = hermit("login")
    assert (result.status, result.err) == (
        2, "hermit: no account name: pass --name or set HERMIT_NAME (usage)\n"
    )


def test_main__http_url_is_refused_before_any_request(hermit: Hermit) -> None:
    result = hermit("whoami", "--url", "http://idm.test")
    assert result.status == 2
    assert "only https://" in result.err


def test_main__whoami_uses_the_stored_token(hermit: Hermit, server: ScriptedServer) -> None:
    hermit.log_in_as("alice", "tok-a")
    server.expect("GET", "/v1/auth/whoami", {"uuid": "u", "name": "alice", "spn": "alice@x",
                                             "session_id": "s", "scope": "read_write",
                                             "expires_at": "2026-05-01T13:00:00Z",
                                             "privileged_until": "2026-05-01T12:15:00Z"})
    result = hermit("whoami")
    assert result.status == 0
    lines = [line.split() for line in result.out.splitlines()]
    assert ["name:", "alice"] in lines and ["scope:", "read_write"] in lines
    assert ["privileged_until:", "2026-05-01T12:15:00Z"] in lines
    assert server.seen[0].headers["authorization"] == "Bearer tok-a"
    assert "tok-a" not in result.out + result.err


def test_main__hermit_token_replaces_login(hermit: Hermit, server: ScriptedServer) -> None:
    hermit.log_in_as("alice", "tok-a")
    server.expect("GET", "/v1/group", {"groups": []})
    result = hermit("group", "list", env={"HERMIT_TOKEN": "api-token"})
    assert result.status == 0
    assert server.seen[0].headers["authorization"] == "Bearer api-token"


def test_main__name_picks_among_several_logins(hermit: Hermit, server: ScriptedServer) -> None:
    hermit.log_in_as("alice", "tok-a")
    hermit.log_in_as("bob", "tok-b")
    ambiguous = hermit("group", "list")
    assert (ambiguous.status, ambiguous.err) == (
        2, f"hermit: logged in to {URL} as alice, bob: pick one with --name (usage)\n"
    )
    server.expect("GET", "/v1/group", {"groups": []})
    assert hermit("group", "list", "--name", "bob").status == 0
    assert server.seen[0].headers["authorization"] == "Bearer tok-b"


def test_main__not_logged_in(hermit: Hermit) -> None:
    result = hermit("person", "list", "--name", "alice")
    assert (result.status, result.err) == (
        1, f"hermit: not logged in to {URL} as alice: run hermit login (not_logged_in)\n"
    )


def test_main__create_then_unchanged(hermit: Hermit, server: ScriptedServer) -> None:
    hermit.log_in_as("idm_admin")
    server.expect("POST", "/v1/person", {"changed": True, "entry": PERSON})
    server.expect("POST", "/v1/person", {"changed": False, "entry": PERSON})
    argv = ("person", "create", "bob", "--display-name", "Bob", "--mail", "bob@example.com")
    first, second = hermit(*argv), hermit(*argv)
    assert (first.status, first.out) == (0, "created person bob\n")
    assert (second.status, second.out) == (0, "unchanged\n")
    assert server.sent_json(0) == {"name": "bob", "displayname": "Bob",
                                   "mail": ["bob@example.com"]}


def test_main__json_output_parses(hermit: Hermit, server: ScriptedServer) -> None:
    hermit.log_in_as("idm_admin")
    server.expect("GET", "/v1/person/bob", PERSON)
    result = hermit("--json", "person", "get", "bob")
    assert json.loads(result.out) == PERSON


@pytest.mark.parametrize(
    ("status", "body", "line"),
    [
        (409, {"error": "conflict", "detail": "name bob is taken"},
         "hermit: name bob is taken (conflict)\n"),
        (400, {"error": "invalid_value", "detail": "line one\nline two"},
         "hermit: line one line two (invalid_value)\n"),
        (401, {"error": "token_revoked", "detail": "the session was revoked"},
         "hermit: the session was revoked; run hermit login (token_revoked)\n"),
        (500, b"Internal Server Error", "hermit: the server answered HTTP 500 "
         "Internal Server Error (http_500)\n"),
    ],
)
def test_main__server_error_is_one_line_exit_1(
    hermit: Hermit, server: ScriptedServer, status: int, body: object, line: str
) -> None:
    hermit.log_in_as("idm_admin")
    server.expect("DELETE", "/v1/group/staff", body, status=status)
    result = hermit("group", "delete", "staff")
    assert (result.status, result.out, result.err) == (1, "", line)


def test_main__connection_failure_is_one_line(hermit: Hermit) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused")

    hermit.log_in_as("idm_admin")
    err = io.StringIO()
    status = run(["person", "list"], env={"HERMIT_URL": URL}, stdin=io.StringIO(),
                 stdout=io.StringIO(), stderr=err, store=hermit.store,
                 transport=httpx.MockTransport(refuse))
    assert status == 1
    assert err.getvalue() == (
        f"hermit: cannot connect to {URL}: [Errno 111] Connection refused (connection_failed)\n"
    )


def test_main__update_sends_only_given_fields(hermit: Hermit, server: ScriptedServer) -> None:
    hermit.log_in_as("idm_admin")
    server.expect("PATCH", "/v1/person/bob", {"changed": True, "entry": PERSON})
    result = hermit("person", "update", "bob", "--rename", "robert", "--mail", "r@x")
    assert (result.status, result.out) == (0, "updated person bob\n")
    assert server.sent_json() == {"name": "robert", "mail": ["r@x"]}


def test_main__update_with_nothing_is_usage(hermit: Hermit) -> None:
    assert hermit("person", "update", "bob").status == 2


def test_main__validity_forms(hermit: Hermit, server: ScriptedServer) -> None:
    hermit.log_in_as("idm_admin")
    entry = {**PERSON, "valid_from": "2026-05-01T12:00:00Z", "expire_at": None}
    server.expect("PATCH", "/v1/person/bob", {"changed": True, "entry": entry})
    result = hermit("person", "validity", "bob", "--begin-at", "now", "--expire-at", "never")
    assert server.sent_json() == {"valid_from": "2026-05-01T12:00:00Z", "expire_at": None}
    assert result.out == "bob is valid from 2026-05-01T12:00:00Z until never\n"
    server.expect("PATCH", "/v1/person/bob", {"changed": False, "entry": entry})
    assert hermit("person", "validity", "bob", "--expire-at", "2027-01-01").out == "unchanged\n"
    assert server.sent_json() == {"expire_at": "2027-01-01T00:00:00Z"}


def test_main__validity_shown_without_options(hermit: Hermit, server: ScriptedServer) -> None:
    hermit.log_in_as("idm_admin")
    server.expect("GET", "/v1/person/bob", {**PERSON, "expire_at": "2027-01-01T00:00:00Z"})
    result = hermit("person", "validity", "bob", "--json")
    assert json.loads(result.out) == {"valid_from": None, "expire_at": "2027-01-01T00:00:00Z"}


def test_main__bad_when_is_usage(hermit: Hermit) -> None:
    hermit.log_in_as("idm_admin")
    result = hermit("person", "validity", "bob", "--expire-at", "soon")
    assert result.status == 2 and result.err.startswith("hermit: 'soon' is not a time")


def test_main__set_passwords_read_stdin_and_never_echo(
    hermit: Hermit, server: ScriptedServer
) -> None:
    hermit.log_in_as("idm_admin")
    server.expect("PUT", "/v1/person/bob/unix_password", {"changed": True})
    # The primary password goes through a credential update session (commands/credential.py).
    server.expect("POST", "/v1/person/bob/credential/update", {"session": "sid-1", "status": {}})
    server.expect("POST", "/v1/credential/update/password", {"password": "staged"})
    server.expect("POST", "/v1/credential/update/commit", {"changed": True})
    unix = hermit("person", "posix", "set-password", "bob", stdin="unix-Secret-1\n")
    primary = hermit("person", "credential", "set-password", "bob", stdin="prim-Secret-2\n")
    assert server.sent_json(0) == {"password": "unix-Secret-1"}
    assert server.sent_json(2) == {"session": "sid-1", "password": "prim-Secret-2"}
    assert (unix.out, primary.out) == ("unix password set for bob\n", "password set for bob\n")


def test_main__ssh_add_joins_key_words(hermit: Hermit, server: ScriptedServer) -> None:
    hermit.log_in_as("idm_admin")
    server.expect("PUT", "/v1/person/bob/ssh_keys/laptop", {"changed": False, "ssh_key": {}})
    result = hermit("person", "ssh", "add", "bob", "laptop", "ssh-ed25519", "AAAAC3Nz", "bob@h")
    assert server.sent_json() == {"key": "ssh-ed25519 AAAAC3Nz bob@h"}
    assert result.out == "unchanged\n"


def test_main__posix_enable_reports_the_gid(hermit: Hermit, server: ScriptedServer) -> None:
    hermit.log_in_as("idm_admin")
    entry = {**PERSON, "posix": {"gidnumber": 70123, "loginshell": "/bin/sh"}}
    server.expect("PUT", "/v1/person/bob/posix", {"changed": True, "entry": entry})
    result = hermit("person", "posix", "enable", "bob", "--shell", "/bin/sh")
    assert server.sent_json() == {"loginshell": "/bin/sh"}
    assert result.out == "posix enabled for bob (gidnumber 70123)\n"


def test_main__group_members(hermit: Hermit, server: ScriptedServer) -> None:
    hermit.log_in_as("idm_admin")
    server.expect("POST", "/v1/group/staff/members/add", {"changed": True, "entry": {}})
    server.expect("POST", "/v1/group/staff/members/remove", {"changed": False, "entry": {}})
    assert hermit("group", "add-members", "staff", "bob", "eve").out == (
        "added to staff: bob eve\n"
    )
    assert server.sent_json() == {"members": ["bob", "eve"]}
    assert hermit("group", "remove-members", "staff", "zed").out == "unchanged\n"


def test_main__generate_password_prints_it(hermit: Hermit, server: ScriptedServer) -> None:
    hermit.log_in_as("idm_admin")
    server.expect("POST", "/v1/service_account/bot/generate_password",
                  {"changed": True, "password": "gen-pw-1"})
    result = hermit("service-account", "generate-password", "bot")
    assert (result.status, result.out) == (0, "password: gen-pw-1\n")


def test_main__logout_revokes_and_forgets(hermit: Hermit, server: ScriptedServer) -> None:
    hermit.log_in_as("alice", "tok-a")
    server.expect("POST", "/v1/auth/logout", {"changed": True})
    result = hermit("logout")
    assert (result.status, result.out) == (0, "logged out alice\n")
    assert server.seen[0].headers["authorization"] == "Bearer tok-a"
    assert hermit.store.load(URL, "alice") is None
    assert hermit("logout").out == "unchanged\n"


def test_main__logout_of_a_token_the_server_cannot_end_says_so(
    hermit: Hermit, server: ScriptedServer
) -> None:
    hermit.log_in_as("anonymous", "tok-anon")
    server.expect("POST", "/v1/auth/logout", {"changed": False})
    result = hermit("logout")
    assert (result.status, result.out) == (0, (
        "forgot the token of anonymous; the server ended no session: an anonymous token "
        "stays valid until it expires\n"))
    assert hermit.store.load(URL, "anonymous") is None
    hermit.log_in_as("anonymous", "tok-anon")
    server.expect("POST", "/v1/auth/logout", {"changed": False})
    assert json.loads(hermit("logout", "--json").out) == {"changed": True, "revoked": False}


def test_main__logout_forgets_a_dead_token(hermit: Hermit, server: ScriptedServer) -> None:
    hermit.log_in_as("alice")
    server.expect("POST", "/v1/auth/logout",
                  {"error": "token_expired", "detail": "expired"}, status=401)
    assert hermit("logout", "--name", "alice").status == 0
    assert hermit.store.load(URL, "alice") is None


def test_main__logout_keeps_token_when_server_fails(
    hermit: Hermit, server: ScriptedServer
) -> None:
    hermit.log_in_as("alice")
    server.expect("POST", "/v1/auth/logout", {"error": "internal_error", "detail": "x"},
                  status=500)
    assert hermit("logout").status == 1
    assert hermit.store.load(URL, "alice") is not None
