"""The resolver: answers every lookup from the cache, idmd, or both, online and offline.

This module owns the policy of DESIGN.md "unixd" and docs/unixd.md: when an answer may come
from the cache, when idmd must be asked, what offline means, and how local identities shadow
the directory. It does not speak HTTP (``provider``), store anything (``cache``), shape
records (``records``) or decide what a PAM conversation asks (``unixd.resolver.pam``).

Rules:
- A fresh cache entry is the answer. Past 3/4 of its life it is also refreshed in the
  background, after a random delay of up to a tenth of ``cache_timeout`` (at most 5 s), so
  many hosts that cached the same entry together do not all ask idmd in the same second.
- An expired entry (or none) is fetched at once, under the request's deadline. If idmd cannot
  be reached the resolver goes offline (``state.OnlineState``) and answers from the cache,
  expired entries included; what was never cached is ``UNAVAIL``, never "not found".
- idmd's "not found" (404, which also covers an account that is no longer POSIX) purges the
  entry and its offline hash and is remembered briefly in the negative cache of its kind.
- While offline and inside the back-off no request is made; ``network_changed`` (from the
  network watcher) and ``invalidate`` end the back-off.
- Local names and ids always win (``TaskLink.local``): a directory entry they shadow is
  ``NOT_FOUND`` here, for every op, and a directory group never lists a shadowed user as a
  member (tools such as sudo and pam_succeed_if compare ``gr_mem`` by name, so a listed
  name would count the local user in). Shadowed members are the local user names and the
  names of cached directory users whose uid a local user has (a group lists names only).
- A group never fetched itself but named in a cached user's view is answered, when idmd
  cannot be asked, from those views (``Cache.group_stub``): its name and gid, and the cached
  users naming it as members. Online it is fetched like any missing group; the stub never
  stands in for a fetch, and a group's own cached entry always wins over it.
- Cache calls are serialised by one lock; the slow half (Argon2id) runs in worker threads
  outside it, bounded by a ``CapacityLimiter``.
- Passwords are checked for directory accounts only: a local name never starts a
  conversation (its password is pam_unix's; hermit holds no local hash).
- Offline checks of one account run one at a time and only outside its failure delay
  (``offline_failures``); a delayed check is ``LOCKED`` without being run.
- An offline hash is kept with the ``password_version`` of the view it was made with; only a
  view saying another version (the cache compares) or a deletion drops it. A password idmd
  refuses only makes the resolver fetch the account's view again, so a password changed
  upstream is learnt at once while a wrong guess by anyone changes nothing (issue 9, finding
  7). Against an idmd whose views have no ``password_version`` the refusal drops the hash,
  as before versions existed.

Cancellation: lookups may be cancelled; a cache write, once started in a thread, finishes.
"""

from __future__ import annotations

import enum
import logging
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import trio

from hermit_common.clock import Clock
from unixd.resolver import records
from unixd.resolver.authlog import AuthLog
from unixd.resolver.cache import Cache, CachedEntry
from unixd.resolver.errors import (
    AccountOutsideValidity,
    CredentialLocked,
    CredentialsRefused,
    EntryGone,
    GoOffline,
    ProviderError,
    SecondFactorRequired,
)
from unixd.resolver.local import LocalIdentities
from unixd.resolver.offline_failures import OfflineFailures
from unixd.resolver.pam import (
    Conversation,
    OfflineMfa,
    Outcome,
    Reply,
    VerifyOffline,
    VerifyOnline,
)
from unixd.resolver.provider import JSON, IdmProvider
from unixd.resolver.state import OnlineState
from unixd.resolver.tasklink import TaskLink

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# Past this share of its life a fresh entry is refreshed in the background (module rules).
REFRESH_AT_FRACTION = 0.75
# The background refresh waits a random delay up to this share of cache_timeout, capped.
REFRESH_JITTER_FRACTION = 0.1
MAX_REFRESH_JITTER_SECONDS = 5.0
# Argon2id checks at once: each needs idmd's Argon2 memory (19 MiB) while it runs, so two
# bound unixd's peak on a small host; logins beyond that queue for a few tens of ms.
PASSWORD_CHECKS_AT_ONCE = 2

