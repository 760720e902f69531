"""``hermit service-account api-token`` against a scripted server: requests, output, errors."""

from __future__ import annotations

from tests.cli.scripted_server import Hermit, ScriptedServer

RECORD = {
    "id": "tid-1", "label": "ci", "scope": "read_only",
    "issued_at": "2026-05-01T12:00:00Z", "expires_at": None,
}


def test_api_token__create_sends_the_defaults_and_prints_id_then_token(
    hermit: Hermit, server: ScriptedServer
) -> None:
    hermit.log_in_as("idm_admin")
    server.expect("POST", "/v1/service_account/bot/api_token",
                  {"changed": True, "token": "eyJ.secret.sig", "api_token": RECORD})
    result = hermit("service-account", "api-token", "create", "bot", "ci")
    assert (result.status, result.out, result.err) == (
        0, "id: tid-1\ntoken: eyJ.secret.sig\n", "")
    assert server.sent_json() == {"label": "ci", "scope": "read_only", "expires_at": None}


def test_api_token__create_with_expiry_and_read_write(
    hermit: Hermit, server: ScriptedServer
) -> None:
    hermit.log_in_as("idm_admin")
    server.expect("POST", "/v1/service_account/bot/api_token",
                  {"changed": True, "token": "t", "api_token": RECORD})
    result = hermit("service-account", "api-token", "create", "bot", "ci",
                    "--expiry", "2027-01-01", "--read-write")
    assert result.status == 0, result.err
    assert server.sent_json() == {
        "label": "ci", "scope": "read_write", "expires_at": "2027-01-01T00:00:00Z"}


def test_api_token__a_bad_expiry_is_a_usage_error_before_any_request(hermit: Hermit) -> None:
    hermit.log_in_as("idm_admin")
    result = hermit("service-account", "api-token", "create", "bot", "ci", "--expiry", "soon")
    assert result.status == 2
    assert result.err.startswith("hermit: 'soon' is not a time")


def test_api_token__create_without_a_token_in_the_answer_fails(
    hermit: Hermit, server: ScriptedServer
) -> None:
    hermit.log_in_as("idm_admin")
    server.expect("POST", "/v1/service_account/bot/api_token", {"changed": True})
    result = hermit("service-account", "api-token", "create", "bot", "ci")
    assert result.status == 1
    assert "(bad_response)" in result.err


def test_api_token__list_is_a_table_without_tokens(
    hermit: Hermit, server: ScriptedServer
) -> None:
    hermit.log_in_as("idm_admin")
    expiring = RECORD | {"id": "tid-2", "label": "rw", "scope": "read_write",
                         "expires_at": "2027-01-01T00:00:00Z"}
    server.expect("GET", "/v1/service_account/bot/api_token",
                  {"api_tokens": [RECORD, expiring]})
    result = hermit("service-account", "api-token", "list", "bot")
    assert result.status == 0, result.err
    assert result.out.splitlines() == [
        "ID     LABEL  SCOPE       ISSUED_AT             EXPIRES_AT",
        "tid-1  ci     read_only   2026-05-01T12:00:00Z  never",
        "tid-2  rw     read_write  2026-05-01T12:00:00Z  2027-01-01T00:00:00Z",
    ]


def test_api_token__destroy_is_idempotent_and_quotes_the_id_into_one_segment(
    hermit: Hermit, server: ScriptedServer
) -> None:
    hermit.log_in_as("idm_admin")
    server.expect("DELETE", "/v1/service_account/bot/api_token/a%2Fb", {"changed": True})
    server.expect("DELETE", "/v1/service_account/bot/api_token/a%2Fb", {"changed": False})
    assert hermit("service-account", "api-token", "destroy", "bot", "a/b").out == (
        "destroyed API token a/b\n")
    assert hermit("service-account", "api-token", "destroy", "bot", "a/b").out == "unchanged\n"


def test_api_token__hermit_token_is_the_bearer(hermit: Hermit, server: ScriptedServer) -> None:
    server.expect("GET", "/v1/service_account/bot/api_token", {"api_tokens": []})
    result = hermit("service-account", "api-token", "list", "bot",
                    env={"HERMIT_TOKEN": "api-tok"})
    assert result.status == 0, result.err
    assert server.seen[0].headers["authorization"] == "Bearer api-tok"
