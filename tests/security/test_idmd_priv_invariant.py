"""The privileged-account rule as an invariant of the entry database (issue 9, finding 2),
attacked in-process below every REST route and idm operation.

A site writes its own access profile (a helpdesk that may reset every person's password and
SSH keys); the builtin protection never heard of it. The rule still holds: the helpdesk cannot
reach an account in system_admins, directly or through a nested group, not with a no-op, not
through a write the server makes on its behalf; and a group admin cannot put anyone into a
group that sits in system_admins. The database verifies clean afterwards (the ``qs`` fixture
checks it), and everything outside the privileged groups goes on as before.
"""

from __future__ import annotations

import json
from pathlib import Path

import apsw
import pytest

from hermit_common.clock import FakeClock
from idmd.entry import Entry
from idmd.errors import AccessDenied
from idmd.server import QueryServer, WriteTxn, builtin
from idmd.server.identity import INTERNAL, Identity, account_identity, on_behalf_of
from idmd.server.mods import Add, Set
from tests.idmd.entries import DOMAIN, make_group, make_person


def _as(entry: Entry) -> Identity:
    return account_identity(entry.uuid, read_only=False)


def _join(txn: WriteTxn, group: str, member: Entry) -> None:
    txn.modify(INTERNAL, group, [Add("member", member.uuid)])


def _helpdesk_profile(txn: WriteTxn, helpdesk: Entry) -> None:
    txn.create(INTERNAL, {
        "class": ["access_control_profile"], "name": ["acp_helpdesk"],
        "acp_receiver": [helpdesk.uuid],
        "acp_target": [json.dumps({"eq": ["class", "person"]})],
        "acp_search_attr": ["name", "uuid"],
        "acp_modify_attr": ["password", "ssh_publickey", "api_token"],
    })


@pytest.fixture
def site(qs: QueryServer) -> dict[str, Entry]:
    """hd in helpdesk (a site profile gives it passwords and SSH keys of every person); boss
    in system_admins; deep in ops, which sits in system_admins; grp in idm_group_admins."""
    with qs.write() as txn:
        people = {name: make_person(txn, name) for name in ("hd", "boss", "deep", "plain", "grp")}
        helpdesk = make_group(txn, "helpdesk", (people["hd"],))
        _helpdesk_profile(txn, helpdesk)
        ops = make_group(txn, "ops", (people["deep"],))
        _join(txn, builtin.UUID_SYSTEM_ADMINS, people["boss"])
        _join(txn, builtin.UUID_SYSTEM_ADMINS, ops)
        _join(txn, builtin.UUID_IDM_GROUP_ADMINS, people["grp"])
    return {**people, "ops": ops}


@pytest.mark.parametrize("target", ["boss", "deep"])
def test_idmd_priv_invariant__a_site_profile_cannot_reach_a_system_admin(
    qs: QueryServer, site: dict[str, Entry], target: str
) -> None:
    hd = _as(site["hd"])
    victim = site[target]
    line = "k:ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    with qs.write() as txn:
        txn.modify(_as(victim), victim.uuid, [Add("ssh_publickey", line)])  # her own key
        for mods in ([Set("password", frozenset({"$argon2id$x"}))],
                     [Add("ssh_publickey", line)],  # a no-op: refused all the same
                     [Set("ssh_publickey", frozenset())]):
            with pytest.raises(AccessDenied, match="system_admins"):
                txn.modify(hd, victim.uuid, mods)
        # A write the server makes for the helpdesk is judged as the helpdesk's ...
        with pytest.raises(AccessDenied):
            txn.modify(on_behalf_of(site["hd"].uuid), victim.uuid,
                       [Set("password", frozenset({"$argon2id$x"}))])
        # ... and the question is answered before any work that would write later.
        current = txn.get(victim.uuid)
        assert current is not None and not txn.can_modify(hd, current, ["password"])
        # Everyone else is the helpdesk's as before.
        assert txn.can_modify(hd, site["plain"], ["password"])
        txn.modify(hd, site["plain"].uuid, [Set("password", frozenset({"$argon2id$y"}))])
    with qs.read() as txn:
        after = txn.get(victim.uuid)
        assert after is not None and not after.get("password")
        assert after.get("ssh_publickey") == {line}


def test_idmd_priv_invariant__the_account_itself_and_a_member_of_every_group_may(
    qs: QueryServer, site: dict[str, Entry]
) -> None:
    with qs.write() as txn:
        boss = site["boss"]
        txn.modify(_as(boss), boss.uuid, [Set("password", frozenset({"$argon2id$own"}))])
        # hd joins system_admins too: now it holds every right boss holds.
        _join(txn, builtin.UUID_SYSTEM_ADMINS, site["hd"])
        txn.modify(_as(site["hd"]), boss.uuid, [Set("password", frozenset({"$argon2id$z"}))])
        # The rule runs both ways: hd holds the helpdesk's rights and boss does not, so
        # even a write made on boss's behalf may not change hd's credentials.
        with pytest.raises(AccessDenied, match="helpdesk"):
            txn.modify(on_behalf_of(boss.uuid), site["hd"].uuid,
                       [Set("password", frozenset({"$argon2id$w"}))])
        # The server's own writes (login bookkeeping, recovery) are not judged.
        txn.modify(INTERNAL, boss.uuid, [Set("password", frozenset({"$argon2id$r"}))])


