"""Tests of unixd.resolver.netwatch against a private dbus-daemon started by the test.

Each daemon listens on a socket in a temporary directory with a config written here, and is
stopped by its own pid. Signals are emitted by a jeepney client that owns (or does not own)
NetworkManager's and logind's well-known names on that bus.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import trio
from jeepney import DBusAddress, MatchRule, Message, message_bus, new_method_call, new_signal
from jeepney.io.trio import DBusRouter, open_dbus_router
from jeepney.low_level import HeaderFields
from jeepney.wrappers import unwrap_msg

from tests.unixd.private_bus import WAIT_SECONDS, PrivateBus
from unixd.resolver.netwatch import (
    BUS_RULES,
    LOGIND_MANAGER,
    LOGIND_NAME,
    NM_INTERFACE,
    NM_NAME,
    NM_STATE,
    is_wake_signal,
    watch_network,
)


@pytest.fixture
def private_bus(tmp_path: Path) -> Iterator[PrivateBus]:
    if shutil.which("dbus-daemon") is None:
        pytest.skip("dbus-daemon is not installed (Debian package dbus-daemon)")
    bus = PrivateBus(tmp_path)
    try:
        yield bus
    finally:
        bus.stop()


@pytest.fixture
async def emitter(private_bus: PrivateBus) -> AsyncIterator[DBusRouter]:
    async with open_dbus_router(private_bus.address) as router:
        yield router


class Wakeups:
    def __init__(self) -> None:
        self.count = 0
        self._changed = trio.Event()

    def __call__(self) -> None:
        self.count += 1
        self._changed.set()
        self._changed = trio.Event()

    async def wait_for(self, count: int) -> None:
        with trio.fail_after(WAIT_SECONDS):
            while self.count < count:
                await self._changed.wait()


async def own(router: DBusRouter, name: str) -> None:
    # The reply also proves the bus has routed every message this connection sent before.
    unwrap_msg(await router.send_and_get_reply(message_bus.RequestName(name)))


async def emit_nm_state(router: DBusRouter, state: int) -> None:
    await router.send(new_signal(NM_STATE, "StateChanged", "u", (state,)))


async def emit_sleep(router: DBusRouter, start: bool) -> None:
    await router.send(new_signal(LOGIND_MANAGER, "PrepareForSleep", "b", (start,)))


@pytest.mark.parametrize(
    ("message", "wakes"),
    [
        (new_signal(NM_STATE, "StateChanged", "u", (70,)), True),  # CONNECTED_GLOBAL
        (new_signal(NM_STATE, "StateChanged", "u", (60,)), True),  # CONNECTED_SITE
        (new_signal(NM_STATE, "StateChanged", "u", (50,)), True),  # CONNECTED_LOCAL
        (new_signal(NM_STATE, "StateChanged", "u", (40,)), False),  # CONNECTING
        (new_signal(NM_STATE, "StateChanged", "u", (20,)), False),  # DISCONNECTED
        (new_signal(LOGIND_MANAGER, "PrepareForSleep", "b", (False,)), True),  # resumed
        (new_signal(LOGIND_MANAGER, "PrepareForSleep", "b", (True,)), False),  # suspending
        (new_signal(LOGIND_MANAGER, "PrepareForShutdown", "b", (False,)), False),
        (new_signal(DBusAddress("/elsewhere", interface=NM_INTERFACE), "StateChanged", "u",
                    (70,)), False),
        (new_signal(NM_STATE, "StateChanged", "s", ("70",)), False),
        (new_method_call(NM_STATE, "StateChanged", "u", (70,)), False),
    ],
)
def test_is_wake_signal__only_connected_states_and_resume(message: Message, wakes: bool) -> None:
    assert is_wake_signal(message) is wakes


async def test_watch_network__networkmanager_connected_wakes(
    private_bus: PrivateBus, emitter: DBusRouter, nursery: trio.Nursery
) -> None:
    wakeups = Wakeups()
    await nursery.start(lambda task_status: watch_network(
        wakeups, bus_address=private_bus.address, task_status=task_status))
    await own(emitter, NM_NAME)
    await emit_nm_state(emitter, 70)
    await wakeups.wait_for(1)
    await emit_nm_state(emitter, 50)
    await wakeups.wait_for(2)


async def test_watch_network__logind_resume_wakes(
    private_bus: PrivateBus, emitter: DBusRouter, nursery: trio.Nursery
) -> None:
    wakeups = Wakeups()
    await nursery.start(lambda task_status: watch_network(
        wakeups, bus_address=private_bus.address, task_status=task_status))
    await own(emitter, LOGIND_NAME)
    await emit_sleep(emitter, False)
    await wakeups.wait_for(1)


async def test_bus_rules__signals_from_a_non_owner_are_not_delivered(
    private_bus: PrivateBus, emitter: DBusRouter
) -> None:
    # Any local user can broadcast these signals; the bus must deliver them to a connection
    # holding BUS_RULES only from the owner of the well-known name. An observer with exactly
    # those rules (plus a sentinel) sees the emitter's messages in the order they were sent.
    sentinel = DBusAddress("/test", interface="test.Sentinel")
    async with open_dbus_router(private_bus.address) as observer:
        for rule in (*BUS_RULES, MatchRule(type="signal", interface="test.Sentinel")):
            unwrap_msg(await observer.send_and_get_reply(message_bus.AddMatch(rule)))
        async with observer.filter(MatchRule(type="signal"), bufsize=16) as received:
            await emit_nm_state(emitter, 70)
            await emit_sleep(emitter, False)
            await own(emitter, NM_NAME)
            await emit_nm_state(emitter, 60)
            await own(emitter, LOGIND_NAME)
            await emit_sleep(emitter, False)
            await emitter.send(new_signal(sentinel, "Done"))
            seen = []
            with trio.fail_after(WAIT_SECONDS):
                async for message in received:
                    seen.append((message.header.fields[HeaderFields.member], message.body))
                    if seen[-1][0] == "Done":
                        break
    assert seen == [("StateChanged", (60,)), ("PrepareForSleep", (False,)), ("Done", ())]


async def test_watch_network__without_a_bus_logs_once_and_returns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="unixd.resolver.netwatch"):
        async with trio.open_nursery() as nursery:
            with trio.fail_after(WAIT_SECONDS):
                await nursery.start(lambda task_status: watch_network(
                    Wakeups(), bus_address=f"unix:path={tmp_path}/none",
                    task_status=task_status))
    assert len(caplog.records) == 1
    assert "cannot be used" in caplog.messages[0]


async def test_watch_network__bus_going_away_logs_once_and_returns(
    private_bus: PrivateBus, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="unixd.resolver.netwatch"):
        with trio.fail_after(WAIT_SECONDS):
            async with trio.open_nursery() as nursery:
                await nursery.start(lambda task_status: watch_network(
                    Wakeups(), bus_address=private_bus.address, task_status=task_status))
                await trio.to_thread.run_sync(private_bus.stop)
    assert len(caplog.records) == 1
    assert "cannot be used" in caplog.messages[0]
