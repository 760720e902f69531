"""A delegated admin taking over a privileged account (issue 9, finding 2), over real TLS.

The intruder is an admin of one part of the directory (a person in idm_people_admins only,
or idm_admin itself) who reaches above its role by changing the credentials of an account
that holds more rights than it does: a member of system_admins. Each test asserts the
refusal, that nothing changed (the victim still signs in with her own password, the intruder
is not in system_admins), and that the intruder's own role still works on plain accounts.
"""

from __future__ import annotations

import secrets

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hermit_common.libxcrypt import crypt
from tests.security import idmd_priv_crew
from tests.security.idmd_priv_crew import Crew, fresh_password, ok, refused

crew = idmd_priv_crew.crew

def _public_key() -> str:
    key = Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode("ascii")


ED25519 = _public_key()
# A sha512crypt hash another system made, of a password the intruder knows.
SHA512_CRYPT = (crypt(b"known to the intruder", b"$6$" + secrets.token_hex(8).encode() + b"$")
                or b"").decode()


def system_admins(crew: Crew) -> list[str]:
    with crew.client(crew.admin) as c:
        return [m.partition("@")[0] for m in ok(c.get("/v1/group/system_admins"))["members"]]


def signs_in(crew: Crew, name: str, password: str) -> bool:
    try:
        crew.idmd.login(name, password)
    except (httpx.HTTPError, AssertionError, KeyError, ValueError):
        return False
    return True


def test_idmd_priv_takeover__people_admin_cannot_take_over_a_system_admin(crew: Crew) -> None:
    victim = crew.person("vic", groups=("system_admins",))
    intruder = crew.person("mal", groups=("idm_people_admins",))
    plain = crew.person("pla")
    token = crew.login(intruder)
    chosen = fresh_password()
    with crew.client(token) as c:
        # The attack of the issue: a credential update session on the system admin ...
        begun = c.post(f"/v1/person/{victim.name}/credential/update", json={})
        refused(begun)
        # ... and its shortcuts: a reset token, or the password set directly.
        reset = c.post(f"/v1/person/{victim.name}/credential/reset_token", json={})
        refused(reset)
        direct = c.put(f"/v1/person/{victim.name}/password", json={"password": chosen})
        refused(direct)
        # So the intruder cannot sign in as her, and system_admins stays out of reach.
        grab = c.post("/v1/group/system_admins/members/add", json={"members": [intruder.name]})
        refused(grab)
        # The intruder's own role still works on a plain person.
        session = ok(c.post(f"/v1/person/{plain.name}/credential/update", json={}))["session"]
        ok(c.post("/v1/credential/update/cancel", json={"session": session}))
    assert signs_in(crew, victim.name, victim.password)
    assert intruder.name not in system_admins(crew)


def test_idmd_priv_takeover__idm_admin_cannot_mint_a_token_for_a_privileged_service_account(
    crew: Crew,
) -> None:
    robot = crew.service_account("rob", groups=("system_admins",))
    plain = crew.service_account("pla")
    with crew.client(crew.idm_admin) as c:
        minted = c.post(f"/v1/service_account/{robot}/api_token",
                        json={"label": "grab", "scope": "read_write"})
        refused(minted)
        # The neighbours: a generated or a chosen password would sign in as the robot too.
        generated = c.post(f"/v1/service_account/{robot}/generate_password", json={})
        refused(generated)
        chosen = c.put(f"/v1/service_account/{robot}/password",
                       json={"password": fresh_password()})
        refused(chosen)
        # idm_admin's role still works on a plain service account.
        made = ok(c.post(f"/v1/service_account/{plain}/api_token", json={"label": "ci"}))
        ok(c.delete(f"/v1/service_account/{plain}/api_token/{made['api_token']['id']}"))
    # Nothing was stored: once out of system_admins, idm_admin sees no token on the robot.
    with crew.client(crew.admin) as c:
        ok(c.post("/v1/group/system_admins/members/remove", json={"members": [robot]}))
    with crew.client(crew.idm_admin) as c:
        assert ok(c.get(f"/v1/service_account/{robot}/api_token"))["api_tokens"] == []
    assert "idm_admin" not in system_admins(crew)


