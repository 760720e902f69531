"""Read and write transactions: searches with access control, and the write pipeline that runs
the plugins, the access checks and the schema check for every create, modify and delete.

Rules:
- every write operation is all-or-nothing on its own (a savepoint), so a caller that catches a
  refusal inside a write transaction can go on without a half-applied change;
- a read-only identity is refused any write with ``ReadOnlySession`` before anything else;
- the internal identity bypasses access control, never the plugins or the schema;
- a search by an account returns only entries it may read, reduced to the attributes it may
  read, and only if it may read every attribute the filter looks at (so a filter cannot probe
  attributes the reader cannot see).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set

from idmd import access, schema
from idmd.access import AccessProfile, Actor
from idmd.be.backend import BackendRead, BackendWrite
from idmd.be.idl import IDL
from idmd.entry import Entry, freeze_attrs
from idmd.errors import AccessDenied, NotFound, ReadOnlySession, UnindexedFilter
from idmd.filter import Filter, attributes_of, candidates, eq, matches, normalise_values
from idmd.names import is_uuid
from idmd.plugins import PLUGINS, Attrs, Change, privileged
from idmd.server.builtin import (
    PRIVILEGED_BUILTIN,
    UUID_ANONYMOUS,
    UUID_SYSTEM_ADMINS,
)
from idmd.server.identity import Identity
from idmd.server.mods import Add, Mod, Purge, Remove
from idmd.server.mods import Set as SetMod
from idmd.server.profiles import ProfileCache

_ACP_CLASS = "access_control_profile"


class ReadTxn:
    def __init__(self, be: BackendRead[Entry], domain: str, profiles: ProfileCache) -> None:
        """A transaction over ``be`` for the server of ``domain`` (plugins compute spns with
        it); ``profiles`` is the server's cache of the parsed access control profiles."""
        self._be = be
        self.domain = domain
        self._profile_cache = profiles
        # Per transaction: each acting account and the profiles that apply to it (a unix view
        # runs one search per group; resolving the actor once keeps each of them cheap).
        self._actors: dict[str, tuple[Actor, list[AccessProfile]]] = {}

    # --- internal reads (no access check) ---------------------------------------------------
    def get(self, uuid: str) -> Entry | None:
        """The entry with ``uuid`` (any case, with or without dashes), or None."""
        key = schema.normalise_lenient("uuid", uuid)
        for id in self._be.eq_ids("uuid", key):
            return self._be.get_entry(id)
        return None

    def resolve(self, text: str) -> Entry | None:
        """The entry named by a name (folded), an spn, a uuid, or a gidnumber (digits)."""
        text = text.strip()
        if is_uuid(text):
            return self.get(text)
        if text.isascii() and text.isdigit():
            attr, value = "gidnumber", schema.normalise_lenient("gidnumber", text)
        elif "@" in text:
            attr, value = "spn", text.lower()
        else:
            attr, value = "name", text.lower()
        for id in self._be.eq_ids(attr, value):
            return self._be.get_entry(id)
        return None

    def get_meta(self, key: str) -> bytes | None:
        return self._be.get_meta("meta", key)

    def internal_search(
        self, filt: Filter, *, allow_full_scan: bool = False, force_full_scan: bool = False
    ) -> list[Entry]:
        """Every entry matching ``filt``, unreduced.

        ``force_full_scan`` ignores the indexes and checks every entry (for benchmarks and
        tests comparing the two paths). Errors: ``UnindexedFilter``.
        """
        return self._search(filt, None, allow_full_scan, force_full_scan)

    def _search(
        self, filt: Filter, self_uuid: str | None, allow_full_scan: bool, force_full_scan: bool
    ) -> list[Entry]:
        filt = normalise_values(filt, schema.normalise_lenient)
        ids: IDL
        if force_full_scan:
            ids = self._be.all_ids()
        else:
            try:
                ids = candidates(filt, self._be, schema.indexes_of, self_uuid)
            except UnindexedFilter:
                if not allow_full_scan:
                    raise
                ids = self._be.all_ids()
        found = []
        for id in ids:
            entry = self._be.get_entry(id)
            if entry is not None and matches(filt, entry, self_uuid):
                found.append(entry)
        return found

    # --- reads as an identity ---------------------------------------------------------------
    def search(
        self,
        ident: Identity,
        filt: Filter,
        *,
        allow_full_scan: bool = False,
        server_filter: bool = False,
    ) -> list[Entry]:
        """The entries ``ident`` may read that match ``filt``, reduced to what it may read.

        ``allow_full_scan`` is for the server's own callers, never set from a request; so is
        ``server_filter``: the filter is the server's own, built from what the caller may
        read (the members of a POSIX group it reads), so the attributes it looks at need not
        be readable by the caller; every entry found still must be.
        Errors: ``UnindexedFilter``; ``AccessDenied`` if the acting account is gone.
        """
        if ident.kind == "internal":
            return self.internal_search(filt, allow_full_scan=allow_full_scan)
        actor, profiles = self._actor_profiles(ident)
        looked_at = frozenset() if server_filter else attributes_of(filt)
        result = []
        for entry in self._search(filt, actor.uuid, allow_full_scan, False):
            readable = access.readable_attrs(profiles, actor, entry)
            if readable and looked_at <= readable:
                result.append(entry.with_attrs(readable))
        return result

    def readable_attrs(self, ident: Identity, entry: Entry) -> frozenset[str]:
        """What ``ident`` may read of ``entry`` (everything but secrets for internal)."""
        if ident.kind == "internal":
            return frozenset(entry.attrs.keys() - schema.SECRET_ATTRS)
        actor, profiles = self._actor_profiles(ident)
        return access.readable_attrs(profiles, actor, entry)

    def can_modify(self, ident: Identity, entry: Entry, attrs: Iterable[str]) -> bool:
        """Whether ``ident`` may write ``attrs`` of ``entry`` (class values not judged): the
        access profiles, and the invariant of privileged accounts, which the write itself
        would apply too (``plugins/privileged.py``)."""
        return self.modify_refusal(ident, entry, attrs, "refused") is None

    def modify_refusal(
        self, ident: Identity, entry: Entry, attrs: Iterable[str], denied: str
    ) -> str | None:
        """None when ``ident`` may write ``attrs`` of ``entry`` (as ``can_modify``); else why
        not: ``denied`` when the profiles refuse, the invariant's reason when it does."""
        if ident.read_only:
            return denied
        attrs = frozenset(attrs)
        if ident.kind == "internal":
            if ident.acting_for is None:
                return None
            actor = self._actor(ident.acting_for)
        else:
            actor, profiles = self._actor_profiles(ident)
            touched = {a: frozenset[str]() for a in attrs}
            if not access.may_modify(profiles, actor, entry, touched):
                return denied
        return self.privileged_refusal(actor, entry, attrs)

    def privileged_groups(self) -> frozenset[str]:
        """The privileged groups of ``plugins/privileged.py``: the builtin admin groups and
        every receiver of a profile that grants a write right."""
        return PRIVILEGED_BUILTIN | access.write_receivers(self._profiles())

    def privileged_refusal(self, actor: Actor, entry: Entry, attrs: Iterable[str]) -> str | None:
        """Why ``actor`` may not write ``attrs`` of ``entry`` as a privileged account's or
        group's, or None (``plugins/privileged.refusal``)."""
        return privileged.refusal(
            actor.uuid, actor.groups, UUID_SYSTEM_ADMINS in actor.groups, entry, attrs,
            self.privileged_groups(), self._name_of,
        )

    def check_create(self, ident: Identity, attrs: Mapping[str, Iterable[str]]) -> None:
        """Refuse (``AccessDenied``) unless ``ident`` may create an entry of ``attrs``: what
        ``create`` asks first, for callers that answer "unchanged" for an entry that exists
        (rights first, then compare). Errors: also those of normalising ``attrs``."""
        if ident.kind == "internal":
            return
        norm: Attrs = schema.normalise_attrs(attrs)
        supplied = set(norm)
        norm["class"] = schema.complete_classes(norm.get("class", set()))
        actor, profiles = self._actor_profiles(ident)
        access.check_create(profiles, actor, Entry(0, freeze_attrs(norm)), supplied)

    def _name_of(self, uuid: str) -> str:
        found = self.get(uuid)
        return (found.first("name") if found is not None else None) or uuid

    def _actor(self, uuid: str) -> Actor:
        """The account ``uuid`` as an actor. Errors: ``AccessDenied`` when it is gone."""
        account = self.get(uuid)
        if account is None:
            raise AccessDenied("the acting account no longer exists")
        return Actor(
            uuid=account.uuid,
            groups=account.get("memberof") | {account.uuid},
            anonymous=account.uuid == UUID_ANONYMOUS,
        )

    def _actor_profiles(self, ident: Identity) -> tuple[Actor, list[AccessProfile]]:
        """The acting account and the profiles it receives. Errors: ``AccessDenied``."""
        known = self._actors.get(ident.uuid or "")
        if known is not None:
            return known
        if not ident.uuid:
            raise AccessDenied("the acting account no longer exists")
        actor = self._actor(ident.uuid)
        known = (actor, access.applicable(self._profiles(), actor))
        self._actors[actor.uuid] = known
        return known

    def _profiles(self) -> tuple[AccessProfile, ...]:
        return self._profile_cache.get(self._load_profiles)

    def _load_profiles(self) -> tuple[AccessProfile, ...]:
        return tuple(
            access.parse_profile(e) for e in self.internal_search(eq("class", _ACP_CLASS))
        )


