"""Referential integrity: a reference (member, managed_by, acp_receiver) names an existing
entry, and deleting an entry removes every reference to it.

Computed references (memberof, directmemberof) are not handled here: the memberof plugin
recomputes them from the cleaned-up ``member`` values, which is why it runs after this one.
"""

from __future__ import annotations

from hermit_common.errors import InvalidValue
from idmd.plugins.context import Change, PluginContext
from idmd.plugins.plugin import Plugin
from idmd.schema import COMPUTED_ATTRS, REFERENCE_ATTRS

CLIENT_REFERENCE_ATTRS = REFERENCE_ATTRS - COMPUTED_ATTRS


class ReferentialIntegrity(Plugin):
    def post(self, ctx: PluginContext, changes: list[Change]) -> None:
        for change in list(changes):
            if change.after is None and change.before is not None:
                self._remove_references(ctx, change.before.uuid)
            elif change.after is not None:
                for attr in CLIENT_REFERENCE_ATTRS:
                    old = change.before.get(attr) if change.before is not None else frozenset()
                    for target in change.after.get(attr) - old:
                        if not ctx.eq_ids("uuid", target):
                            raise InvalidValue(f"{attr}: no entry has the uuid {target}")

    @staticmethod
    def _remove_references(ctx: PluginContext, uuid: str) -> None:
        for attr in sorted(CLIENT_REFERENCE_ATTRS):
            for id in ctx.eq_ids(attr, uuid):
                holder = ctx.get_by_id(id)
                if holder is None:
                    continue
                attrs = {a: set(v) for a, v in holder.attrs.items()}
                attrs[attr].discard(uuid)
                if not attrs[attr]:
                    del attrs[attr]
                ctx.stage_internal(id, attrs)
