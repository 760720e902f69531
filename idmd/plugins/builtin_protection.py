"""Builtin protection: entries of class ``builtin`` may not be deleted or renamed, the marker
may not be added or removed by a client, and the membership of builtin groups may be changed
only by system_admins (or the server itself).

This holds whatever the access control profiles say: a profile granting ``member`` on all
groups still cannot hand out system_admins.
"""

from __future__ import annotations

from idmd.entry import Entry
from idmd.errors import AccessDenied
from idmd.plugins.context import PluginContext
from idmd.plugins.plugin import Attrs, Plugin


class BuiltinProtection(Plugin):
    def pre_create(self, ctx: PluginContext, attrs: Attrs) -> None:
        if not ctx.internal and "builtin" in attrs.get("class", set()):
            raise AccessDenied("only the server creates builtin entries")

    def pre_modify(self, ctx: PluginContext, before: Entry, attrs: Attrs) -> None:
        was = before.has_class("builtin")
        if not ctx.internal and was != ("builtin" in attrs.get("class", set())):
            raise AccessDenied("the builtin marker cannot be added or removed")
        if not was:
            return
        if attrs.get("name", set()) != before.get("name"):
            raise AccessDenied(f"the builtin entry {before.first('name')} cannot be renamed")
        member_changed = attrs.get("member", set()) != before.get("member")
        if member_changed and not (ctx.internal or ctx.actor_is_system_admin):
            raise AccessDenied("only system_admins change the members of builtin groups")

    def pre_delete(self, ctx: PluginContext, entry: Entry) -> None:
        if entry.has_class("builtin"):
            raise AccessDenied(f"the builtin entry {entry.first('name')} cannot be deleted")