def test_idmd_priv_invariant__nobody_joins_a_group_nested_in_system_admins(
    qs: QueryServer, site: dict[str, Entry]
) -> None:
    grp, ops = site["grp"], site["ops"]
    with qs.write() as txn:
        for member in (grp, site["plain"]):
            with pytest.raises(AccessDenied, match="system_admins"):
                txn.modify(_as(grp), ops.uuid, [Add("member", member.uuid)])
        with pytest.raises(AccessDenied):  # removing is changing the members too
            txn.modify(_as(grp), ops.uuid, [Set("member", frozenset())])
        # A plain group is still the group admins' ...
        plain = make_group(txn, "plain-group")
        txn.modify(_as(grp), plain.uuid, [Add("member", grp.uuid)])
        # ... and a member of system_admins who administers groups may change ops.
        _join(txn, builtin.UUID_SYSTEM_ADMINS, grp)
        txn.modify(_as(grp), ops.uuid, [Add("member", site["plain"].uuid)])
    with qs.read() as txn:
        stored = txn.get(ops.uuid)
        assert stored is not None and site["plain"].uuid in stored.get("member")


def test_idmd_priv_invariant__an_old_database_stops_showing_memberships_to_unix_readers(
    db_path: str, clock: FakeClock
) -> None:
    """finding 12 on a database made before the fix: the builtin profile is upgraded once."""
    qs = QueryServer(db_path, domain=DOMAIN, clock=clock)
    with qs.write() as txn:
        txn.modify(INTERNAL, builtin.UUID_ACP_UNIX_READ,
                   [Add("acp_search_attr", "member"), Add("acp_search_attr", "memberof")])
    qs.close()
    # What a database made before the upgrade lacks: the marker that it ran.
    connection = apsw.Connection(db_path)
    connection.execute("DELETE FROM kv_meta WHERE k = ?",
                       (b"upgrade:acp_unix_read_memberships",))
    connection.close()
    qs = QueryServer(db_path, domain=DOMAIN, clock=clock)
    try:
        with qs.read() as txn:
            profile = txn.get(builtin.UUID_ACP_UNIX_READ)
            assert profile is not None
            assert not profile.get("acp_search_attr") & {"member", "memberof"}
            assert "gidnumber" in profile.get("acp_search_attr")
        assert qs.verify() == []
    finally:
        qs.close()
    assert Path(db_path).exists()


def test_idmd_priv_invariant__a_people_admin_cannot_free_a_system_admin_s_name_or_uid(
    qs: QueryServer, site: dict[str, Entry]
) -> None:
    # Renaming boss, moving her uid or deleting her would hand her name (sudoers, AllowUsers)
    # or her uid (her files on every host) to the next account made: a privilege step.
    with qs.write() as txn:
        people_admin = make_person(txn, "pa")
        unix_admin = make_person(txn, "ua")
        _join(txn, builtin.UUID_IDM_PEOPLE_ADMINS, people_admin)
        _join(txn, builtin.UUID_IDM_UNIX_ADMINS, unix_admin)
        plain = make_person(txn, "plain2")
        for entry in (site["boss"], plain):
            txn.modify(INTERNAL, entry.uuid, [Add("class", "posix_account"),
                                              Set("gidnumber", frozenset({
                                                  "70001" if entry is plain else "70002"}))])
    boss = site["boss"]
    with qs.write() as txn:
        with pytest.raises(AccessDenied, match=r"system_admins.*name or uid"):
            txn.modify(_as(people_admin), boss.uuid, [Set("name", frozenset({"bossy"}))])
        with pytest.raises(AccessDenied, match=r"system_admins.*name or uid"):
            txn.modify(_as(unix_admin), boss.uuid, [Set("gidnumber", frozenset({"70009"}))])
        with pytest.raises(AccessDenied, match=r"system_admins.*delete"):
            txn.delete(_as(people_admin), boss.uuid)
        # Everyone outside the privileged groups is theirs as before, and so is a no-op.
        txn.modify(_as(people_admin), boss.uuid, [Set("name", frozenset({"boss"}))])
        txn.modify(_as(people_admin), plain.uuid, [Set("name", frozenset({"plain3"}))])
        txn.modify(_as(unix_admin), plain.uuid, [Set("gidnumber", frozenset({"70010"}))])
        txn.delete(_as(people_admin), plain.uuid)
    with qs.read() as txn:
        after = txn.get(boss.uuid)
        assert after is not None
        assert after.first("name") == "boss" and after.first("gidnumber") == "70002"
        assert txn.get(plain.uuid) is None
