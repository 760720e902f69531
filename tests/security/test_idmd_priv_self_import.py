"""A person bypassing the password policy by importing a hash of their own (issue 9, finding
9), over real TLS.

Imported hashes skip the password policy because the server cannot see the password behind
them: they are for admins migrating accounts from another system. A person who imports a hash
for their own account could sign in with ``password`` (or any badlisted word) ever after.
"""

from __future__ import annotations

import secrets

from hermit_common.libxcrypt import crypt
from tests.security import idmd_priv_crew
from tests.security.idmd_priv_crew import Crew, ok, refused

crew = idmd_priv_crew.crew

WEAK = "password"


def _sha512crypt(password: str) -> str:
    salt = b"$6$" + secrets.token_hex(8).encode() + b"$"
    return (crypt(password.encode(), salt) or b"").decode()


def test_idmd_priv_self_import__a_person_cannot_import_a_hash_for_themselves(crew: Crew) -> None:
    person = crew.person("imp", posix=True)
    weak_hash = _sha512crypt(WEAK)
    with crew.client(crew.login(person)) as c:
        # The policy refuses the weak password itself ...
        direct = c.put(f"/v1/person/{person.name}/password", json={"password": WEAK})
        refused(direct, 400, "password_rejected")
        # ... and its hash, whichever credential it is sent for.
        for route in ("password", "unix_password"):
            imported = c.put(f"/v1/person/{person.name}/{route}",
                             json={"password_hash": weak_hash})
            refused(imported)
    # Nothing changed: the person's own password still signs in (an import replaces it).
    assert crew.login(person)
    # An admin migrating the account may still import it.
    with crew.client(crew.idm_admin) as c:
        ok(c.put(f"/v1/person/{person.name}/password", json={"password_hash": weak_hash}))
