"""Waking the resolver when the network comes back: NetworkManager and logind on D-Bus.

This module owns one trio task, ``watch_network``: it subscribes to two signals on the
system bus and calls the resolver's ``callback`` when either says "the network may be back",
so an offline resolver retries idmd at once instead of waiting out its back-off (SSSD does the
same with its netlink and resume hooks). It does not decide whether to go online, nor probe
idmd (the resolver does); a missing D-Bus only means the resolver waits for its back-off.

Signals (D-Bus specification, "Match Rules"; NetworkManager's and logind's D-Bus APIs):
- ``org.freedesktop.NetworkManager.StateChanged(u state)`` on
  ``/org/freedesktop/NetworkManager``: calls back when ``state`` is one of the connected
  states (NM_STATE_CONNECTED_LOCAL 50, _SITE 60, _GLOBAL 70); losing the network wakes no one.
- ``org.freedesktop.login1.Manager.PrepareForSleep(b start)`` on ``/org/freedesktop/login1``:
  calls back on ``false`` (the host has resumed); ``true`` (about to sleep) is ignored.

Rules:
- The match rules sent to the bus name the well-known ``sender``, so the bus delivers these
  signals only from the current owner of ``org.freedesktop.NetworkManager`` /
  ``org.freedesktop.login1``; on the system bus any local user may broadcast a signal, and
  must not be able to make unixd hammer idmd. The local filter only re-checks member, path
  and arguments (a message's sender is the owner's unique name, not the well-known one).
- Without a reachable bus, or when the bus goes away later, log one warning and return; the
  task never takes the resolver down with it.

Library: jeepney, for its native trio transport (``jeepney.io.trio``) over a sans-IO message
core; see docs/dependencies.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import trio
from jeepney import DBusAddress, MatchRule, Message, MessageType, message_bus
from jeepney.io.trio import open_dbus_connection
from jeepney.low_level import HeaderFields
from jeepney.wrappers import DBusErrorResponse

from hermit_common.errors import describe

log = logging.getLogger(__name__)

NM_NAME = "org.freedesktop.NetworkManager"
NM_INTERFACE = "org.freedesktop.NetworkManager"
NM_PATH = "/org/freedesktop/NetworkManager"
# NetworkManager's NMState: 50 CONNECTED_LOCAL, 60 CONNECTED_SITE, 70 CONNECTED_GLOBAL.
NM_CONNECTED_STATES = frozenset({50, 60, 70})
LOGIND_NAME = "org.freedesktop.login1"
LOGIND_INTERFACE = "org.freedesktop.login1.Manager"
LOGIND_PATH = "/org/freedesktop/login1"

SYSTEM_BUS = "SYSTEM"

NM_STATE = DBusAddress(NM_PATH, bus_name=NM_NAME, interface=NM_INTERFACE)
LOGIND_MANAGER = DBusAddress(LOGIND_PATH, bus_name=LOGIND_NAME, interface=LOGIND_INTERFACE)

# What the bus delivers to us: only from the owner of each well-known name (module rules).
BUS_RULES = (
    MatchRule(type="signal", sender=NM_NAME, interface=NM_INTERFACE, member="StateChanged",
              path=NM_PATH),
    MatchRule(type="signal", sender=LOGIND_NAME, interface=LOGIND_INTERFACE,
              member="PrepareForSleep", path=LOGIND_PATH),
)


def is_wake_signal(message: Message) -> bool:
    """Whether ``message`` says the network may be usable again (see the module doc)."""
    header = message.header
    if header.message_type is not MessageType.signal:
        return False
    fields = header.fields
    where = (
        fields.get(HeaderFields.path),
        fields.get(HeaderFields.interface),
        fields.get(HeaderFields.member),
    )
    body = message.body
    if where == (NM_PATH, NM_INTERFACE, "StateChanged"):
        return len(body) == 1 and body[0] in NM_CONNECTED_STATES
    if where == (LOGIND_PATH, LOGIND_INTERFACE, "PrepareForSleep"):
        return len(body) == 1 and body[0] is False
    return False


async def watch_network(
    callback: Callable[[], None],
    *,
    bus_address: str | None = None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Call ``callback()`` each time the network may be back, until cancelled.

    ``bus_address`` is a D-Bus address (``unix:path=...``); ``None`` means the system bus
    (``$DBUS_SYSTEM_BUS_ADDRESS`` or ``/var/run/dbus/system_bus_socket``). ``started()`` is
    reported once the match rules are in place (or once the bus proved unreachable), so a
    signal sent after ``nursery.start`` returns is never missed.

    Cancellation: the D-Bus connection is closed on the way out.
    Errors: none; a bus that cannot be reached or goes away is logged once, then it returns.
    """
    started = False

    def report_started() -> None:
        nonlocal started
        if not started:
            started = True
            task_status.started()

    try:
        connection = await open_dbus_connection(bus_address or SYSTEM_BUS)
        async with connection:
            for rule in BUS_RULES:
                await connection.send(message_bus.AddMatch(rule))
            # One task reads the connection in order: the AddMatch replies first (a wake
            # signal between them is honoured), then signals until the bus hangs up.
            unanswered = len(BUS_RULES)
            while True:
                message = await connection.receive()
                kind = message.header.message_type
                if kind is MessageType.error:
                    raise DBusErrorResponse(message)
                if kind is MessageType.method_return:
                    unanswered -= 1
                    if unanswered == 0:
                        report_started()
                elif is_wake_signal(message):
                    callback()
    except* Exception as group:
        # A task's top (STYLE.md): D-Bus trouble must never stop unixd.
        log.warning(
            "the D-Bus system bus cannot be used (%s); network changes will not wake the "
            "resolver, which keeps its back-off",
            describe(group),
        )
    report_started()
