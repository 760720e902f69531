"""The stepped login: the pure flow against scripted answers, and its driver over HTTP."""

from __future__ import annotations

import pytest

from hermit_cli.auth import (
    CODE,
    MAX_LOGIN_STEPS,
    AskCredential,
    Begin,
    LoginFlow,
    Reauth,
    Step,
    login_flow,
    reauth_flow,
    run_login,
    run_reauth,
)
from hermit_cli.client import ApiClient, AuthAnswer
from hermit_cli.errors import ApiError, LoginError
from hermit_common.secret import Secret
from tests.cli.scripted_server import URL, ScriptedServer

CONTINUE_PASSWORD = {"state": "continue", "methods": ["password"]}


def _finish(flow: LoginFlow, reply: AuthAnswer | Secret) -> Secret:
    with pytest.raises(StopIteration) as done:
        flow.send(reply)
    token: Secret = done.value.value
    return token


def test_auth__password_flow_carries_the_session() -> None:
    flow = login_flow("alice")
    assert next(flow) == Begin("alice", False)
    assert flow.send(AuthAnswer(CONTINUE_PASSWORD, "sid-1")) == AskCredential("password")
    step = flow.send(Secret("pw"))
    assert step == Step("sid-1", "password", Secret("pw"))
    assert isinstance(step, Step) and step.body() == {"method": "password", "password": "pw"}
    token = _finish(flow, AuthAnswer({"state": "success", "token": "tok"}, "sid-1"))
    assert token.reveal() == "tok"


def test_auth__step_repr_hides_the_password() -> None:
    assert "hunter2" not in repr(Step("sid", "password", Secret("hunter2")))


def test_auth__anonymous_needs_no_credential() -> None:
    flow = login_flow("anonymous")
    next(flow)
    step = flow.send(AuthAnswer({"state": "continue", "methods": ["anonymous"]}, "s"))
    assert isinstance(step, Step) and step.body() == {"method": "anonymous"}
    assert _finish(flow, AuthAnswer({"state": "success", "token": "t"}, "s")).reveal() == "t"


def test_auth__later_steps_use_a_renewed_session() -> None:
    flow = login_flow("alice")
    next(flow)
    flow.send(AuthAnswer(CONTINUE_PASSWORD, "sid-1"))
    flow.send(Secret("pw"))
    assert flow.send(AuthAnswer(CONTINUE_PASSWORD, "sid-2")) == AskCredential("password")
    assert flow.send(Secret("pw")) == Step("sid-2", "password", Secret("pw"))


def test_auth__denied_ends_with_the_reason() -> None:
    flow = login_flow("alice")
    next(flow)
    flow.send(AuthAnswer(CONTINUE_PASSWORD, "s"))
    flow.send(Secret("wrong"))
    with pytest.raises(LoginError, match="login denied: wrong password"):
        flow.send(AuthAnswer({"state": "denied", "reason": "wrong password"}, "s"))


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"state": "continue", "methods": ["webauthn"]}, "asks for webauthn"),
        ({"state": "continue", "methods": []}, "no login method"),
        ({"state": "continue"}, "no login method"),
        ({"state": "success"}, "without a token"),
        ({"state": "maybe"}, "unknown login state"),
    ],
)
def test_auth__unanswerable_answers_end_the_login(answer: dict[str, object], message: str) -> None:
    flow = login_flow("alice")
    next(flow)
    with pytest.raises(LoginError, match=message):
        flow.send(AuthAnswer(answer, "s"))


def test_auth__prefers_a_method_it_knows() -> None:
    flow = login_flow("alice")
    next(flow)
    answer = AuthAnswer({"state": "continue", "methods": ["webauthn", "password"]}, "s")
    assert flow.send(answer) == AskCredential("password")


def test_auth__endless_steps_are_cut_off() -> None:
    flow = login_flow("anonymous")
    next(flow)
    looping = AuthAnswer({"state": "continue", "methods": ["anonymous"]}, "s")
    with pytest.raises(LoginError, match=f"more than {MAX_LOGIN_STEPS}"):
        for _ in range(MAX_LOGIN_STEPS + 1):
            flow.send(looping)


