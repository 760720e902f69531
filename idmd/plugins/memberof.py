"""memberof and directmemberof: computed from ``member``, direct and nested, cycles included.

Definitions (verify checks exactly these):
- ``directmemberof(E)`` = the uuids of the entries whose ``member`` holds E's uuid;
- ``memberof(E)`` = every uuid reachable upwards from E through ``member`` edges, except E's
  own uuid (in a cycle A ∈ B ∈ C ∈ A, A is a member of B and C, never of itself).

Only affected entries are recomputed: when a group's ``member`` gains or loses X, the
memberof of X and of everything below X can change, nothing else. So the roots are the added
and removed members (and the members of a deleted group), the affected set is the roots and
their descendants, and each affected entry's memberof is recomputed upwards, with the parents
of every group looked up once per operation.
"""

from __future__ import annotations

from idmd.plugins.context import Change, PluginContext
from idmd.plugins.plugin import Plugin


class MemberOf(Plugin):
    def post(self, ctx: PluginContext, changes: list[Change]) -> None:
        roots: set[str] = set()
        for change in changes:
            old = change.before.get("member") if change.before is not None else frozenset()
            new = change.after.get("member") if change.after is not None else frozenset()
            roots |= old ^ new
            if change.after is None:
                roots |= old  # the deleted group's members lose it and its ancestors
        if not roots:
            return
        walker = _Walker(ctx)
        for uuid in sorted(walker.descendants(roots)):
            entry = ctx.get(uuid)
            if entry is None:
                continue  # deleted in this operation
            direct = walker.parents(uuid)
            nested = walker.ancestors(uuid)
            if entry.get("directmemberof") == direct and entry.get("memberof") == nested:
                continue
            attrs = {a: set(v) for a, v in entry.attrs.items()}
            for attr, values in (("directmemberof", direct), ("memberof", nested)):
                if values:
                    attrs[attr] = set(values)
                else:
                    attrs.pop(attr, None)
            ctx.stage_internal(entry.id, attrs)


class _Walker:
    """Graph walks over ``member`` within one operation, with the upward edges memoised."""

    def __init__(self, ctx: PluginContext) -> None:
        self._ctx = ctx
        self._parents: dict[str, frozenset[str]] = {}

    def parents(self, uuid: str) -> frozenset[str]:
        found = self._parents.get(uuid)
        if found is None:
            holders = (self._ctx.get_by_id(id) for id in self._ctx.eq_ids("member", uuid))
            found = frozenset(h.uuid for h in holders if h is not None)
            self._parents[uuid] = found
        return found

    def ancestors(self, uuid: str) -> frozenset[str]:
        seen: set[str] = set()
        pending = [uuid]
        while pending:
            for parent in self.parents(pending.pop()):
                if parent not in seen:
                    seen.add(parent)
                    pending.append(parent)
        seen.discard(uuid)
        return frozenset(seen)

    def descendants(self, roots: set[str]) -> set[str]:
        seen = set(roots)
        pending = list(roots)
        while pending:
            entry = self._ctx.get(pending.pop())
            if entry is None:
                continue
            for child in entry.get("member") - seen:
                seen.add(child)
                pending.append(child)
        return seen
