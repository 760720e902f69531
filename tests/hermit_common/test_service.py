"""hermit_common.service: how SIGTERM stops a daemon, with and without a drain, and the log
line on the daemon's own logger (real signals sent to this process); and
hermit_common.errors.describe, the one line a task logs for a group of failures."""

from __future__ import annotations

import logging
import os
import signal
from functools import partial

import pytest
import trio

from hermit_common.errors import InvalidValue, describe
from hermit_common.service import notify, stop_on_signals

log = logging.getLogger("hermit.test")


async def test_stop_on_signals__without_a_drain_the_first_signal_cancels(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="hermit.test")
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(partial(stop_on_signals, nursery.cancel_scope, log=log))
            os.kill(os.getpid(), signal.SIGTERM)
            await trio.sleep_forever()
    assert nursery.cancel_scope.cancelled_caught
    assert [(r.name, r.getMessage()) for r in caplog.records] == [
        ("hermit.test", "SIGTERM: shutting down")]


async def test_stop_on_signals__with_a_drain_a_second_signal_stops_at_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="hermit.test")
    shutdown = trio.Event()
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(partial(stop_on_signals, nursery.cancel_scope, log=log,
                                        shutdown=shutdown))
            os.kill(os.getpid(), signal.SIGINT)
            await shutdown.wait()
            assert not nursery.cancel_scope.cancel_called  # draining, not stopped
            os.kill(os.getpid(), signal.SIGTERM)
            await trio.sleep_forever()
    assert [r.getMessage() for r in caplog.records] == [
        "SIGINT: shutting down", "SIGTERM again: stopping now"]


def test_notify__outside_systemd_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    notify("READY=1")


def test_notify__a_service_manager_gone_away_is_not_our_failure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: os.PathLike[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A NOTIFY_SOCKET nobody listens on: sd_notify fails (OSError), the daemon goes on.
    caplog.set_level(logging.DEBUG, logger="hermit_common.service")
    monkeypatch.setenv("NOTIFY_SOCKET", os.path.join(tmp_path, "gone"))
    notify("STOPPING=1")
    assert caplog.messages[0].startswith("sd_notify STOPPING=1: ")


def test_describe__every_leaf_of_a_nested_group_on_one_line() -> None:
    group = ExceptionGroup("outer", [
        OSError(13, "Permission denied"),
        ExceptionGroup("inner", [InvalidValue("a bad value"), RuntimeError()]),
    ])
    assert sorted(describe(group).split("; ")) == [
        "InvalidValue: a bad value", "PermissionError: [Errno 13] Permission denied",
        "RuntimeError"]
