"""Uniqueness: no two entries share a value of a unique attribute (uuid, name, spn, mail,
gidnumber). Checked after staging, from the equality index, which by then holds the new
values: a value held by any other entry is a conflict.
"""

from __future__ import annotations

from idmd.errors import Conflict
from idmd.plugins.context import Change, PluginContext
from idmd.plugins.plugin import Plugin
from idmd.schema import UNIQUE_ATTRS


class Uniqueness(Plugin):
    def post(self, ctx: PluginContext, changes: list[Change]) -> None:
        for change in list(changes):
            after = change.after
            if after is None:
                continue
            for attr in UNIQUE_ATTRS:
                old = change.before.get(attr) if change.before is not None else frozenset()
                for value in after.get(attr) - old:
                    if any(id != after.id for id in ctx.eq_ids(attr, value)):
                        raise Conflict(f"{attr} {value!r} is already taken")
