"""``hermit person credential …`` and ``hermit credential use-reset-token`` against a scripted
server: the calls of each session, what is printed (and what never is), cancel on failure."""

from __future__ import annotations

import io
import json

import pytest

from hermit_cli.main import run
from tests.cli.scripted_server import NOW, Hermit, Result, ScriptedServer, TtyStringIO

BEGIN = "/v1/person/bob/credential/update"
STEP = "/v1/credential/update"
STATUS = {"account": {"name": "bob"}, "password": "set", "unix_password": "unset",
          "totp": [], "unix_totp": [], "backup_codes": 0, "commit_blocker": None}
ENROLMENT = {"label": "phone", "secret": "JBSWY3DPEHPK3PXP", "uri": "otpauth://totp/x?secret=J",
             "algorithm": "sha256", "digits": 6, "step": 30}


def _begin(server: ScriptedServer) -> None:
    server.expect("POST", BEGIN, {"session": "sid-secret", "status": STATUS})


def test_totp_add__prints_secret_and_uri_then_reads_the_code(
    hermit: Hermit, server: ScriptedServer
) -> None:
    hermit.log_in_as("idm_admin")
    _begin(server)
    server.expect("POST", f"{STEP}/totp/begin", ENROLMENT)
    server.expect("POST", f"{STEP}/totp/confirm", {**STATUS, "totp": ["phone"]})
    server.expect("POST", f"{STEP}/commit", {"changed": True})
    result = hermit("person", "credential", "totp", "add", "bob", "phone", stdin="123456\n")
    assert (result.status, result.err) == (0, "")
    assert result.out == (
        "secret: JBSWY3DPEHPK3PXP\nuri: otpauth://totp/x?secret=J\ntotp phone added to bob\n"
    )
    assert server.sent_json(1) == {"session": "sid-secret", "label": "phone", "unix": False}
    assert server.sent_json(2) == {"session": "sid-secret", "code": "123456"}
    assert "sid-secret" not in str(server.seen[1].url)


def test_totp_add__a_wrong_code_cancels_the_session(
    hermit: Hermit, server: ScriptedServer
) -> None:
    hermit.log_in_as("idm_admin")
    _begin(server)
    server.expect("POST", f"{STEP}/totp/begin", ENROLMENT)
    server.expect("POST", f"{STEP}/totp/confirm",
                  {"error": "invalid_value", "detail": "the code does not match"}, status=400)
    server.expect("POST", f"{STEP}/cancel", {"changed": True})
    result = hermit("person", "credential", "totp", "add", "bob", "phone", "--unix",
                    stdin="000000\n")
    assert (result.status, result.err) == (1, "hermit: the code does not match (invalid_value)\n")
    assert server.sent_json(1)["unix"] is True
    assert "000000" not in result.out + result.err


def test_totp_add__without_a_code_is_a_usage_error(
    hermit: Hermit, server: ScriptedServer
) -> None:
    hermit.log_in_as("idm_admin")
    _begin(server)
    server.expect("POST", f"{STEP}/totp/begin", ENROLMENT)
    server.expect("POST", f"{STEP}/cancel", {"changed": True})
    result = hermit("person", "credential", "totp", "add", "bob", "phone")
    assert (result.status, result.err) == (2, "hermit: no TOTP code: give it on stdin "
                                              "(one line) (usage)\n")


def test_totp_remove__of_an_absent_label_is_unchanged(
    hermit: Hermit, server: ScriptedServer
) -> None:
    hermit.log_in_as("idm_admin")
    _begin(server)
    server.expect("POST", f"{STEP}/totp/remove", {"changed": False, "status": STATUS})
    server.expect("POST", f"{STEP}/cancel", {"changed": True})
    result = hermit("person", "credential", "totp", "remove", "bob", "phone")
    assert (result.status, result.out) == (0, "unchanged\n")


