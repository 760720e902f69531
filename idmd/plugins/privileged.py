"""Privileged accounts: nobody gains rights they do not hold by taking over an account that
holds them (issue 9, finding 2).

What it does not do: decide what the access profiles grant (``access``); this invariant only
ever refuses more, whatever the profiles say, like the builtin protection beside it. The
server asks the same rule before work that writes later or never (``ReadTxn.can_modify``: a
credential update session, a softlock unlock), so a refusal comes before anything is staged.

Definitions:
- A *privileged group* is system_admins, idm_admins, or a receiver of an access control
  profile that grants a write right (modify, create or delete); the server computes the set
  (``PluginContext.privileged_groups``). A receiver that is an account counts the same way.
- The *guard* of an entry is the privileged groups among the entry itself and its
  ``memberof`` (the stored closure: nesting counts).
- An actor *covers* an entry when every group of the guard is the actor or one of its groups.

Rules, for every actor but the server itself (``INTERNAL``; writes the server makes for an
account, ``on_behalf_of``, are judged as that account's):
- the credentials of an account (``CREDENTIAL_ATTRS``: every secret attribute, so passwords,
  TOTPs, backup codes, the reset token, API tokens, session records and any credential added
  later, and SSH keys) may be changed only by the account itself or by an actor that
  covers it;
- the members of a group whose guard is not empty may be changed only by an actor that covers
  it or by a member of system_admins (who hold every right already: they write the profiles),
  so an account whose password an intruder knows cannot be put into a privileged group by
  the intruder, nor the intruder itself;
- the identity of such an account on hosts (``IDENTITY_ATTRS``: its name, and so its spn, and
  its gidnumber, which is its uid) may be changed, and the account deleted, only by the same
  actors: a rename or a deletion frees the name (and a new uid frees the old one) for another
  account, which sudoers rules, ``AllowUsers`` and files on every host would then take for the
  privileged one;
- a modification that names a credential or the members is judged even when it changes
  nothing, so an idempotent "unchanged" never answers before the refusal (a name or uid that
  stays the same gives nothing away: both are readable).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Set

from idmd.entry import Entry
from idmd.errors import AccessDenied
from idmd.plugins.context import PluginContext
from idmd.plugins.plugin import Attrs, Plugin
from idmd.schema import SECRET_ATTRS

# Every secret attribute is a credential (passwords, TOTPs, backup codes, the reset token, API
# tokens, session records, and whatever joins them, passkeys included), and so are SSH keys:
# public, but each one is a way in.
CREDENTIAL_ATTRS = SECRET_ATTRS | {"ssh_publickey"}
# What hosts know the account by: sudoers, AllowUsers and file ownership name these.
IDENTITY_ATTRS = frozenset({"name", "gidnumber"})
MEMBER_ATTR = "member"
GUARDED_ATTRS = CREDENTIAL_ATTRS | {MEMBER_ATTR}


def guard(entry: Entry, privileged: Set[str]) -> frozenset[str]:
    """The privileged groups ``entry`` is (a receiver itself) or is in, nesting included."""
    return frozenset((entry.get("memberof") | {entry.uuid}) & privileged)


def refusal(
    actor_uuid: str,
    actor_groups: Set[str],
    actor_is_system_admin: bool,
    entry: Entry,
    attrs: Iterable[str],
    privileged: Set[str],
    name_of: Callable[[str], str],
) -> str | None:
    """Why the actor may not write ``attrs`` of ``entry`` under this invariant, or None.

    ``actor_groups``: the actor's uuid and every group it is in; ``name_of`` names a uuid
    for the message (names of groups are readable by every signed-in account).
    """
    written = set(attrs)
    if entry.has_class("account") and written & (CREDENTIAL_ATTRS | IDENTITY_ATTRS):
        if actor_uuid == entry.uuid:
            return None
        missing = guard(entry, privileged) - actor_groups
        if missing:
            what = "credentials" if written & CREDENTIAL_ATTRS else "name or uid"
            return (
                f"{entry.first('name')} holds rights you do not: only the account itself or "
                f"a member of {_names(missing, name_of)} may change its {what}"
            )
    if entry.has_class("group") and MEMBER_ATTR in written and not actor_is_system_admin:
        missing = guard(entry, privileged) - actor_groups
        if missing:
            return (
                f"the group {entry.first('name')} grants rights you do not hold: only "
                f"system_admins or a member of {_names(missing, name_of)} may change its members"
            )
    return None


def deletion_refusal(
    actor_uuid: str, actor_groups: Set[str], entry: Entry, privileged: Set[str],
    name_of: Callable[[str], str],
) -> str | None:
    """Why the actor may not delete the account ``entry`` under this invariant, or None."""
    if not entry.has_class("account") or actor_uuid == entry.uuid:
        return None
    missing = guard(entry, privileged) - actor_groups
    if not missing:
        return None
    return (
        f"{entry.first('name')} holds rights you do not: only a member of "
        f"{_names(missing, name_of)} may delete it"
    )


def _names(uuids: Iterable[str], name_of: Callable[[str], str]) -> str:
    return " and ".join(sorted(name_of(uuid) for uuid in uuids))


class PrivilegedAccounts(Plugin):
    def pre_modify(self, ctx: PluginContext, before: Entry, attrs: Attrs) -> None:
        actor = ctx.actor_uuid
        if actor is None:
            return
        watched = GUARDED_ATTRS | IDENTITY_ATTRS
        changed = {a for a in watched if attrs.get(a, set()) != before.get(a)}
        judged = changed | (ctx.touched & GUARDED_ATTRS)
        if not judged:
            return
        why = refusal(
            actor, ctx.actor_groups, ctx.actor_is_system_admin, before, judged,
            ctx.privileged_groups(), _namer(ctx),
        )
        if why is not None:
            raise AccessDenied(why)

    def pre_delete(self, ctx: PluginContext, entry: Entry) -> None:
        actor = ctx.actor_uuid
        if actor is None:
            return
        why = deletion_refusal(actor, ctx.actor_groups, entry, ctx.privileged_groups(),
                               _namer(ctx))
        if why is not None:
            raise AccessDenied(why)


def _namer(ctx: PluginContext) -> Callable[[str], str]:
    def name_of(uuid: str) -> str:
        found = ctx.get(uuid)
        return (found.first("name") if found is not None else None) or uuid

    return name_of