# The neighbours of the attack on a person: every credential route, as idm_admin (who holds
# every idm_* role but is not in system_admins).
PERSON_WRITES = [
    ("PUT", "password", {"password": "@password"}),
    ("PUT", "password", {"password_hash": SHA512_CRYPT}),
    ("PUT", "unix_password", {"password": "@password"}),
    ("PUT", "unix_password", {"password_hash": SHA512_CRYPT}),
    ("POST", "credential/update", {}),
    ("POST", "credential/reset_token", {}),
    ("POST", "credential/unlock", {}),
    ("PUT", "ssh_keys/grab", {"key": ED25519 + " grab"}),
    ("PUT", "ssh_keys/own", {"key": ED25519 + " own"}),
    ("DELETE", "ssh_keys/own", None),
]


@pytest.mark.parametrize(("method", "route", "body"), PERSON_WRITES,
                         ids=[f"{m} {r} {sorted(b or {})}" for m, r, b in PERSON_WRITES])
def test_idmd_priv_takeover__idm_admin_cannot_touch_a_system_admins_credentials(
    crew: Crew, method: str, route: str, body: dict[str, str] | None
) -> None:
    victim = crew.person("vic", posix=True)
    with crew.client(crew.idm_admin) as c:
        ok(c.put(f"/v1/person/{victim.name}/ssh_keys/own", json={"key": ED25519 + " own"}))
    crew.join("system_admins", victim.name)
    if body is not None:
        body = {k: fresh_password() if v == "@password" else v for k, v in body.items()}
    with crew.client(crew.idm_admin) as c:
        answer = c.request(method, f"/v1/person/{victim.name}/{route}", json=body)
        refused(answer)
        keys = ok(c.get(f"/v1/person/{victim.name}/ssh_keys"))["ssh_keys"]
        assert [(k["label"], k["key"]) for k in keys] == [("own", ED25519 + " own")]
    assert signs_in(crew, victim.name, victim.password)
    # She still changes her own credentials, and the server serves everyone else.
    with crew.client(crew.login(victim)) as c:
        ok(c.put(f"/v1/person/{victim.name}/ssh_keys/mine", json={"key": ED25519 + " mine"}))
    plain = crew.person("pla")
    with crew.client(crew.idm_admin) as c:
        ok(c.put(f"/v1/person/{plain.name}/ssh_keys/k", json={"key": ED25519 + " k"}))


def test_idmd_priv_takeover__a_reset_token_made_before_the_promotion_is_dead(
    crew: Crew,
) -> None:
    """The patient intruder: a people admin makes a reset token for a plain person, keeps it,
    and waits until the person is made a system admin."""
    victim = crew.person("vic")
    intruder = crew.person("mal", groups=("idm_people_admins",))
    with crew.client(crew.login(intruder)) as c:
        token = ok(c.post(f"/v1/person/{victim.name}/credential/reset_token", json={}))["token"]
    crew.join("system_admins", victim.name)
    with crew.client() as c:
        begun = c.post("/v1/credential/update/begin", json={"reset_token": token})
        refused(begun)
    assert signs_in(crew, victim.name, victim.password)


def test_idmd_priv_takeover__a_delegated_admin_cannot_join_a_group_nested_in_system_admins(
    crew: Crew,
) -> None:
    """A site nests its own group into system_admins; idm_group_admins may change the members
    of every non-builtin group, so without the rule they would add themselves to it (or an
    account whose password they know)."""
    ops = crew.group("ops")
    crew.join("system_admins", ops)
    intruder = crew.person("mal", groups=("idm_group_admins",))
    stooge = crew.person("stooge")  # an account whose password the intruder knows
    with crew.client(crew.login(intruder)) as c:
        for member in (intruder.name, stooge.name):
            added = c.post(f"/v1/group/{ops}/members/add", json={"members": [member]})
            refused(added)
    with crew.client(crew.idm_admin) as c:
        added = c.post(f"/v1/group/{ops}/members/add", json={"members": ["idm_admin"]})
        refused(added)
        assert ok(c.get(f"/v1/group/{ops}"))["members"] == []
        # The group admins' role still works on a plain group.
        plain = crew.group("pla")
        ok(c.post(f"/v1/group/{plain}/members/add", json={"members": [stooge.name]}))
    # A member of system_admins who also administers groups may change it.
    boss = crew.person("boss", groups=("system_admins", "idm_group_admins"))
    crew.join(ops, stooge.name, by=crew.login(boss))
    assert intruder.name not in system_admins(crew)
