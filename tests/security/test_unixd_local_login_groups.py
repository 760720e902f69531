"""Attack: a person named like a group in ``allowed_login_groups`` logs in without being in it.

Every account's unix view lists its user-private group first (the account's own name, spn,
uuid and gidnumber). unixd's account check matched that entry like any other group, so a
person whose name (or spn, or uuid) a site had put in ``allowed_login_groups`` passed
``pam_account`` without being a member of any allowed group: a group that was renamed or
deleted, or named before it was created, left its name free for an account to take.

A real hermit-idmd over TLS and a real hermit-unixd; the account check is asked on the client
socket exactly as pam_hermit.so asks it (``pam_account``).
"""

from __future__ import annotations

from tests.integration.directory import directory, new_password, unique
from tests.integration.idmd_server import IdmdServer
from tests.integration.unixd_harness import run_unixd

DOMAIN = "example.com"  # the shared idmd's domain (contrib/harness/idmd_process.py)


def test_allowed_login_groups__a_person_named_like_an_allowed_group_is_denied(
    idmd: IdmdServer,
) -> None:
    by_name, by_spn, team, member = unique("staff"), unique("ops"), unique("team"), unique("m")
    with directory(idmd) as made:
        # The site allows the groups "staff…" (by name) and "ops…" (by spn), which idmd does
        # not hold (any more); two people take those names. Only "team…" exists.
        for person in (by_name, by_spn, member):
            made.person(person, password=new_password())
        made.group(team, member)
        allowed = [by_name, f"{by_spn}@{DOMAIN}", team]
        with run_unixd(idmd, allowed_login_groups=allowed) as unixd:
            for impostor in (by_name, by_spn):
                assert unixd.call("pam_account", name=impostor) == {
                    "status": "ok", "result": "denied",
                    "reason": "this account is not in a group allowed to log in here"}
            # A member of an allowed group is still let in.
            assert unixd.call("pam_account", name=member) == {"status": "ok",
                                                              "result": "allowed"}
            # Nothing about the impostors changed: they still resolve like anyone else.
            for impostor in (by_name, by_spn):
                user = unixd.call("user_by_name", name=impostor)
                assert user["status"] == "ok", user
