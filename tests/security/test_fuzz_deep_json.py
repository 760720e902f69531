"""A frame of JSON nested past Python's recursion limit, sent to unixd's 0666 client socket.

Found by writing the unixd fuzz targets' promise (tests/fuzz: a payload becomes a request or a
``PeerProtocolError``, nothing else): ``json.loads`` raises ``RecursionError`` for about a
thousand nested brackets, which ``decode_payload`` did not turn into a protocol error. So any
local user's 4 KiB frame escaped the handler's answer: no error frame, the connection dropped,
and a full traceback in unixd's log for every such connection (the same for idmd's admin
socket, which reads frames with the same function). Now it is a ``protocol_error`` like any
other payload that is not a JSON object.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import pytest
import trio

from tests.unixd.resolver_env import Env
from tests.unixd.socket_client import (
    NOBODY_CLIENT,
    call,
    connect,
    nobody_python,
    run_as_nobody,
)

# Far past CPython's default recursion limit (1000), far below the 64 KiB request limit.
DEPTH = 20_000


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="needs root and setpriv to run a client as nobody")
@pytest.mark.parametrize("nested", ["[" * DEPTH,
                                    '{"v":1,"op":"user_by_name","name":' + "[" * DEPTH + "}"])
async def test_fuzz_deep_json__a_local_user_gets_an_error_frame_and_unixd_serves_on(
    served: tuple[Env, Path, Path], caplog: pytest.LogCaptureFixture, nested: str
) -> None:
    env, client_path, _ = served
    env.cache.put_user(env.fake.user_named("alice"))
    before = env.cache.counts()
    with caplog.at_level(logging.DEBUG):
        done = await trio.to_thread.run_sync(
            run_as_nobody, nobody_python(), "-c", NOBODY_CLIENT, str(client_path), nested
        )
    assert done.stdout.strip() != "EOF", "dropped without an answer"
    reply = json.loads(done.stdout)
    assert reply["status"] == "error" and reply["error"] == "protocol_error"
    assert not [r for r in caplog.records if r.exc_info], "a traceback in unixd's log"
    assert env.cache.counts() == before
    # Everyone else is still served.
    status = await call(await connect(client_path), {"v": 1, "op": "status"})
    assert status is not None and status["status"] == "ok"
    alice = await call(await connect(client_path),
                       {"v": 1, "op": "user_by_name", "name": "alice"})
    assert alice is not None and alice["status"] == "ok"