_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Missing(enum.Enum):
    NOT_FOUND = "notfound"
    UNAVAIL = "unavail"


NOT_FOUND = Missing.NOT_FOUND
UNAVAIL = Missing.UNAVAIL


@dataclass(frozen=True)
class Found:
    entry: Mapping[str, object]


Lookup = Found | Missing


class _Kind(enum.Enum):
    USER = "user"
    GROUP = "group"


def _has_identity(entry: Mapping[str, object]) -> bool:
    """Whether a listed view has what the cache keys it by (uuid, name, spn, gidnumber)."""
    gidnumber = entry.get("gidnumber")
    return (
        all(isinstance(entry.get(key), str) and entry.get(key) for key in ("uuid", "name", "spn"))
        and isinstance(gidnumber, int) and not isinstance(gidnumber, bool)
    )


def _stub_column(key: str | int) -> str:
    """The ``group_refs`` column a lookup key names (as ``Resolver._cached`` reads it)."""
    if isinstance(key, int):
        return "gid"
    if _UUID_RE.fullmatch(key):
        return "uuid"
    return "spn" if "@" in key else "name"


def without_members(
    group: Mapping[str, object], hidden: frozenset[str]
) -> Mapping[str, object]:
    """``group`` without the member names in ``hidden`` (itself when none is listed)."""
    members = group.get("members")
    if not isinstance(members, list) or not any(
        member in hidden for member in members if isinstance(member, str)
    ):
        return group
    return {**group, "members": [member for member in members if member not in hidden]}


def shadowed_member_names(cache: Cache, local: LocalIdentities) -> frozenset[str]:
    """The names a directory group must not list: local user names, and the names of
    cached directory users a local uid shadows (a call into ``cache``: hold its lock)."""
    return local.user_names | cache.user_names_with_uids(local.uids)


def _nothing() -> None:
    pass


def fold_key(key: str | int) -> str | int:
    """Names, spns and uuids are case-insensitive in hermit; ids stay as they are."""
    return key.lower() if isinstance(key, str) else key


