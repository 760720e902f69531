"""Names: an entry's name must pass ``idmd.names.validate_name`` (no reserved names, no uuids,
nothing that breaks /etc/passwd or a path). The value syntax only checks the shape; this plugin
applies the full rule whenever a name is set or changed.
"""

from __future__ import annotations

from idmd.entry import Entry
from idmd.names import validate_name
from idmd.plugins.context import PluginContext
from idmd.plugins.plugin import Attrs, Plugin


class Names(Plugin):
    def pre_create(self, ctx: PluginContext, attrs: Attrs) -> None:
        for name in attrs.get("name", ()):
            validate_name(name)

    def pre_modify(self, ctx: PluginContext, before: Entry, attrs: Attrs) -> None:
        for name in attrs.get("name", set()) - before.get("name"):
            validate_name(name)
