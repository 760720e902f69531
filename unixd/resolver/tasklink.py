"""unixd's side of the task socket: what hermit-unixd-tasks told us, and what we ask of it.

The trio shell (``unixd/server.py``) accepts a root peer on the task socket, reads its frames
and hands each decoded object to ``TaskLink.on_frame``, which answers requests from the tasks
daemon and matches responses to ours. This module does not read or write sockets; it is given
a ``send`` coroutine for the connection in use. The messages and their checks are
``unixd.proto.tasks``, shared with the tasks daemon.

Rules (docs/protocol.md "Task socket"):
- One tasks daemon at a time: a new connection replaces the old one, whose requests in flight
  fail. What it last sent as ``local_identities`` stays in force after it leaves (the files
  did not change because the daemon restarted).
- ``received`` is false until the first ``local_identities`` was accepted, and never false
  again in this process: until then nobody knows which names and ids are local, and the
  client ops that depend on it answer ``unavail`` (``unixd.resolver.dispatch``).
- Frames are requests ``{"v": 1, "id": N, "op": ...}`` or responses ``{"re": N, "status":
  ...}``. Our ids count up from 1 per link; a response naming no request of ours (or no
  request at all) is ignored (it may answer one that already timed out).
- ``home_create`` waits for its answer until the caller's deadline (trio time).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import trio

from hermit_common.errors import HermitError
from unixd.proto import tasks
from unixd.proto.errors import InvalidField
from unixd.resolver.local import LocalIdentities, local_identities_of

log = logging.getLogger(__name__)

Send = Callable[[Mapping[str, object]], Awaitable[None]]


class TasksUnavailable(HermitError):
    """No hermit-unixd-tasks is connected, it went away, or it did not answer in time."""

    code = "internal_error"


class TaskFailed(HermitError):
    """hermit-unixd-tasks answered a request with an error."""

    code = "internal_error"


@dataclass
class _Pending:
    done: trio.Event
    reply: tasks.Response | None = None


class TaskLink:
    """The task socket's state; ``local`` given here counts as received (tests)."""

    def __init__(self, local: LocalIdentities | None = None) -> None:
        self.local = local if local is not None else LocalIdentities()
        # Invariant: True once ``local`` holds what a tasks daemon sent (or the caller gave).
        self.received = local is not None
        # Invariant: ``_send`` belongs to the connection ``_generation`` counts; requests in
        # ``_pending`` were sent on it.
        self._send: Send | None = None
        self._generation = 0
        self._ids = itertools.count(1)
        self._pending: dict[int, _Pending] = {}

    @property
    def connected(self) -> bool:
        return self._send is not None

    def attach(self, send: Send) -> int:
        """A new tasks daemon connected; returns the token ``detach`` needs."""
        self._fail_pending()
        self._generation += 1
        self._send = send
        return self._generation

    def detach(self, token: int) -> None:
        if token == self._generation:
            self._send = None
            self._fail_pending()

    def _fail_pending(self) -> None:
        for pending in self._pending.values():
            pending.done.set()
        self._pending.clear()

    async def on_frame(self, obj: Mapping[str, object]) -> Mapping[str, object] | None:
        """Handle one frame from the tasks daemon; the response to send back, if any.

        Errors: ``PeerProtocolError`` subclasses for a frame that breaks the protocol (the
        shell answers with an error frame and closes the connection).
        """
        if tasks.is_response(obj):
            try:
                reply = tasks.Response.from_json(obj)
            except InvalidField:
                return None  # names no request: none of ours
            if pending := self._pending.pop(reply.re, None):
                pending.reply = reply
                pending.done.set()
            return None
        request_id, update = tasks.parse_request(obj, tasks.LocalIdentitiesUpdate)
        self.local = local_identities_of(update)
        if not self.received:
            log.info("local identities received: lookups, SSH keys and PAM are answered")
        self.received = True
        log.info(
            "local identities: %d users, %d groups", len(self.local.user_names),
            len(self.local.group_names),
        )
        return tasks.Response(request_id, ok=True).to_json()

    async def request_at(self, op: tasks.HomeCreate, deadline: float) -> None:
        """Send ``op`` to the tasks daemon and wait for ``ok`` until ``deadline``.

        Errors: ``TasksUnavailable`` (none connected, it left, or too slow), ``TaskFailed``.
        """
        send = self._send
        if send is None:
            raise TasksUnavailable("no hermit-unixd-tasks is connected")
        request_id = next(self._ids)
        pending = _Pending(done=trio.Event())
        self._pending[request_id] = pending
        try:
            with trio.move_on_at(deadline):
                await send(tasks.Request(request_id, op).to_json())
                await pending.done.wait()
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise TasksUnavailable("hermit-unixd-tasks went away") from exc
        finally:
            self._pending.pop(request_id, None)
        reply = pending.reply
        if reply is None:
            raise TasksUnavailable(f"hermit-unixd-tasks did not answer {op.OP} in time")
        if not reply.ok:
            raise TaskFailed(f"{op.OP} failed: {reply.detail or 'no detail'}")
