"""Anonymous listing who is in system_admins through the memberof of POSIX people (issue 9,
finding 12), over real TLS.

The intruder is any party on the network: every host holds an anonymous token, and anonymous
is in unix_read. Unix readers now see POSIX groups only, through the unix views; the views
still list a user's POSIX groups (nested ones too) and a POSIX group's members.
"""

from __future__ import annotations

from tests.security import idmd_priv_crew
from tests.security.idmd_priv_crew import Crew, ok, refused

crew = idmd_priv_crew.crew


def test_idmd_priv_unix_memberof__anonymous_cannot_list_system_admins(crew: Crew) -> None:
    staff = crew.group("staff", posix=True)
    team = crew.group("team", posix=True)
    crew.join(staff, team)  # nesting: team's members are in staff too
    ops = crew.group("ops", posix=True)
    crew.join("system_admins", ops)  # a POSIX group of the site's admins
    boss = crew.person("boss", posix=True, groups=("system_admins", team))
    chief = crew.person("chief", groups=("system_admins", "idm_group_admins"))
    crew.join(ops, crew.person("opr", posix=True).name, by=crew.login(chief))
    anonymous = crew.idmd.login("anonymous", None)  # type: ignore[arg-type]
    with crew.client(anonymous) as c:
        person = ok(c.get(f"/v1/person/{boss.name}"))
        assert person["memberof"] == [], person["memberof"]
        group = ok(c.get(f"/v1/group/{ops}"))
        assert group["memberof"] == [] and group["members"] == []
        refused(c.get("/v1/group/system_admins"), 404, "not_found")
        # The unix views keep working: a user's POSIX groups, nested included ...
        user = ok(c.get(f"/v1/unix/user/{boss.name}"))
        assert [g["name"] for g in user["groups"]] == [boss.name, *sorted([staff, team])]
        # ... and a POSIX group's members, nested included.
        assert ok(c.get(f"/v1/unix/group/{staff}"))["members"] == [boss.name]
        listed = {g["name"]: g["members"] for g in ok(c.get("/v1/unix/group"))["groups"]}
        assert listed[team] == [boss.name]
        assert len(ok(c.get(f"/v1/unix/group/{ops}"))["members"]) == 1
        # No non-POSIX group shows anywhere in the unix listing of users.
        users = ok(c.get("/v1/unix/user"))["users"]
        groups = {g["name"] for u in users for g in u["groups"]}
        assert "system_admins" not in groups
    # A signed-in admin still sees the memberships.
    with crew.client(crew.idm_admin) as c:
        spns = ok(c.get(f"/v1/person/{boss.name}"))["memberof"]
        assert any(spn.startswith("system_admins@") for spn in spns)
