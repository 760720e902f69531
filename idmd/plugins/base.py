"""The base invariants: every entry has a uuid that never changes, the classes it implies,
and an spn computed from its name and the server's domain; nobody writes computed attributes.

Computed attributes (``schema.COMPUTED_ATTRS``: spn, memberof, directmemberof) are set only by
this plugin and the memberof plugin, through ``stage_internal``.
"""

from __future__ import annotations

import uuid as uuidlib

from hermit_common.errors import InvalidRequest
from idmd.entry import Entry
from idmd.plugins.context import PluginContext
from idmd.plugins.plugin import Attrs, Plugin
from idmd.schema import COMPUTED_ATTRS, complete_classes


class Base(Plugin):
    def pre_create(self, ctx: PluginContext, attrs: Attrs) -> None:
        for attr in COMPUTED_ATTRS & attrs.keys():
            raise InvalidRequest(f"{attr} is computed by the server and cannot be written")
        attrs["class"] = complete_classes(attrs.get("class", set()))
        if not attrs.get("uuid"):
            attrs["uuid"] = {str(uuidlib.uuid4())}
        self._set_spn(ctx, attrs)

    def pre_modify(self, ctx: PluginContext, before: Entry, attrs: Attrs) -> None:
        for attr in COMPUTED_ATTRS:
            if attrs.get(attr, set()) != before.get(attr):
                raise InvalidRequest(f"{attr} is computed by the server and cannot be written")
        if attrs.get("uuid", set()) != before.get("uuid"):
            raise InvalidRequest("an entry's uuid never changes")
        attrs["class"] = complete_classes(attrs.get("class", set()))
        self._set_spn(ctx, attrs)

    @staticmethod
    def _set_spn(ctx: PluginContext, attrs: Attrs) -> None:
        names = attrs.get("name")
        if names and len(names) == 1:
            attrs["spn"] = {f"{next(iter(names))}@{ctx.domain}"}
        else:
            attrs.pop("spn", None)  # no (single) name: the schema check says what is wrong
