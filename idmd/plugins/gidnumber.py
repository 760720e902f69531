"""gidnumbers: allocated without collision for POSIX entries that lack one; chosen ones are
checked against the reserved ranges (``idmd.names.validate_gidnumber``).

An account's gidnumber is also its uid and the gid of its user-private group, so a gidnumber
is unique across all entries (``uniqueness`` enforces it; the allocator never hands out a
taken one).

Allocation walks ``idmd.names.ALLOC_RANGE`` from a stored cursor (sys key ``next_gid``),
skipping taken numbers and wrapping at the end, so it costs one index probe in the common case
and never reuses a number while it is held.
"""

from __future__ import annotations

from idmd.entry import Entry
from idmd.errors import Conflict
from idmd.names import ALLOC_RANGE, validate_gidnumber
from idmd.plugins.context import PluginContext
from idmd.plugins.plugin import Attrs, Plugin

POSIX_CLASSES = frozenset({"posix_account", "posix_group"})
_CURSOR = "next_gid"


class GidNumber(Plugin):
    def pre_create(self, ctx: PluginContext, attrs: Attrs) -> None:
        self._check(ctx, attrs, frozenset())

    def pre_modify(self, ctx: PluginContext, before: Entry, attrs: Attrs) -> None:
        self._check(ctx, attrs, before.get("gidnumber"))

    @staticmethod
    def _check(ctx: PluginContext, attrs: Attrs, held: frozenset[str]) -> None:
        for gid in attrs.get("gidnumber", set()) - held:
            validate_gidnumber(int(gid))
        if POSIX_CLASSES & attrs.get("class", set()) and not attrs.get("gidnumber"):
            attrs["gidnumber"] = {str(allocate(ctx))}


def allocate(ctx: PluginContext) -> int:
    """The next free gidnumber in ALLOC_RANGE. Errors: ``Conflict`` when the range is full."""
    low, high = ALLOC_RANGE
    raw = ctx.get_sys(_CURSOR)
    candidate = int(raw.decode()) if raw else low
    for _ in range(high - low + 1):
        if not low <= candidate <= high:
            candidate = low
        if not ctx.eq_ids("gidnumber", str(candidate)):
            ctx.put_sys(_CURSOR, str(candidate + 1).encode())
            return candidate
        candidate += 1
    raise Conflict(f"every gidnumber in {low}-{high} is taken")
