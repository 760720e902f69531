"""A credential update session outliving the right it began with (issue 9, finding 15).

The intruder is an admin whose right ends while a session it opened stays open: its login's
privilege window closes, it logs out (or its session is revoked), or it is removed from the
group that gave it the right. The session id alone was enough to commit later. Now every step
and the commit ask again: a closed window refuses until ``hermit reauth`` opens a new one;
a session that is gone or a right that is gone ends the credential update.

The window's expiry needs a clock the test moves, so that part runs in-process (the app over
``httpx.ASGITransport`` with a FakeClock); the revocations run against the real server.
"""

from __future__ import annotations

import httpx

from hermit_common.clock import FakeClock
from idmd.https.auth import HEADER
from idmd.idm import Idm
from idmd.limits import DEFAULT_PRIVILEGE_LIFETIME_SECONDS
from tests.idmd.app_client import bearer, login, make_person
from tests.security import idmd_priv_crew
from tests.security.idmd_priv_crew import Crew, fresh_password, ok, refused

crew = idmd_priv_crew.crew

STEP = "/v1/credential/update"


def signs_in(crew: Crew, name: str, password: str) -> bool:
    try:
        crew.idmd.login(name, password)
    except RuntimeError:
        return False
    return True


def test_idmd_priv_update_window__a_logged_out_admins_session_cannot_commit(crew: Crew) -> None:
    victim = crew.person("vic")
    admin = crew.person("adm", groups=("idm_people_admins",))
    token = crew.login(admin)
    with crew.client(token) as c:
        session = ok(c.post(f"/v1/person/{victim.name}/credential/update", json={}))["session"]
        ok(c.post(f"{STEP}/password", json={"session": session, "password": fresh_password()}))
        ok(c.post("/v1/auth/logout", json={}))
    with crew.client() as c:
        refused(c.post(f"{STEP}/commit", json={"session": session}), 400,
                "invalid_credential_update_session")
        # The session is over for good, not only refused once.
        refused(c.post(f"{STEP}/status", json={"session": session}), 400,
                "invalid_credential_update_session")
    assert signs_in(crew, victim.name, victim.password)


def test_idmd_priv_update_window__an_admin_removed_from_its_group_cannot_commit(
    crew: Crew,
) -> None:
    victim = crew.person("vic")
    admin = crew.person("adm", groups=("idm_people_admins",))
    with crew.client(crew.login(admin)) as c:
        session = ok(c.post(f"/v1/person/{victim.name}/credential/update", json={}))["session"]
    with crew.client(crew.admin) as c:
        ok(c.post("/v1/group/idm_people_admins/members/remove", json={"members": [admin.name]}))
    with crew.client() as c:
        staged = c.post(f"{STEP}/password", json={"session": session, "password": fresh_password()})
        refused(staged)
        refused(c.post(f"{STEP}/commit", json={"session": session}), 400,
                "invalid_credential_update_session")
    assert signs_in(crew, victim.name, victim.password)
    # The service goes on: idm_admin still updates the victim's credentials.
    with crew.client(crew.idm_admin) as c:
        fresh = ok(c.post(f"/v1/person/{victim.name}/credential/update", json={}))["session"]
        ok(c.post(f"{STEP}/cancel", json={"session": fresh}))


async def test_idmd_priv_update_window__the_window_closes_on_an_open_session(
    client: httpx.AsyncClient, clock: FakeClock, idm: Idm
) -> None:
    old, new = "the victims own password 1", "chosen by the admin 2 late"
    admin_password, _ = await idm.recover_account("idm_admin")
    admin_password = admin_password.reveal()
    admin = bearer(await login(client, "idm_admin", admin_password))
    await make_person(client, admin, "alice", old)
    begun = await client.post("/v1/person/alice/credential/update", json={}, headers=admin)
    session = begun.json()["session"]
    # The update session is kept busy (it would end after its idle time) while the
    # admin's privilege window runs out.
    for _ in range(3):
        clock.advance(DEFAULT_PRIVILEGE_LIFETIME_SECONDS // 3 - 1)
        busy = await client.post(f"{STEP}/status", json={"session": session})
        assert busy.status_code == 200
    clock.advance(4)
    # The admin's window is over: staging and committing are refused, nothing is written ...
    staged = await client.post(f"{STEP}/password", json={"session": session, "password": new})
    assert (staged.status_code, staged.json()["error"]) == (403, "read_only_session")
    committed = await client.post(f"{STEP}/commit", json={"session": session})
    assert (committed.status_code, committed.json()["error"]) == (403, "read_only_session")
    assert await login(client, "alice", old)
    # ... and a reauth of the same login opens a new window on the same update session.
    begin = await client.post("/v1/auth/reauth", json={}, headers=admin)
    step = await client.post(
        "/v1/auth/step", json={"method": "password", "password": admin_password},
        headers={HEADER: begin.headers[HEADER]},
    )
    assert step.json()["state"] == "success"
    staged = await client.post(f"{STEP}/password", json={"session": session, "password": new})
    assert staged.status_code == 200
    committed = await client.post(f"{STEP}/commit", json={"session": session})
    assert committed.json()["changed"] is True
    assert await login(client, "alice", new)