class Resolver:
    """Answers lookups; ``run`` must be started in a nursery before the first one.

    Resources: uses ``cache`` and ``provider`` (the caller closes them).
    """

    def __init__(
        self,
        cache: Cache,
        provider: IdmProvider,
        shaping: records.Shaping,
        tasks: TaskLink,
        *,
        clock: Clock,
        cache_timeout: float,
        request_timeout: float,
        use_etc_skel: bool = False,
        offline_mfa: OfflineMfa = OfflineMfa.DENY,
        offline_failed_login_attempts: int = 3,
        offline_failed_login_delay: float = 5.0,
        auth_log: AuthLog | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.cache = cache
        self.provider = provider
        self.shaping = shaping
        self.tasks = tasks
        self.clock = clock
        self.cache_timeout = cache_timeout
        self.request_timeout = request_timeout
        self.use_etc_skel = use_etc_skel
        self.offline_mfa = offline_mfa
        self.state = OnlineState()
        self.offline_failures = OfflineFailures(
            clock, attempts=offline_failed_login_attempts, delay=offline_failed_login_delay)
        # Failed checks go to authpriv (dispatch writes them; tests read them here).
        self.auth_log = auth_log or AuthLog()
        # Offline checks under way, by account uuid: one at a time each (module rules).
        self._offline_turns: dict[str, trio.Lock] = {}
        self._rng = rng or random.Random()  # jitter, not a secret
        self._cache_lock = trio.Lock()
        self._hashing = trio.CapacityLimiter(PASSWORD_CHECKS_AT_ONCE)
        # Background refreshes queued or running, by (kind, uuid): one each at most.
        self._refreshing: set[tuple[_Kind, str]] = set()
        # Wall time of the last complete listing of users / groups from idmd.
        self._listed_at: dict[_Kind, float] = {}
        # Home alias paths an account had before a rename, to hand to home_create.
        self.old_aliases: dict[str, set[str]] = {}
        self._nursery: trio.Nursery | None = None
        # Told after the cache changed, and when every published answer must go at once
        # (the NSS memory cache: ``memcache.MemCache.changed`` / ``flush``).
        self.on_change: Callable[[], None] = _nothing
        self.on_flush: Callable[[], None] = _nothing
        # Offline hashes being made after an online login, by account uuid: an offline check
        # of that account waits for its hash instead of finding none.
        self._hashes_pending: dict[str, trio.Event] = {}

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Own the background refreshes; tries idmd once at start. Runs until cancelled."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._first_contact)
            task_status.started()
            await trio.sleep_forever()

    def network_changed(self) -> None:
        """The network may be back (netwatch): the next request tries idmd at once."""
        log.info("network changed: idmd will be tried on the next request")
        self.state.network_changed()

    def deadline(self) -> float:
        """The trio deadline of a request that starts now."""
        return trio.current_time() + self.request_timeout

    # The cache, serialised ---------------------------------------------------------------

    async def db(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        async with self._cache_lock:
            return fn(*args, **kwargs)

    async def db_in_thread(self, fn: Callable[[], T]) -> T:
        async with self._cache_lock:
            return await trio.to_thread.run_sync(fn)

    async def _slow(self, fn: Callable[[], T]) -> T:
        """Run CPU-heavy work touching no file (a hash) in a worker thread."""
        return await trio.to_thread.run_sync(fn, limiter=self._hashing)

    # Talking to idmd ---------------------------------------------------------------------

    def may_try(self) -> bool:
        return self.state.may_try(trio.current_time())

    async def _ask(self, call: Awaitable[T]) -> T:
        """Await a provider call, moving the online state by its outcome."""
        try:
            result = await call
        except GoOffline as exc:
            if self.state.is_online:
                log.warning("going offline: %s", exc.detail)
            self.state.failed(trio.current_time())
            raise
        except (EntryGone, CredentialsRefused, AccountOutsideValidity, SecondFactorRequired,
                CredentialLocked):
            # idmd answered: it is reachable, whatever the answer said.
            self.state.succeeded()
            raise
        if not self.state.is_online:
            log.info("online: idmd answers")
        self.state.succeeded()
        return result

    async def _first_contact(self) -> None:
        try:
            await self.probe()
        except Exception:
            log.exception("first contact with idmd failed")

    async def probe(self) -> bool:
        """Ask idmd whether it answers (unless inside the back-off); whether we are online."""
        if self.may_try():
            try:
                await self._ask(self.provider.ping_at(self.deadline()))
            except ProviderError as exc:
                log.debug("probe: %s", exc.detail)
        return self.state.is_online

    # Lookups ------------------------------------------------------------------------------

    async def _cached(self, kind: _Kind, key: str | int) -> CachedEntry | None:
        cache = self.cache
        if isinstance(key, int):
            finder = cache.user_by_uid if kind is _Kind.USER else cache.group_by_gid
            return await self.db(finder, key)
        if _UUID_RE.fullmatch(key):
            by_uuid = cache.user_by_uuid if kind is _Kind.USER else cache.group_by_uuid
            return await self.db(by_uuid, key)
        if "@" in key:
            by_spn = cache.user_by_spn if kind is _Kind.USER else cache.group_by_spn
            return await self.db(by_spn, key)
        by_name = cache.user_by_name if kind is _Kind.USER else cache.group_by_name
        return await self.db(by_name, key)

    def _matches(self, entry: Mapping[str, object], key: str | int) -> bool:
        if isinstance(key, int):
            return entry.get("gidnumber") == key
        return key in (entry.get("name"), entry.get("spn"), entry.get("uuid"))

    async def _lookup(self, kind: _Kind, key: str | int, deadline: float) -> Lookup:
        cached = await self._cached(kind, key)
        now = self.clock.now()
        if cached is not None and not cached.is_expired(now):
            self._maybe_refresh(kind, cached, now)
            return Found(cached.data)
        is_miss = self.cache.is_user_miss if kind is _Kind.USER else self.cache.is_group_miss
        if cached is None and await self.db(is_miss, key):
            return NOT_FOUND
        if not self.may_try():
            return await self._unasked(kind, key, cached)
        try:
            fresh = await self._fetch(kind, key, cached, deadline)
        except EntryGone:
            # _fetch purged what the answer proved gone; remember the miss for this key.
            put_miss = self.cache.put_user_miss if kind is _Kind.USER else self.cache.put_group_miss
            await self.db(put_miss, key)
            return NOT_FOUND
        except ProviderError as exc:
            if not isinstance(exc, GoOffline):
                log.warning("%s lookup: %s", kind.value, exc.detail)
            return await self._unasked(kind, key, cached)
        return Found(fresh)

    async def _unasked(self, kind: _Kind, key: str | int, cached: CachedEntry | None) -> Lookup:
        """The answer when idmd cannot answer: the cached entry, expired or not; for a group
        never fetched, the stub cached users' views make of it; else ``UNAVAIL``."""
        if cached is not None:
            return Found(cached.data)
        if kind is _Kind.GROUP:
            stub = await self.db(self.cache.group_stub, _stub_column(key), key)
            if stub is not None:
                return Found(stub)
        return UNAVAIL

    async def _fetch(
        self, kind: _Kind, key: str | int, cached: CachedEntry | None, deadline: float
    ) -> JSON:
        """Fetch and store the entry for ``key``; a cached one is asked for by its uuid, so a
        rename is followed rather than mistaken for a deletion."""
        get = self.provider.user_at if kind is _Kind.USER else self.provider.group_at
        if cached is not None:
            uuid = str(cached.data.get("uuid"))
            try:
                fresh = await self._ask(get(uuid, deadline))
            except EntryGone:
                await self._purge(kind, cached.data)
                fresh = await self._ask(get(key, deadline))
            if not self._matches(fresh, key):
                # Renamed or renumbered: the key may belong to another entry now.
                await self._store(kind, fresh, cached.data)
                fresh = await self._ask(get(key, deadline))
        else:
            fresh = await self._ask(get(key, deadline))
        await self._store(kind, fresh, cached.data if cached is not None else None)
        return fresh

    async def _store(
        self, kind: _Kind, fresh: JSON, old: Mapping[str, object] | None
    ) -> None:
        if kind is _Kind.USER:
            if old is not None and old.get("uuid") == fresh.get("uuid"):
                self._note_alias_change(old, fresh)
            await self.db(self.cache.put_user, fresh)
        else:
            await self.db(self.cache.put_group, fresh)
        self.on_change()

    def _note_alias_change(self, old: Mapping[str, object], fresh: Mapping[str, object]) -> None:
        _, old_alias = records.home_paths(old, self.shaping)
        _, new_alias = records.home_paths(fresh, self.shaping)
        if old_alias is not None and old_alias != new_alias:
            self.old_aliases.setdefault(str(fresh.get("uuid")), set()).add(old_alias)

    async def _purge(self, kind: _Kind, entry: Mapping[str, object]) -> None:
        uuid = str(entry.get("uuid"))
        log.info("%s %s is gone from idmd; dropping it from the cache", kind.value, uuid)
        if kind is _Kind.USER:
            await self.db(self.cache.delete_user, uuid)
        else:
            await self.db(self.cache.delete_group, uuid)
        self.on_change()

    def _maybe_refresh(self, kind: _Kind, cached: CachedEntry, now: float) -> None:
        life = cached.expires_at - cached.fetched_at
        if now < cached.fetched_at + REFRESH_AT_FRACTION * life:
            return
        uuid = str(cached.data.get("uuid"))
        if (kind, uuid) in self._refreshing or self._nursery is None or not self.may_try():
            return
        self._refreshing.add((kind, uuid))
        jitter = self._rng.uniform(
            0, min(MAX_REFRESH_JITTER_SECONDS, REFRESH_JITTER_FRACTION * life)
        )
        self._nursery.start_soon(self._refresh, kind, uuid, cached.data, jitter)

    async def _refresh(
        self, kind: _Kind, uuid: str, old: Mapping[str, object], delay: float
    ) -> None:
        try:
            await trio.sleep(delay)
            if not self.may_try():
                return
            get = self.provider.user_at if kind is _Kind.USER else self.provider.group_at
            try:
                fresh = await self._ask(get(uuid, self.deadline()))
            except EntryGone:
                await self._purge(kind, old)
                return
            await self._store(kind, fresh, old)
        except ProviderError as exc:
            log.debug("background refresh of %s %s: %s", kind.value, uuid, exc.detail)
        except Exception:
            # A task's top: a failed refresh leaves the entry to its normal expiry.
            log.exception("background refresh of %s %s failed", kind.value, uuid)
        finally:
            self._refreshing.discard((kind, uuid))

    # Users and groups as NSS sees them --------------------------------------------------

    async def user(self, key: str | int, deadline: float) -> Lookup:
        """The UNIX_USER for a name, spn, uuid or uid, unless a local user shadows it."""
        local = self.tasks.local
        if local.has_user(key):
            return NOT_FOUND
        found = await self._lookup(_Kind.USER, fold_key(key), deadline)
        if isinstance(found, Found) and self.tasks.local.shadows_user(found.entry):
            return NOT_FOUND
        return found

    async def group(self, key: str | int, deadline: float) -> tuple[Lookup, bool]:
        """The UNIX_GROUP for a name, spn, uuid or gid; or a user's private group.

        Returns the lookup and whether it is a user-private group (then the entry is the
        UNIX_USER).
        """
        if self.tasks.local.has_group(key):
            return NOT_FOUND, False
        folded = fold_key(key)
        found = await self._lookup(_Kind.GROUP, folded, deadline)
        if isinstance(found, Found):
            if self.tasks.local.shadows_group(found.entry):
                return NOT_FOUND, False
            hidden = await self._shadowed_member_names()
            return Found(without_members(found.entry, hidden)), False
        user = await self._lookup(_Kind.USER, folded, deadline)
        if isinstance(user, Found):
            # A shadowed account has no private group here either: it is the account's.
            local = self.tasks.local
            shadowed = local.shadows_group(user.entry) or local.shadows_user(user.entry)
            return (NOT_FOUND if shadowed else user), True
        # Either lookup being unavailable makes the answer unavailable.
        return (UNAVAIL if UNAVAIL in (found, user) else NOT_FOUND), False

    async def _listing(
        self, kind: _Kind, deadline: float, build: Callable[[Iterator[Mapping[str, object]]], T]
    ) -> T | None:
        """``build`` over every cached entry of ``kind`` that no local identity shadows, one at
        a time; the listing is refreshed from idmd first when the last one is older than
        ``cache_timeout``. None when offline and nothing is cached."""
        now = self.clock.now()
        listed = self._listed_at.get(kind)
        if (listed is None or now - listed >= self.cache_timeout) and self.may_try():
            await self._fetch_listing(kind, deadline, now)
        if kind not in self._listed_at and not self.state.is_online:
            users, groups = await self.db(self.cache.counts)
            if (users if kind is _Kind.USER else groups) == 0:
                return None
        fold = self.cache.fold_users if kind is _Kind.USER else self.cache.fold_groups
        local = self.tasks.local
        shadowed = local.shadows_user if kind is _Kind.USER else local.shadows_group
        return await self.db(
            fold, lambda entries: build(entry for entry in entries if not shadowed(entry))
        )

    async def _fetch_listing(self, kind: _Kind, deadline: float, now: float) -> None:
        """Replace the cached entries of ``kind`` by idmd's listing (a method of its own, so
        the thousands of parsed entries are freed before the answer is built)."""
        get_all = self.provider.users_at if kind is _Kind.USER else self.provider.groups_at
        replace = self.cache.replace_users if kind is _Kind.USER else self.cache.replace_groups
        try:
            entries = await self._ask(get_all(deadline))
        except ProviderError as exc:
            if not isinstance(exc, GoOffline):
                log.warning("listing %ss: %s", kind.value, exc.detail)
            return
        usable = [entry for entry in entries if _has_identity(entry)]
        if len(usable) < len(entries):
            log.warning("idmd listed %d %ss without a usable identity; left out",
                        len(entries) - len(usable), kind.value)
        del entries
        await self.db_in_thread(lambda: replace(usable))
        self._listed_at[kind] = now
        self.on_change()

    async def users(
        self, deadline: float, build: Callable[[Iterator[Mapping[str, object]]], T]
    ) -> T | None:
        """``build`` over every user NSS may list (see ``_listing``)."""
        return await self._listing(_Kind.USER, deadline, build)

    async def groups(
        self, deadline: float, build: Callable[[Iterator[Mapping[str, object]]], T]
    ) -> T | None:
        """``build`` over every group NSS may list (see ``_listing``), without the members
        local users shadow."""
        hidden = await self._shadowed_member_names()
        return await self._listing(_Kind.GROUP, deadline, lambda entries: build(
            without_members(entry, hidden) for entry in entries))

    async def _shadowed_member_names(self) -> frozenset[str]:
        return await self.db(shadowed_member_names, self.cache, self.tasks.local)

    # Passwords ---------------------------------------------------------------------------

    async def start_conversation(self, name: str, deadline: float) -> Conversation | Missing:
        """A PAM conversation for the directory account ``name``, or why there is none (a
        local name is ``NOT_FOUND``: pam_unix decides)."""
        if self.tasks.local.has_user(name):
            return NOT_FOUND
        found = await self.user(name, deadline)
        if not isinstance(found, Found):
            return found
        gidnumber = found.entry.get("gidnumber")
        return Conversation(str(found.entry.get("uuid")),
                            gidnumber=gidnumber if isinstance(gidnumber, int) else None,
                            mfa=found.entry.get("unix_mfa") is True,
                            offline_mfa=self.offline_mfa)

    async def check(self, action: VerifyOnline | VerifyOffline,
                    conversation: Conversation, deadline: float) -> Outcome:
        """Run the check ``action`` asks for; never raises for what idmd answers."""
        uuid = conversation.name
        if isinstance(action, VerifyOffline):
            await self.offline_hash_stored(uuid)
            async with self._offline_turn(uuid):
                return await self._check_offline(uuid, action.password)
        return await self._check_online(uuid, action.password, action.code, deadline)

    @asynccontextmanager
    async def _offline_turn(self, uuid: str) -> AsyncIterator[None]:
        """Hold ``uuid``'s offline turn: parallel guesses are checked, and counted, in turn."""
        lock = self._offline_turns.setdefault(uuid, trio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and lock.statistics().tasks_waiting == 0:
                self._offline_turns.pop(uuid, None)

    async def _check_offline(self, uuid: str, password: str) -> Outcome:
        if self.offline_failures.waiting(uuid):
            return Outcome.LOCKED  # nothing is checked inside the delay: no oracle
        phc = await self.db(self.cache.password_hash, uuid)
        if phc is None:
            return Outcome.NO_HASH
        ok = await self._slow(lambda: self.cache.check_password_hash(phc, password))
        if not ok:
            self.offline_failures.failed(uuid)
            return Outcome.REFUSED
        self.offline_failures.succeeded(uuid)
        return Outcome.ACCEPTED

    async def _check_online(
        self, uuid: str, password: str, code: str | None, deadline: float
    ) -> Outcome:
        try:
            user = await self._ask(self.provider.unix_auth_at(uuid, password, deadline, code))
        except GoOffline:
            return Outcome.UNREACHABLE
        except CredentialLocked:
            # idmd checked nothing; the cache must not answer instead (the lockout would
            # become an offline guess), nor forget its hash (nothing was learnt).
            return Outcome.LOCKED
        except SecondFactorRequired:
            # The account gained a unix TOTP since its view was cached: fetch it again, so
            # the next login asks for the code at once; this one asks now.
            await self._refetch_user(uuid, deadline)
            return Outcome.MFA_REQUIRED
        except CredentialsRefused:
            # A wrong guess (by anyone) or a password changed upstream: the view says which.
            # Storing it drops the offline hash only if its password_version changed (the
            # cache's rule), after any hash still being made from an earlier login is stored.
            await self.offline_hash_stored(uuid)
            fresh = await self._refetch_user(uuid, deadline)
            if fresh is not None and "password_version" not in fresh:
                # An idmd older than password versions cannot say: the old rule.
                await self.db(self.cache.forget_password, uuid)
            return Outcome.REFUSED
        except AccountOutsideValidity:
            return Outcome.EXPIRED
        except ProviderError as exc:
            log.warning("password check: %s", exc.detail)
            return Outcome.ERROR
        await self.db(self.cache.put_user, user)
        self.on_change()
        self.offline_failures.succeeded(uuid)
        version = user.get("password_version")
        # The offline hash is another Argon2id run (~60 ms); the login need not wait for it.
        # Whatever hash was cached goes now, so an older password can never be let in offline
        # in the moment before the new hash is stored.
        await self.db(self.cache.forget_password, uuid)
        done = trio.Event()
        self._hashes_pending[uuid] = done
        if self._nursery is not None:
            self._nursery.start_soon(self._store_offline_hash, uuid, password,
                                     version if isinstance(version, str) else None, done)
        else:
            await self._store_offline_hash(
                uuid, password, version if isinstance(version, str) else None, done)
        return Outcome.ACCEPTED

    async def _refetch_user(self, uuid: str, deadline: float) -> JSON | None:
        """Fetch and store ``uuid``'s view again; the view, or None if idmd did not give it."""
        cached = await self.db(self.cache.user_by_uuid, uuid)
        try:
            fresh = await self._ask(self.provider.user_at(uuid, deadline))
        except EntryGone:
            if cached is not None:
                await self._purge(_Kind.USER, cached.data)
            return None
        except ProviderError as exc:
            log.debug("refetching user %s: %s", uuid, exc.detail)
            return None
        await self._store(_Kind.USER, fresh, cached.data if cached is not None else None)
        return fresh

    async def _store_offline_hash(
        self, uuid: str, password: str, version: str | None, done: trio.Event
    ) -> None:
        try:
            phc = await self._slow(lambda: self.cache.hash_password(password))
            await self.db(self.cache.put_password_hash, uuid, phc, version)
        finally:
            done.set()
            if self._hashes_pending.get(uuid) is done:
                del self._hashes_pending[uuid]

    async def offline_hash_stored(self, uuid: str) -> None:
        """Wait until an offline hash being made for ``uuid`` after a login is stored."""
        pending = self._hashes_pending.get(uuid)
        if pending is not None:
            await pending.wait()

    async def converse(self, conversation: Conversation, answer: str, deadline: float) -> Reply:
        """Feed ``answer`` and run checks until the conversation has a prompt to show."""
        action = conversation.receive(answer, online=self.may_try())
        while not isinstance(action, Reply):
            action = conversation.outcome(await self.check(action, conversation, deadline))
        return action

    # The whole cache ---------------------------------------------------------------------

    async def invalidate(self) -> None:
        """Every entry is refreshed on its next use; idmd is tried at once even if offline."""
        await self.db(self.cache.invalidate)
        self.on_flush()
        self._listed_at.clear()
        self.state.network_changed()

    async def clear(self) -> None:
        # A hash still being made from an earlier login must not come back after the clear.
        for pending in list(self._hashes_pending.values()):
            await pending.wait()
        await self.db(self.cache.clear)
        self.on_flush()
        self._listed_at.clear()
        self.old_aliases.clear()
        self.state.network_changed()
