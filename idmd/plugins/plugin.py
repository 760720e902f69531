"""The shape of a plugin: hooks before a change is staged, and one after.

``pre_*`` hooks may adjust the attributes about to be written (``attrs`` is mutable) or raise;
``post`` sees every change of the operation so far and may stage more through the context.
Every hook that raises undoes the whole operation (the server runs it in a savepoint).
"""

from __future__ import annotations

from idmd.entry import Entry
from idmd.plugins.context import Change, PluginContext

Attrs = dict[str, set[str]]


class Plugin:
    """A no-op plugin; each invariant overrides the hooks it needs."""

    def pre_create(self, ctx: PluginContext, attrs: Attrs) -> None:
        return None

    def pre_modify(self, ctx: PluginContext, before: Entry, attrs: Attrs) -> None:
        return None

    def pre_delete(self, ctx: PluginContext, entry: Entry) -> None:
        return None

    def post(self, ctx: PluginContext, changes: list[Change]) -> None:
        return None