def test_backup_codes__one_per_line_after_the_commit(
    hermit: Hermit, server: ScriptedServer
) -> None:
    hermit.log_in_as("idm_admin")
    _begin(server)
    codes = ["abcd-efgh-jkmn", "pqrs-tuvw-xyz2"]
    server.expect("POST", f"{STEP}/backup_codes", {"backup_codes": codes, "status": STATUS})
    server.expect("POST", f"{STEP}/commit", {"changed": True})
    result = hermit("person", "credential", "backup-codes", "bob")
    assert (result.status, result.out) == (0, "abcd-efgh-jkmn\npqrs-tuvw-xyz2\n")


def test_backup_codes__are_not_printed_when_the_commit_fails(
    hermit: Hermit, server: ScriptedServer
) -> None:
    hermit.log_in_as("idm_admin")
    _begin(server)
    server.expect("POST", f"{STEP}/backup_codes", {"backup_codes": ["abcd-efgh-jkmn"],
                                                   "status": STATUS})
    server.expect("POST", f"{STEP}/commit",
                  {"error": "invalid_credential_update_session", "detail": "gone"}, status=400)
    server.expect("POST", f"{STEP}/cancel",
                  {"error": "invalid_credential_update_session", "detail": "gone"}, status=400)
    result = hermit("person", "credential", "backup-codes", "bob")
    assert result.status == 1 and "abcd" not in result.out + result.err


def test_create_reset_token__prints_the_token(hermit: Hermit, server: ScriptedServer) -> None:
    hermit.log_in_as("idm_admin")
    server.expect("POST", "/v1/person/bob/credential/reset_token",
                  {"changed": True, "token": "abcd-efgh-jkmn-pqrs",
                   "expires_at": "2026-05-02T12:00:00Z"})
    result = hermit("person", "credential", "create-reset-token", "bob", "--ttl", "3600")
    assert result.out == "token: abcd-efgh-jkmn-pqrs\nexpires_at: 2026-05-02T12:00:00Z\n"
    assert server.sent_json() == {"ttl": 3600}


def test_use_reset_token__needs_no_login(hermit: Hermit, server: ScriptedServer) -> None:
    server.expect("POST", f"{STEP}/begin", {"session": "sid-secret", "status": STATUS})
    server.expect("POST", f"{STEP}/password", {**STATUS, "password": "staged"})
    server.expect("POST", f"{STEP}/commit", {"changed": True})
    result = hermit("credential", "use-reset-token", "abcd-efgh-jkmn-pqrs",
                    stdin="a new long passphrase\n")
    assert (result.status, result.out, result.err) == (0, "password set for bob\n", "")
    assert "authorization" not in server.seen[0].headers
    assert server.sent_json(0) == {"reset_token": "abcd-efgh-jkmn-pqrs"}


def test_update__refuses_without_a_terminal(hermit: Hermit) -> None:
    hermit.log_in_as("idm_admin")
    result = hermit("person", "credential", "update", "bob")
    assert result.status == 2 and "needs a terminal" in result.err


def _run_on_tty(server: ScriptedServer, hermit: Hermit, stdin: str, *argv: str) -> Result:
    out, err = io.StringIO(), io.StringIO()
    status = run(list(argv), env=hermit.env, stdin=TtyStringIO(stdin), stdout=out, stderr=err,
                 store=hermit.store, transport=server.transport(), now=lambda: NOW)
    return Result(status, out.getvalue(), err.getvalue())


