"""The unix credential check (``POST /v1/unix/auth``, what hermit-unixd asks for PAM) against a
real hermit-idmd over TLS under attack: a brute force on one account's unix password from 20
concurrent clients is held by the softlock (its attempts checked one at a time, a few in all)
while another account's check goes through, and a guess at a unix TOTP code is held until the
next time step.

The exact delays are tested in-process with an injected clock (tests/idmd/test_https_unix.py);
here the point is real concurrency over real connections.
"""

from __future__ import annotations

import math
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pyotp

from tests.integration.directory import Directory, directory, unique
from tests.integration.idmd_server import IdmdServer

CLIENTS = 20
ATTEMPTS_PER_CLIENT = 5


def _auth(client: httpx.Client, name: str, password: str,
          code: str | None = None) -> tuple[int, str]:
    body = {"name": name, "password": password} | ({"totp": code} if code else {})
    response = client.post("/v1/unix/auth", json=body)
    answer: Any = response.json()
    return response.status_code, str(answer.get("error", answer.get("state")))


def _people(made: Directory, *names: str) -> str:
    password = "unix-" + secrets.token_urlsafe(18)
    for name in names:
        made.person(name, password=password)
    return password


def test_unix_auth__brute_force_from_20_clients_is_held_and_others_are_served(
    idmd: IdmdServer
) -> None:
    victim, bystander = unique("v"), unique("b")
    anonymous = idmd.login("anonymous", None)  # type: ignore[arg-type]
    with directory(idmd, clean_up=False) as made:
        password = _people(made, victim, bystander)
        clients = [idmd.client(anonymous) for _ in range(CLIENTS + 2)]
        try:
            def attack(client: httpx.Client) -> list[tuple[int, str]]:
                return [_auth(client, victim, f"guess-{n}-{id(client)}")
                        for n in range(ATTEMPTS_PER_CLIENT)]

            began = time.monotonic()
            with ThreadPoolExecutor(CLIENTS) as pool:
                running = [pool.submit(attack, client) for client in clients[:CLIENTS]]
                # While the attack runs, another account's unix password is checked as usual.
                served = _auth(clients[CLIENTS], bystander, password)
                answers = [answer for future in running for answer in future.result()]
            took = time.monotonic() - began
            assert served == (200, "success")
            verified = answers.count((401, "invalid_credentials"))
            held = answers.count((429, "credential_locked"))
            assert verified + held == len(answers)
            # Attempts on the unix password go one at a time from the first (issue 9), and the
            # k-th failure makes the next check wait 2^(k-1) s: in `took` seconds at most
            # 1 + log2(took + 1) guesses reach Argon2id, whatever the number of clients.
            assert 1 <= verified <= 1 + math.floor(math.log2(took + 1))
            assert held >= CLIENTS * ATTEMPTS_PER_CLIENT // 2
            # The right password waits too, until an admin lifts the lock.
            assert _auth(clients[CLIENTS + 1], victim, password) == (429, "credential_locked")
            unlocked = made.client.post(f"/v1/person/{victim}/credential/unlock", json={})
            assert unlocked.status_code == 200, unlocked.text
            assert _auth(clients[CLIENTS + 1], victim, password) == (200, "success")
        finally:
            for client in clients:
                client.close()


def test_unix_auth__a_guessed_code_waits_for_the_next_step(idmd: IdmdServer) -> None:
    name = unique("t")
    anonymous = idmd.login("anonymous", None)  # type: ignore[arg-type]
    with directory(idmd, clean_up=False) as made, idmd.client(anonymous) as client:
        password = _people(made, name)
        app: pyotp.TOTP = made.enrol_unix_totp(name)
        assert _auth(client, name, password) == (403, "mfa_required")
        step = app.timecode(time.time())
        wrong = str((int(app.now()) + 1) % 10**6).zfill(6)
        assert _auth(client, name, password, wrong) == (401, "invalid_credentials")
        # Within the same step even the right code is held; at worst the step just turned,
        # then the right code is accepted as the first of its step.
        answer = _auth(client, name, password, app.now())
        if app.timecode(time.time()) == step:
            assert answer == (429, "credential_locked")
        else:
            assert answer == (200, "success")