def test_auth__run_login_over_http(server: ScriptedServer) -> None:
    server.expect("POST", "/v1/auth/begin", CONTINUE_PASSWORD,
                  headers={"Hermit-Auth-Session": "sid-9"})
    server.expect("POST", "/v1/auth/step", {"state": "success", "token": "tok-9"})
    asked: list[tuple[str, str]] = []

    def ask(method: str, name: str) -> Secret:
        asked.append((method, name))
        return Secret("pw")

    with ApiClient(URL, transport=server.transport()) as client:
        token = run_login(client, "alice", ask)
    assert token.reveal() == "tok-9"
    assert asked == [("password", "alice")]
    assert server.sent_json(0) == {"name": "alice", "read_only": False}
    assert server.sent_json(1) == {"method": "password", "password": "pw"}
    assert server.seen[1].headers["Hermit-Auth-Session"] == "sid-9"
    assert "authorization" not in server.seen[0].headers


def test_auth__invalid_state_from_the_server_is_an_api_error(server: ScriptedServer) -> None:
    server.expect("POST", "/v1/auth/begin", CONTINUE_PASSWORD)
    server.expect(
        "POST", "/v1/auth/step",
        {"error": "invalid_auth_state", "detail": "no auth session"}, status=400,
    )
    with ApiClient(URL, transport=server.transport()) as client, pytest.raises(ApiError) as err:
        run_login(client, "alice", lambda method, name: Secret("pw"))
    assert (err.value.code, err.value.status) == ("invalid_auth_state", 400)


CONTINUE_CODE = {"state": "continue", "methods": ["totp", "backup_code"]}


@pytest.mark.parametrize(
    ("typed", "method"),
    [("123456", "totp"), ("12345678", "totp"), ("abcd-efgh-jkmn", "backup_code"),
     ("ABCDEFGHJKMN", "backup_code")],
)
def test_auth__one_code_prompt_sends_a_totp_or_a_backup_code_by_its_shape(
    typed: str, method: str
) -> None:
    flow = login_flow("alice")
    next(flow)
    assert flow.send(AuthAnswer(CONTINUE_CODE, "sid")) == AskCredential(CODE)
    step = flow.send(Secret(typed))
    assert isinstance(step, Step) and step.body() == {"method": method, method: typed}
    assert flow.send(AuthAnswer(CONTINUE_PASSWORD, "sid")) == AskCredential("password")
    assert flow.send(Secret("pw")) == Step("sid", "password", Secret("pw"))


def test_auth__a_non_numeric_code_where_only_totp_is_offered_ends_the_login() -> None:
    flow = login_flow("alice")
    next(flow)
    flow.send(AuthAnswer({"state": "continue", "methods": ["totp"]}, "sid"))
    with pytest.raises(LoginError, match="TOTP code"):
        flow.send(Secret("abcd-efgh-jkmn"))


def test_auth__reauth_flow_returns_the_privilege_window() -> None:
    flow = reauth_flow()
    assert next(flow) == Reauth()
    flow.send(AuthAnswer(CONTINUE_PASSWORD, "sid"))
    flow.send(Secret("pw"))
    with pytest.raises(StopIteration) as done:
        flow.send(AuthAnswer({"state": "success", "privileged_until": "2027-01-15T08:15Z"}, None))
    assert done.value.value == "2027-01-15T08:15Z"


def test_auth__run_reauth_over_http_sends_the_bearer(server: ScriptedServer) -> None:
    server.expect("POST", "/v1/auth/reauth", CONTINUE_CODE, headers={"Hermit-Auth-Session": "s"})
    server.expect("POST", "/v1/auth/step", CONTINUE_PASSWORD)
    server.expect("POST", "/v1/auth/step", {"state": "success", "privileged_until": "T"})
    answers = {CODE: Secret("654321"), "password": Secret("pw")}
    with ApiClient(URL, token=Secret("tok"), transport=server.transport()) as client:
        until = run_reauth(client, "alice", lambda method, name: answers[method])
    assert until == "T"
    assert server.seen[0].headers["authorization"] == "Bearer tok"
    assert server.sent_json(1) == {"method": "totp", "totp": "654321"}
    assert server.seen[2].headers["Hermit-Auth-Session"] == "s"