def test_update__menu_stages_shows_refusals_and_saves(
    hermit: Hermit, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    hermit.log_in_as("idm_admin")
    answers = iter(["short", "short", "a long new passphrase", "a long new passphrase"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    _begin(server)
    server.expect("POST", f"{STEP}/status", STATUS)
    server.expect("POST", f"{STEP}/password",
                  {"error": "password_rejected", "detail": "the password is too short"},
                  status=400)
    server.expect("POST", f"{STEP}/status", STATUS)
    server.expect("POST", f"{STEP}/password", {**STATUS, "password": "staged"})
    server.expect("POST", f"{STEP}/status", {**STATUS, "password": "staged"})
    server.expect("POST", f"{STEP}/commit", {"changed": True})
    result = _run_on_tty(server, hermit, "1\n1\ns\n", "person", "credential", "update", "bob")
    assert (result.status, result.err) == (0, "")
    assert "not done: the password is too short" in result.out
    assert result.out.endswith("saved the credentials of bob\n")
    assert "passphrase" not in result.out and "\nshort\n" not in result.out


def test_update__quit_cancels(hermit: Hermit, server: ScriptedServer) -> None:
    hermit.log_in_as("idm_admin")
    _begin(server)
    server.expect("POST", f"{STEP}/status", STATUS)
    server.expect("POST", f"{STEP}/cancel", {"changed": True})
    result = _run_on_tty(server, hermit, "q\n", "person", "credential", "update", "bob")
    assert result.status == 0 and result.out.endswith("nothing was saved\n")


# -- passkeys -----------------------------------------------------------------------------


def test_passkey_list__is_a_table(hermit: Hermit, server: ScriptedServer) -> None:
    hermit.log_in_as("idm_admin")
    server.expect("GET", "/v1/person/bob/credential/passkeys", {"passkeys": [
        {"label": "laptop", "created_at": "2026-05-01T12:00:00Z", "last_used_at": None},
        {"label": "phone", "created_at": "2026-05-02T12:00:00Z",
         "last_used_at": "2026-05-03T08:00:00Z"},
    ]})
    result = hermit("person", "credential", "passkey", "list", "bob")
    assert result.status == 0, result.err
    assert result.out.splitlines() == [
        "LABEL   CREATED_AT            LAST_USED_AT",
        "laptop  2026-05-01T12:00:00Z  never",
        "phone   2026-05-02T12:00:00Z  2026-05-03T08:00:00Z",
    ]


def test_passkey_list__json(hermit: Hermit, server: ScriptedServer) -> None:
    hermit.log_in_as("idm_admin")
    server.expect("GET", "/v1/person/bob/credential/passkeys", {"passkeys": []})
    result = hermit("--json", "person", "credential", "passkey", "list", "bob")
    assert result.status == 0 and json.loads(result.out) == {"passkeys": []}


def test_passkey_remove__through_a_session_and_idempotent(
    hermit: Hermit, server: ScriptedServer
) -> None:
    hermit.log_in_as("idm_admin")
    _begin(server)
    server.expect("POST", f"{STEP}/passkey/remove", {"changed": True, "status": STATUS})
    server.expect("POST", f"{STEP}/commit", {"changed": True, "sessions_ended": 2})
    result = hermit("person", "credential", "passkey", "remove", "bob", "laptop")
    assert (result.status, result.out) == (
        0, "passkey laptop removed from bob\nsessions ended: 2\n"
    )
    assert server.sent_json(1) == {"session": "sid-secret", "label": "laptop"}
    _begin(server)
    server.expect("POST", f"{STEP}/passkey/remove", {"changed": False, "status": STATUS})
    server.expect("POST", f"{STEP}/cancel", {"changed": True})
    again = hermit("person", "credential", "passkey", "remove", "bob", "laptop")
    assert (again.status, again.out) == (0, "unchanged\n")


def test_passkey_remove__a_refusal_cancels_the_session(
    hermit: Hermit, server: ScriptedServer
) -> None:
    hermit.log_in_as("idm_admin")
    _begin(server)
    server.expect("POST", f"{STEP}/passkey/remove", {"changed": True, "status": STATUS})
    server.expect("POST", f"{STEP}/commit", {
        "error": "mfa_required",
        "detail": "this account's policy asks for passkey: add a passkey before saving"},
        status=403)
    server.expect("POST", f"{STEP}/cancel", {"changed": True})
    result = hermit("person", "credential", "passkey", "remove", "bob", "laptop")
    assert result.status == 1
    assert "add a passkey before saving" in result.err
