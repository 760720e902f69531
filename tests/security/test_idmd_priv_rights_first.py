"""Idempotent writes that answered "unchanged" before asking whether the caller may write at
all (issue 9, finding 11), over real TLS.

The intruder is a plain person, signed in, who may change nothing of anyone else. An
idempotent create that compares first answers ``changed: false`` when a guess about another
account is right and ``409`` when it is wrong: an oracle for a mail address nobody let the
person read. The same held for deleting an SSH key of another account. Rights come first now:
every guess gets the same refusal.
"""

from __future__ import annotations

import secrets

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.security import idmd_priv_crew
from tests.security.idmd_priv_crew import Crew, ok, refused

crew = idmd_priv_crew.crew


def _public_key() -> str:
    key = Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode("ascii")


def test_idmd_priv_rights_first__create_is_no_oracle_for_another_persons_mail(
    crew: Crew,
) -> None:
    victim = crew.person("vic")
    secret_mail = f"{victim.name}@hidden.example.org"
    with crew.client(crew.idm_admin) as c:
        ok(c.patch(f"/v1/person/{victim.name}", json={"mail": [secret_mail]}))
    snoop = crew.person("snp")
    with crew.client(crew.login(snoop)) as c:
        # The snoop cannot read the mail ...
        seen = ok(c.get(f"/v1/person/{victim.name}"))
        assert secret_mail not in str(seen)
        # ... and a create cannot tell a right guess from a wrong one.
        for guess in (secret_mail, "wrong@hidden.example.org"):
            answer = c.post("/v1/person", json={
                "name": victim.name, "displayname": "vic", "mail": [guess]})
            refused(answer)
        # Groups alike: a description is not the snoop's to confirm.
        group = crew.group("grp")
        for description in (None, "a guess"):
            body = {"name": group} | ({"description": description} if description else {})
            refused(c.post("/v1/group", json=body))
    with crew.client(crew.idm_admin) as c:
        # Nothing changed, and the admins' idempotent create still says "unchanged".
        again = ok(c.post("/v1/person", json={
            "name": victim.name, "displayname": "vic", "mail": [secret_mail]}))
        assert again["changed"] is False
        assert again["entry"]["mail"] == [secret_mail]


def test_idmd_priv_rights_first__deleting_anothers_ssh_key_is_refused_whatever_the_label(
    crew: Crew,
) -> None:
    victim = crew.person("vic")
    key = _public_key()
    with crew.client(crew.idm_admin) as c:
        ok(c.put(f"/v1/person/{victim.name}/ssh_keys/laptop", json={"key": key}))
    snoop = crew.person("snp")
    with crew.client(crew.login(snoop)) as c:
        for label in ("laptop", "no-such-" + secrets.token_hex(3)):
            refused(c.delete(f"/v1/person/{victim.name}/ssh_keys/{label}"))
        # Re-uploading the key that is there is refused the same way.
        refused(c.put(f"/v1/person/{victim.name}/ssh_keys/laptop", json={"key": key}))
        # The snoop's own keys are still the snoop's.
        ok(c.put(f"/v1/person/{snoop.name}/ssh_keys/own", json={"key": _public_key()}))
        gone = ok(c.delete(f"/v1/person/{snoop.name}/ssh_keys/never-there"))
        assert gone["changed"] is False
    with crew.client(crew.idm_admin) as c:
        keys = ok(c.get(f"/v1/person/{victim.name}/ssh_keys"))["ssh_keys"]
        assert [k["label"] for k in keys] == ["laptop"]
