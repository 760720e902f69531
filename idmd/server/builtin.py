"""The builtin entries seeded on a database's first open: accounts, groups and access
control profiles (notes/storage_api.md "Builtin entries"), with fixed uuids.

All carry the class ``builtin``: they cannot be deleted or renamed, and the membership of the
builtin groups is changed only by system_admins. Builtin accounts are plain accounts (neither
person nor service account), so no profile over persons or service accounts reaches them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from idmd.entry import Entry
from idmd.server.identity import INTERNAL, Identity
from idmd.server.mods import Mod, Remove


def _uuid(n: int) -> str:
    return f"00000000-0000-0000-0000-0000000000{n:02d}"


UUID_ADMIN = _uuid(1)
UUID_IDM_ADMIN = _uuid(2)
UUID_ANONYMOUS = _uuid(3)
UUID_SYSTEM_ADMINS = _uuid(10)
UUID_IDM_ADMINS = _uuid(11)
UUID_IDM_PEOPLE_ADMINS = _uuid(12)
UUID_IDM_GROUP_ADMINS = _uuid(13)
UUID_IDM_UNIX_ADMINS = _uuid(14)
UUID_IDM_SERVICE_ACCOUNT_ADMINS = _uuid(15)
UUID_UNIX_READ = _uuid(16)
UUID_ACP_SELF = _uuid(20)
UUID_ACP_ACCOUNTS_READ = _uuid(21)
UUID_ACP_PEOPLE = _uuid(22)
UUID_ACP_GROUPS = _uuid(23)
UUID_ACP_UNIX = _uuid(24)
UUID_ACP_SERVICE_ACCOUNTS = _uuid(25)
UUID_ACP_UNIX_READ = _uuid(26)
UUID_ACP_SYSTEM_READ = _uuid(27)
UUID_ACP_BUILTIN_GROUPS = _uuid(28)
UUID_ACP_PROFILES = _uuid(29)
UUID_SYSTEM_CONFIG = _uuid(30)
UUID_ACP_SYSTEM_CONFIG = _uuid(31)
UUID_ACP_ACCOUNT_POLICY = _uuid(32)


# The builtin groups that are privileged whatever the profiles say (plugins/privileged.py):
# system_admins write the profiles, idm_admins hold every idm_* role.
PRIVILEGED_BUILTIN = frozenset({UUID_SYSTEM_ADMINS, UUID_IDM_ADMINS})


class _Creator(Protocol):
    def create(self, ident: Identity, attrs: Mapping[str, Iterable[str]]) -> Entry: ...
    def get(self, uuid: str) -> Entry | None: ...


_NOT_BUILTIN = {"andnot": {"eq": ["class", "builtin"]}}
_PUBLIC = ("class uuid name spn displayname mail ssh_publickey valid_from expire_at memberof"
           " directmemberof gidnumber loginshell managed_by")
_POLICY = ("policy_min_credential policy_session_lifetime policy_privilege_lifetime"
           " policy_password_min_length")
_EVERYTHING_READABLE = (
    "class uuid name spn displayname description mail member memberof directmemberof"
    " managed_by gidnumber loginshell ssh_publickey valid_from expire_at acp_receiver"
    " acp_receiver_all acp_target acp_search_attr acp_modify_attr acp_modify_class"
    " acp_create_class acp_create_attr acp_delete " + _POLICY
)
_UNIX_READ = ("class uuid name spn displayname gidnumber loginshell ssh_publickey valid_from"
              " expire_at")
# What unix_read could read before issue 9, removed once from databases made before it.
_UNIX_READ_DROPPED = frozenset({"member", "memberof"})
_UPGRADE_UNIX_READ = "upgrade:acp_unix_read_memberships"
_ACP_ATTRS = ("name description acp_receiver acp_receiver_all acp_target acp_search_attr"
              " acp_modify_attr acp_modify_class acp_create_class acp_create_attr acp_delete")


def _account(uuid: str, name: str, displayname: str) -> dict[str, list[str]]:
    return {"class": ["account", "builtin"], "uuid": [uuid], "name": [name],
            "displayname": [displayname]}


def _group(uuid: str, name: str, members: list[str]) -> dict[str, list[str]]:
    attrs = {"class": ["group", "builtin"], "uuid": [uuid], "name": [name]}
    if members:
        attrs["member"] = members
    return attrs


def _acp(
    uuid: str, name: str, receiver: str | None, target: object, *, search: str = "",
    modify: str = "", modify_class: str = "", create_class: str = "", create: str = "",
    delete: bool = False,
) -> dict[str, list[str]]:
    attrs = {
        "class": ["access_control_profile", "builtin"], "uuid": [uuid], "name": [name],
        "acp_target": [json.dumps(target)],
        "acp_search_attr": search.split(), "acp_modify_attr": modify.split(),
        "acp_modify_class": modify_class.split(), "acp_create_class": create_class.split(),
        "acp_create_attr": create.split(), "acp_delete": ["true"] if delete else [],
    }
    if receiver is None:
        attrs["acp_receiver_all"] = ["true"]
    else:
        attrs["acp_receiver"] = [receiver]
    return {k: v for k, v in attrs.items() if v}


def builtin_entries() -> list[dict[str, list[str]]]:
    """Every builtin entry, in an order where each reference points backwards."""
    people_attrs = "name displayname mail valid_from expire_at password ssh_publickey"
    service_attrs = ("name displayname managed_by password ssh_publickey valid_from expire_at"
                     " api_token")
    return [
        _account(UUID_ADMIN, "admin", "System Administrator"),
        _account(UUID_IDM_ADMIN, "idm_admin", "IDM Administrator"),
        _account(UUID_ANONYMOUS, "anonymous", "Anonymous"),
        _group(UUID_SYSTEM_ADMINS, "system_admins", [UUID_ADMIN]),
        _group(UUID_IDM_ADMINS, "idm_admins", [UUID_IDM_ADMIN]),
        _group(UUID_IDM_PEOPLE_ADMINS, "idm_people_admins", [UUID_IDM_ADMINS]),
        _group(UUID_IDM_GROUP_ADMINS, "idm_group_admins", [UUID_IDM_ADMINS]),
        _group(UUID_IDM_UNIX_ADMINS, "idm_unix_admins", [UUID_IDM_ADMINS]),
        _group(UUID_IDM_SERVICE_ACCOUNT_ADMINS, "idm_service_account_admins", [UUID_IDM_ADMINS]),
        _group(UUID_UNIX_READ, "unix_read", [UUID_ANONYMOUS]),
        _acp(UUID_ACP_SELF, "acp_self", None, {"self": True}, search=_PUBLIC,
             modify="ssh_publickey password unix_password"),
        _acp(UUID_ACP_ACCOUNTS_READ, "acp_accounts_read", None,
             {"or": [{"eq": ["class", "account"]}, {"eq": ["class", "group"]}]},
             search="class uuid name spn displayname member memberof gidnumber"),
        _acp(UUID_ACP_PEOPLE, "acp_people_admins", UUID_IDM_PEOPLE_ADMINS,
             {"and": [{"eq": ["class", "person"]}, _NOT_BUILTIN]},
             search=_PUBLIC, modify=people_attrs,
             create_class="object account person", create="class " + people_attrs, delete=True),
        _acp(UUID_ACP_GROUPS, "acp_group_admins", UUID_IDM_GROUP_ADMINS,
             {"and": [{"eq": ["class", "group"]}, _NOT_BUILTIN]},
             search="class uuid name spn description member memberof directmemberof gidnumber "
                    + _POLICY,
             modify="name description member", create_class="object group",
             create="class name description member", delete=True),
        _acp(UUID_ACP_UNIX, "acp_unix_admins", UUID_IDM_UNIX_ADMINS,
             {"and": [{"or": [{"eq": ["class", "account"]}, {"eq": ["class", "group"]}]},
                      _NOT_BUILTIN]},
             search="class uuid name spn displayname gidnumber loginshell ssh_publickey"
                    " member memberof",
             modify="class gidnumber loginshell unix_password ssh_publickey",
             modify_class="posix_account posix_group"),
        _acp(UUID_ACP_SERVICE_ACCOUNTS, "acp_service_account_admins",
             UUID_IDM_SERVICE_ACCOUNT_ADMINS,
             {"and": [{"eq": ["class", "service_account"]}, _NOT_BUILTIN]},
             search=_PUBLIC, modify=service_attrs,
             create_class="object account service_account", create="class " + service_attrs,
             delete=True),
        # No member or memberof: anonymous is a unix reader, and memberof of a POSIX person
        # would list who is in system_admins. The unix views show POSIX groups from the
        # stored memberships (idmd/idm/unix/reads.py).
        _acp(UUID_ACP_UNIX_READ, "acp_unix_read", UUID_UNIX_READ,
             {"or": [{"eq": ["class", "posix_account"]}, {"eq": ["class", "posix_group"]}]},
             search=_UNIX_READ),
        _acp(UUID_ACP_SYSTEM_READ, "acp_system_admins_read", UUID_SYSTEM_ADMINS,
             {"pres": "class"}, search=_EVERYTHING_READABLE),
        _acp(UUID_ACP_BUILTIN_GROUPS, "acp_system_admins_builtin_groups", UUID_SYSTEM_ADMINS,
             {"and": [{"eq": ["class", "group"]}, {"eq": ["class", "builtin"]}]},
             modify="member"),
        _acp(UUID_ACP_PROFILES, "acp_system_admins_profiles", UUID_SYSTEM_ADMINS,
             {"eq": ["class", "access_control_profile"]}, search=_EVERYTHING_READABLE,
             modify=_ACP_ATTRS, create_class="object access_control_profile",
             create="class " + _ACP_ATTRS, delete=True),
        {"class": ["system_config", "builtin"], "uuid": [UUID_SYSTEM_CONFIG],
         "name": ["system_config"],
         "description": ["server-wide settings: the password badlist"]},
        _acp(UUID_ACP_SYSTEM_CONFIG, "acp_system_admins_config", UUID_SYSTEM_ADMINS,
             {"eq": ["class", "system_config"]},
             search="class uuid name spn description badlist_password",
             modify="badlist_password"),
        # Account policy is carried by groups, builtin ones included (so "admins need MFA"
        # can be said of idm_admins); only system_admins may set it.
        _acp(UUID_ACP_ACCOUNT_POLICY, "acp_system_admins_group_settings", UUID_SYSTEM_ADMINS,
             {"eq": ["class", "group"]}, search="class uuid name spn " + _POLICY,
             modify=_POLICY),
    ]


class _MetaReader(Protocol):
    def get_meta(self, key: str) -> bytes | None: ...


class _Upgrader(_MetaReader, Protocol):
    def get(self, uuid: str) -> Entry | None: ...
    def set_meta(self, key: str, value: bytes) -> None: ...
    def modify(
        self, ident: Identity, uuid: str, mods: Sequence[Mod]
    ) -> tuple[Entry, bool]: ...


def outdated(txn: _MetaReader) -> bool:
    """Whether a builtin entry made by an older hermit still needs ``upgrade``."""
    return txn.get_meta(_UPGRADE_UNIX_READ) is None


def upgrade(txn: _Upgrader) -> None:
    """Bring builtin entries made by an older hermit up to date, each change once (a site
    that deliberately undoes one afterwards keeps its choice):

    - acp_unix_read no longer reads ``member`` and ``memberof`` (issue 9, finding 12).
    """
    if txn.get_meta(_UPGRADE_UNIX_READ) is None:
        profile = txn.get(UUID_ACP_UNIX_READ)
        if profile is not None:
            stale = profile.get("acp_search_attr") & _UNIX_READ_DROPPED
            txn.modify(INTERNAL, profile.uuid, [Remove("acp_search_attr", a) for a in stale])
        txn.set_meta(_UPGRADE_UNIX_READ, b"1")


def seed(txn: _Creator) -> None:
    """Create every builtin entry that is missing: all of them on a database's first open,
    and on a database made by an older hermit the ones added since (an upgrade)."""
    for attrs in builtin_entries():
        if txn.get(attrs["uuid"][0]) is None:
            txn.create(INTERNAL, attrs)
