"""Sessions that outlived a password reset (issue 9, finding 13), over real TLS and through
the real ``hermit`` and ``hermit-idmd`` commands.

The intruder already holds a token of the account (a stolen laptop, a copied token file); the
owner or an admin answers by resetting the password. Until now the stolen session stayed good
for hours. A password reset, a committed credential update and ``recover-account`` now end
every other session of the account, and say how many they ended; the session that made the
change itself, when it is the owner's, stays.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.cli.hermit_process import logged_in
from tests.security import idmd_priv_crew
from tests.security.idmd_priv_crew import Crew, Token, fresh_password, ok, refused

crew = idmd_priv_crew.crew

STEP = "/v1/credential/update"


def works(crew: Crew, token: str) -> bool:
    with crew.client(token) as c:
        answer = c.get("/v1/auth/whoami")
    if answer.status_code == 200:
        return True
    refused(answer, 401, "token_revoked")
    return False


def test_idmd_priv_sessions_end__an_admins_password_reset_ends_every_session(crew: Crew) -> None:
    victim = crew.person("vic")
    stolen, laptop = crew.login(victim), crew.login(victim)
    bystander = crew.person("bys")
    bystanders = crew.login(bystander)
    with crew.client(crew.idm_admin) as c:
        answer = ok(c.put(f"/v1/person/{victim.name}/password",
                          json={"password": fresh_password()}))
    assert not works(crew, stolen) and not works(crew, laptop)
    assert answer == {"changed": True, "sessions_ended": 2}
    assert works(crew, bystanders) and works(crew, crew.idm_admin)


def test_idmd_priv_sessions_end__the_owners_own_update_keeps_only_the_session_it_ran_in(
    crew: Crew,
) -> None:
    owner = crew.person("own")
    stolen, own = crew.login(owner), crew.login(owner)
    with crew.client(own) as c:
        session = ok(c.post(f"/v1/person/{owner.name}/credential/update", json={}))["session"]
        ok(c.post(f"{STEP}/password", json={"session": session, "password": fresh_password()}))
        assert works(crew, stolen)  # nothing is written before the commit
        committed = ok(c.post(f"{STEP}/commit", json={"session": session}))
    assert not works(crew, stolen)
    assert works(crew, own)
    assert committed == {"changed": True, "sessions_ended": 1}


def test_idmd_priv_sessions_end__a_reset_token_ends_every_session(crew: Crew) -> None:
    victim = crew.person("vic")
    stolen = crew.login(victim)
    with crew.client(crew.idm_admin) as c:
        token = ok(c.post(f"/v1/person/{victim.name}/credential/reset_token", json={}))["token"]
    with crew.client() as c:
        session = ok(c.post(f"{STEP}/begin", json={"reset_token": token}))["session"]
        ok(c.post(f"{STEP}/password", json={"session": session, "password": fresh_password()}))
        committed = ok(c.post(f"{STEP}/commit", json={"session": session}))
    assert not works(crew, stolen)
    assert committed == {"changed": True, "sessions_ended": 1}


def test_idmd_priv_sessions_end__the_cli_says_so(crew: Crew, tmp_path: Path) -> None:
    victim = crew.person("vic")
    stolen = crew.login(victim)
    admin = logged_in(crew.idmd, tmp_path, "idm_admin", crew.idmd.idm_admin_password)
    ran = admin.ok("person", "credential", "set-password", victim.name,
                   stdin=fresh_password() + "\n")
    assert not works(crew, stolen)
    assert ran.out == f"password set for {victim.name}\nsessions ended: 1\n"
    # Nothing to end: no second line.
    ran = admin.ok("person", "credential", "set-password", victim.name,
                   stdin=fresh_password() + "\n")
    assert ran.out == f"password set for {victim.name}\n"


def test_idmd_priv_sessions_end__recover_account_ends_sessions_and_api_tokens(
    crew: Crew,
) -> None:
    victim = crew.person("vic")
    stolen = crew.login(victim)
    robot = crew.service_account("rob")
    with crew.client(crew.idm_admin) as c:
        api = Token(ok(c.post(f"/v1/service_account/{robot}/api_token",
                              json={"label": "ci"}))["token"])
        # A password reset of a service account leaves its API tokens alone (they are
        # credentials of their own, destroyed one by one) ...
        reset = ok(c.post(f"/v1/service_account/{robot}/generate_password", json={}))
    assert works(crew, api)
    # ... recover-account, for an account that may be in someone else's hands, ends both.
    for name, token in ((victim.name, stolen), (robot, api)):
        done = crew.idmd.run("recover-account", name)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert not works(crew, token)
        assert lines[0].startswith("password: ") and lines[1:] == ["sessions ended: 1"]
        assert lines[0].removeprefix("password: ") not in done.stderr
    with crew.client(crew.idm_admin) as c:
        assert ok(c.get(f"/v1/service_account/{robot}/api_token"))["api_tokens"] == []
    assert reset["sessions_ended"] == 0
    assert works(crew, crew.idm_admin)
    with httpx.Client(base_url=crew.idmd.url, verify=crew.idmd.ssl_context()) as c:
        assert c.get("/status").status_code == 200
