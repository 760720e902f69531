"""One function per client-socket op: a parsed request in, a response message out.

This module maps docs/protocol.md's ops onto the resolver and shapes the answers; it owns the
per-op rules (who may clear the cache, what a local name gets, what an expired account may
do) and nothing else: reading and writing frames is ``unixd/server.py``'s, lookups and
caching are ``resolver.py``'s, NSS record shapes are ``records.py``'s.

Rules:
- ``UNAVAIL`` from the resolver becomes ``{"status": "unavail"}``, never ``notfound``.
- Until hermit-unixd-tasks has sent the local identities (``TaskLink.received``), every op
  whose answer depends on which names and ids are local is ``unavail``: users, groups,
  initgroups, SSH keys and PAM (NSS then returns UNAVAIL, the keys helper prints nothing,
  PAM answers PAM_AUTHINFO_UNAVAIL). Answering from the cache meanwhile would hand a local
  user's name or uid a directory account's keys, groups and login. Only ``status``, the
  cache commands and steps of a conversation begun after they arrived are answered.
- For PAM, a name hermit cannot vouch for right now (not found, or offline and never cached)
  is ``unknown``: the PAM module answers PAM_USER_UNKNOWN and the stack moves on.
- A local user gets no SSH keys from the directory (an empty list), ``unknown`` from
  ``pam_auth_init`` (with the reason that it is local, before any prompt: hermit never checks
  a local password) and from ``pam_account``, and ``notfound`` from ``pam_session_open``
  (pam_unix and pam_mkhomedir handle local accounts).
- A password may be checked for a peer of uid 0, or for the account whose gidnumber is the
  peer's uid, and for no one else (unix_chkpwd's rule; issue 9, finding 5): another peer's
  ``pam_auth_init`` is ``denied`` before any prompt or check.
- Every failed or refused check is logged to authpriv (``r.auth_log``), never a secret.
- An account outside its validity gets no SSH keys and ``denied`` from ``pam_account``.
- Ops that act beyond the asker are for peer uid 0 only (``ROOT_ONLY``): ``pam_session_open``
  has the root tasks daemon create a home and its alias for the account named, and
  ``cache_invalidate`` and ``cache_clear`` act on every entry (and every invalidation sends
  the host's next lookups to idmd). PAM opens sessions as root (sshd, login, su); the cache
  commands are an administrator's.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hermit_common.errors import HermitError
from unixd.proto import messages as m
from unixd.proto.tasks import HomeCreate
from unixd.resolver import records
from unixd.resolver.pam import OTHER_ACCOUNT, SessionTable, Step
from unixd.resolver.resolver import UNAVAIL, Found, Missing, Resolver
from unixd.resolver.tasklink import TaskFailed, TasksUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class Peer:
    """One client connection: who it is and its PAM conversations."""

    uid: int
    sessions: SessionTable = field(default_factory=SessionTable)


def _shaped(
    shape: Callable[[Mapping[str, object], records.Shaping], T],
    entries: Iterable[Mapping[str, object]],
    shaping: records.Shaping,
) -> Iterator[T]:
    """Records of every entry that makes one, one at a time; an entry idmd sent malformed is
    left out of an enumeration (and logged) rather than failing it for everyone."""
    for entry in entries:
        try:
            yield shape(entry, shaping)
        except (ValueError, HermitError) as exc:
            log.warning("left %s out of an enumeration: %s", entry.get("uuid"), exc)


def _missing(missing: Missing) -> m.Response:
    return m.UnavailResponse() if missing is UNAVAIL else m.NotFoundResponse()


async def user_by_name(r: Resolver, req: m.UserByName, peer: Peer) -> m.Response:
    found = await r.user(req.name, r.deadline())
    if not isinstance(found, Found):
        return _missing(found)
    return m.UserResponse(records.passwd_of(found.entry, r.shaping))


async def user_by_uid(r: Resolver, req: m.UserByUid, peer: Peer) -> m.Response:
    found = await r.user(req.uid, r.deadline())
    if not isinstance(found, Found):
        return _missing(found)
    return m.UserResponse(records.passwd_of(found.entry, r.shaping))


async def user_list(r: Resolver, req: m.UserList, peer: Peer) -> m.Response:
    users = await r.users(r.deadline(), lambda entries: m.EncodedListResponse.of(
        "users", _shaped(records.passwd_of, entries, r.shaping)))
    return m.UnavailResponse() if users is None else users


async def _group(r: Resolver, key: str | int) -> m.Response:
    found, private = await r.group(key, r.deadline())
    if not isinstance(found, Found):
        return _missing(found)
    if private:
        return m.GroupResponse(records.private_group_of(found.entry, r.shaping))
    return m.GroupResponse(records.group_of(found.entry, r.shaping))


async def group_by_name(r: Resolver, req: m.GroupByName, peer: Peer) -> m.Response:
    return await _group(r, req.name)


async def group_by_gid(r: Resolver, req: m.GroupByGid, peer: Peer) -> m.Response:
    return await _group(r, req.gid)


async def group_list(r: Resolver, req: m.GroupList, peer: Peer) -> m.Response:
    groups = await r.groups(r.deadline(), lambda entries: m.EncodedListResponse.of(
        "groups", _shaped(records.group_of, entries, r.shaping)))
    return m.UnavailResponse() if groups is None else groups


async def initgroups(r: Resolver, req: m.Initgroups, peer: Peer) -> m.Response:
    found = await r.user(req.name, r.deadline())
    if not isinstance(found, Found):
        return _missing(found)
    gids = records.supplementary_gids(found.entry, r.tasks.local.gids)
    return m.InitgroupsResponse(gids)


async def ssh_keys(r: Resolver, req: m.SshKeys, peer: Peer) -> m.Response:
    if r.tasks.local.has_user(req.name):
        return m.SshKeysResponse(())
    found = await r.user(req.name, r.deadline())
    if not isinstance(found, Found):
        return _missing(found)
    if not records.is_valid_at(found.entry, r.clock.now()):
        return m.SshKeysResponse(())
    return m.SshKeysResponse(records.ssh_keys_of(found.entry))


async def pam_auth_init(r: Resolver, req: m.PamAuthInit, peer: Peer) -> m.Response:
    # No conversation: a throw-away session id keeps the response's shape.
    if r.tasks.local.has_user(req.name):
        return m.PamAuthInitResponse(session=SessionTable.new_id(),
                                     next=m.UnknownPrompt(reason=m.LOCAL_ACCOUNT_REASON))
    conversation = await r.start_conversation(req.name, r.deadline())
    if isinstance(conversation, Missing):
        return m.PamAuthInitResponse(session=SessionTable.new_id(), next=m.UnknownPrompt())
    if peer.uid != 0 and peer.uid != conversation.gidnumber:
        r.auth_log.failure(user=req.name, uuid=conversation.name, service=req.service,
                           peer_uid=peer.uid, check="none", reason=OTHER_ACCOUNT)
        return m.PamAuthInitResponse(session=SessionTable.new_id(),
                                     next=m.DeniedPrompt(reason=OTHER_ACCOUNT))
    conversation.login_name, conversation.service = req.name, req.service
    session = peer.sessions.add(conversation)
    return m.PamAuthInitResponse(session=session, next=conversation.start().prompt)


async def pam_auth_step(r: Resolver, req: m.PamAuthStep, peer: Peer) -> m.Response:
    conversation = peer.sessions.get(req.session)
    if conversation is None:
        return m.PamAuthStepResponse(
            m.DeniedPrompt(reason="no such login conversation on this connection")
        )
    reply = await r.converse(conversation, req.response, r.deadline())
    if conversation.done:
        peer.sessions.remove(req.session)
        if isinstance(reply.prompt, m.DeniedPrompt):
            last = conversation.last_check
            check = ("online" if last is Step.VERIFY_ONLINE
                     else "offline" if last is Step.VERIFY_OFFLINE else "none")
            r.auth_log.failure(user=conversation.login_name, uuid=conversation.name,
                               service=conversation.service, peer_uid=peer.uid, check=check,
                               reason=reply.prompt.reason)
    return m.PamAuthStepResponse(reply.prompt)


async def pam_account(r: Resolver, req: m.PamAccount, peer: Peer) -> m.Response:
    if r.tasks.local.has_user(req.name):
        return m.PamAccountResponse(result="unknown")
    found = await r.user(req.name, r.deadline())
    if not isinstance(found, Found):
        return m.PamAccountResponse(result="unknown")
    if not records.is_valid_at(found.entry, r.clock.now()):
        return m.PamAccountResponse(
            result="denied", reason="this account is expired or not yet valid"
        )
    if not records.in_login_groups(found.entry, r.shaping.allowed_login_groups):
        return m.PamAccountResponse(
            result="denied", reason="this account is not in a group allowed to log in here"
        )
    return m.PamAccountResponse(result="allowed")


async def pam_session_open(r: Resolver, req: m.PamSessionOpen, peer: Peer) -> m.Response:
    if r.tasks.local.has_user(req.name):
        return m.NotFoundResponse()
    found = await r.user(req.name, r.deadline())
    if not isinstance(found, Found):
        return _missing(found)
    user = found.entry
    uuid = str(user.get("uuid"))
    home, alias = records.home_paths(user, r.shaping)
    passwd = records.passwd_of(user, r.shaping)
    old = sorted(r.old_aliases.get(uuid, set()) - {alias})
    request = HomeCreate(
        name=passwd.name, uid=passwd.uid, gid=passwd.gid, home=home, alias=alias,
        old_aliases=tuple(old), use_etc_skel=r.use_etc_skel,
    )
    try:
        await r.tasks.request_at(request, r.deadline())
    except (TasksUnavailable, TaskFailed) as exc:
        log.warning("home directory of %s: %s", passwd.name, exc.detail)
        return m.ErrorResponse(error="internal_error", detail=exc.detail)
    r.old_aliases.pop(uuid, None)
    return m.DoneResponse()


async def status(r: Resolver, req: m.Status, peer: Peer) -> m.Response:
    online = await r.probe()
    users, groups = await r.db(r.cache.counts)
    return m.StatusResponse(
        server="online" if online else "offline", cached_users=users, cached_groups=groups,
        local_identities="received" if r.tasks.received else "waiting",
    )


async def cache_invalidate(r: Resolver, req: m.CacheInvalidate, peer: Peer) -> m.Response:
    await r.invalidate()
    log.info("cache invalidated (peer uid %d)", peer.uid)
    return m.DoneResponse()


async def cache_clear(r: Resolver, req: m.CacheClear, peer: Peer) -> m.Response:
    await r.clear()
    log.info("cache cleared")
    return m.DoneResponse()


Handler = Callable[[Resolver, Any, Peer], Awaitable[m.Response]]

# Every op of docs/protocol.md, in its table's order.
HANDLERS: dict[type[m.Request], Handler] = {
    m.UserByName: user_by_name,
    m.UserByUid: user_by_uid,
    m.UserList: user_list,
    m.GroupByName: group_by_name,
    m.GroupByGid: group_by_gid,
    m.GroupList: group_list,
    m.Initgroups: initgroups,
    m.SshKeys: ssh_keys,
    m.PamAuthInit: pam_auth_init,
    m.PamAuthStep: pam_auth_step,
    m.PamAccount: pam_account,
    m.PamSessionOpen: pam_session_open,
    m.Status: status,
    m.CacheInvalidate: cache_invalidate,
    m.CacheClear: cache_clear,
}


# Ops only a peer with uid 0 may ask (module rules), and what the others are told.
ROOT_ONLY: dict[type[m.Request], str] = {
    m.PamSessionOpen: "only root may open a session (it creates home directories)",
    m.CacheInvalidate: "only root may invalidate the cache",
    m.CacheClear: "only root may clear the cache",
}


# Ops answered before the local identities arrived (module rules); every other op is
# ``unavail`` until then, so an op added later is safe unless it is listed here.
WITHOUT_LOCAL_IDENTITIES: frozenset[type[m.Request]] = frozenset({
    m.Status, m.CacheInvalidate, m.CacheClear,
    # A conversation exists only if pam_auth_init was answered, so after they arrived.
    m.PamAuthStep,
})


async def answer(r: Resolver, request: m.Request, peer: Peer) -> m.Response:
    """The response to ``request``. Errors: whatever a bug raises (the shell logs it)."""
    refusal = ROOT_ONLY.get(type(request))
    if refusal is not None and peer.uid != 0:
        log.warning("refused %s from peer uid %d", request.OP, peer.uid)
        return m.ErrorResponse(error="permission_denied", detail=refusal)
    if not r.tasks.received and type(request) not in WITHOUT_LOCAL_IDENTITIES:
        return m.UnavailResponse()
    return await HANDLERS[type(request)](r, request, peer)