class WriteTxn(ReadTxn):
    """The one write transaction (see ``QueryServer.write``)."""

    _be: BackendWrite[Entry]

    def __init__(self, be: BackendWrite[Entry], domain: str, profiles: ProfileCache) -> None:
        super().__init__(be, domain, profiles)
        # Set when an access control profile changed: the profile cache is then bypassed here
        # and dropped at commit.
        self.profiles_changed = False

    def set_meta(self, key: str, value: bytes) -> None:
        self._be.put_meta("meta", key, value)

    def _profiles(self) -> tuple[AccessProfile, ...]:
        if self.profiles_changed:
            return self._load_profiles()
        return super()._profiles()

    def create(self, ident: Identity, attrs: Mapping[str, Iterable[str]]) -> Entry:
        """Create an entry and return it as stored.

        Assigns a uuid if absent, completes implied classes, computes spn, allocates a
        gidnumber for a POSIX entry without one. Errors: ``ReadOnlySession``,
        ``AccessDenied``, ``InvalidAttribute``, ``InvalidValue``, ``InvalidName``,
        ``ReservedGid``, ``SchemaViolation``, ``Conflict``, ``InvalidRequest``.
        """
        _check_writable(ident)
        with self._be.operation():
            ctx = self._context(ident)
            norm: Attrs = schema.normalise_attrs(attrs)
            supplied = set(norm)
            for plugin in PLUGINS:
                plugin.pre_create(ctx, norm)
            if ident.kind != "internal":
                actor, profiles = self._actor_profiles(ident)
                access.check_create(profiles, actor, Entry(0, freeze_attrs(norm)), supplied)
            schema.validate_entry(norm)
            entry = Entry(self._be.allocate_id(), freeze_attrs(norm))
            self._stage(ctx, entry.id, None, entry)
            self._finish(ctx)
            created = self._be.get_entry(entry.id)
            assert created is not None
            return created

    def modify(self, ident: Identity, uuid: str, mods: Sequence[Mod]) -> tuple[Entry, bool]:
        """Apply ``mods`` in order; return the entry after and whether anything changed.

        Errors: as ``create``, and ``NotFound``.
        """
        _check_writable(ident)
        with self._be.operation():
            before = self.get(uuid)
            if before is None:
                raise NotFound(f"no entry has the uuid {uuid}")
            attrs: Attrs = {a: set(v) for a, v in before.attrs.items()}
            touched = _apply_mods(attrs, mods)
            ctx = self._context(ident, frozenset(touched))
            if ident.kind != "internal":
                actor, profiles = self._actor_profiles(ident)
                access.check_modify(profiles, actor, before, touched)
            for plugin in PLUGINS:
                plugin.pre_modify(ctx, before, attrs)
            frozen = freeze_attrs(attrs)
            if frozen == before.attrs:
                return before, False
            schema.validate_entry(attrs)
            self._stage(ctx, before.id, before, Entry(before.id, frozen))
            self._finish(ctx)
            after = self._be.get_entry(before.id)
            assert after is not None
            return after, True

    def delete(self, ident: Identity, uuid: str) -> bool:
        """Delete an entry and every reference to it; False if there was no such entry.

        Errors: ``ReadOnlySession``, ``AccessDenied``; ``SchemaViolation`` if removing the
        references would break another entry (a profile left without receivers).
        """
        _check_writable(ident)
        with self._be.operation():
            entry = self.get(uuid)
            if entry is None:
                return False
            ctx = self._context(ident)
            if ident.kind != "internal":
                actor, profiles = self._actor_profiles(ident)
                access.check_delete(profiles, actor, entry)
            for plugin in PLUGINS:
                plugin.pre_delete(ctx, entry)
            self._stage(ctx, entry.id, entry, None)
            self._finish(ctx)
            return True

    # --- the pipeline ---------------------------------------------------------------------
    def _context(self, ident: Identity, touched: frozenset[str] = frozenset()) -> _Context:
        acting = ident.uuid if ident.kind == "account" else ident.acting_for
        actor = self._actor(acting) if acting is not None else None
        return _Context(self, actor, touched)

    def _stage(self, ctx: _Context, id: int, before: Entry | None, after: Entry | None) -> None:
        self._be.stage(id, before, after)
        self._actors.clear()  # a change may touch an actor's groups or a profile
        ctx.changes.append(Change(before, after))
        if any(e is not None and e.has_class(_ACP_CLASS) for e in (before, after)):
            self.profiles_changed = True

    def _finish(self, ctx: _Context) -> None:
        for plugin in PLUGINS:
            plugin.post(ctx, ctx.changes)
        checked: set[int] = set()
        for change in ctx.changes:
            if change.after is None or change.after.id in checked:
                continue
            checked.add(change.after.id)
            current = self._be.get_entry(change.after.id)
            if current is not None:
                # Values were normalised on the way in (clients') or computed (plugins').
                schema.validate_entry(current.attrs, check_values=False)


