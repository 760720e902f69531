"""The stepped login: the pure flow against scripted answers, and its driver over HTTP."""

from __future__ import annotations

import pytest

from hermit_cli.auth import (
    MAX_LOGIN_STEPS,
    AskCredential,
    Begin,
    LoginFlow,
    Step,
    login_flow,
    run_login,
)
from hermit_cli.client import ApiClient, AuthAnswer
from hermit_cli.errors import ApiError, LoginError
from hermit_cli.secret import Secret
from tests.cli.conftest import URL, ScriptedServer

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