class _Context:
    """The plugins' view of one write operation."""

    def __init__(self, txn: WriteTxn, actor: Actor | None, touched: frozenset[str]) -> None:
        self._txn = txn
        self.domain = txn.domain
        self.internal = actor is None
        self.actor_uuid = actor.uuid if actor is not None else None
        self.actor_groups = actor.groups if actor is not None else frozenset()
        self.actor_is_system_admin = UUID_SYSTEM_ADMINS in self.actor_groups
        self.touched = touched
        self.changes: list[Change] = []

    def privileged_groups(self) -> frozenset[str]:
        return self._txn.privileged_groups()

    def get(self, uuid: str) -> Entry | None:
        return self._txn.get(uuid)

    def get_by_id(self, id: int) -> Entry | None:
        return self._txn._be.get_entry(id)

    def eq_ids(self, attr: str, value: str) -> IDL:
        return self._txn._be.eq_ids(attr, value)

    def stage_internal(self, id: int, attrs: Mapping[str, Set[str]]) -> Entry:
        before = self._txn._be.get_entry(id)
        after = Entry(id, freeze_attrs(attrs))
        self._txn._stage(self, id, before, after)
        return after

    def get_sys(self, key: str) -> bytes | None:
        return self._txn._be.get_meta("sys", key)

    def put_sys(self, key: str, value: bytes) -> None:
        self._txn._be.put_meta("sys", key, value)


def _check_writable(ident: Identity) -> None:
    if ident.read_only:
        raise ReadOnlySession("this session is read-only; re-authenticate to make changes")


def _apply_mods(attrs: Attrs, mods: Sequence[Mod]) -> dict[str, set[str]]:
    """Apply ``mods`` to ``attrs`` in place; return, per attribute written, the values touched.

    Errors: ``InvalidAttribute``, ``InvalidValue``.
    """
    touched: dict[str, set[str]] = {}
    for mod in mods:
        attr = mod.attr.lower()
        schema.attribute(attr)
        current = attrs.setdefault(attr, set())
        seen = touched.setdefault(attr, set())
        match mod:
            case SetMod(_, values):
                new = {schema.normalise_value(attr, v) for v in values}
                seen |= new ^ current
                current.clear()
                current |= new
            case Add(_, value):
                new_value = schema.normalise_value(attr, value)
                seen.add(new_value)
                current.add(new_value)
            case Remove(_, value):
                old_value = schema.normalise_lenient(attr, value)
                seen.add(old_value)
                current.discard(old_value)
            case Purge(_):
                seen |= current
                current.clear()
        if not current:
            del attrs[attr]
    return touched
