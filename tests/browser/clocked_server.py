"""hermit-idmd's app served over TLS from this process, on a clock the test moves.

For the browser tests about time (the privilege window, whose shortest policy is 60 s): a test
may not wait for the wall clock. The server is built from the same parts as ``hermit-idmd
server`` (``idmd.https.app.build_app``, ``idmd.certs.make_tls_context``,
``idmd.serve.hypercorn_config``, ``idmd.tls_worker.serve_tls``), only with a ``FakeClock``,
and runs in a thread of its own (its own trio loop, opening and closing its database there).
It uses the TLS files of the ``web`` server, so the module's Chromium trusts it too.
"""

from __future__ import annotations

import queue
import shutil
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import httpx
import trio
from hypercorn.typing import Framework

from contrib.harness.idmd_process import write_config
from hermit_common.clock import FakeClock
from idmd.certs import make_tls_context
from idmd.config import load_config
from idmd.https.app import build_app
from idmd.idm import Idm
from idmd.serve import bind_https_socket, hypercorn_config
from idmd.tls_worker import serve_tls
from tests.browser.web_server import free_port

READY_TIMEOUT_S = 30.0


@dataclass
class ClockedServer:
    url: str
    origin: str
    ca: Path
    clock: FakeClock
    idm_admin_password: str = field(repr=False)
    admin_password: str = field(repr=False)

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, verify=ssl.create_default_context(cafile=self.ca),
                            headers=headers, timeout=30)

    def login(self, name: str, password: str) -> str:
        with self.client() as client:
            begin = client.post("/v1/auth/begin", json={"name": name})
            step = client.post(
                "/v1/auth/step", json={"method": "password", "password": password},
                headers={"Hermit-Auth-Session": begin.headers["Hermit-Auth-Session"]},
            )
        reply = step.json()
        if reply.get("state") != "success":
            raise RuntimeError(f"login of {name} was {reply.get('state')}")
        return str(reply["token"])


@contextmanager
def clocked_idmd(workdir: Path, tls_from: Path) -> Iterator[ClockedServer]:
    """A server in ``workdir`` with the certificate and key of ``tls_from`` (a ``tls/``)."""
    port = free_port()
    origin = f"https://localhost:{port}"
    config_path = write_config(workdir, port=port, origin=origin)
    shutil.copytree(tls_from, workdir / "tls")
    cfg = load_config(config_path)
    clock = FakeClock(time.time())
    started: queue.Queue[tuple[str, str] | BaseException] = queue.Queue()
    stop = threading.Event()

    async def serve() -> None:
        idm = Idm.open(str(cfg.db_path), domain=cfg.domain, origin=cfg.origin, clock=clock)
        try:
            idm_admin, _ = await idm.recover_account("idm_admin")
            admin, _ = await idm.recover_account("admin")
            tls = make_tls_context(cfg.tls_chain, cfg.tls_key, config_path)
            sock = bind_https_socket("127.0.0.1", port)
            config = hypercorn_config(tls, sock.detach(), cfg)

            async def stopped() -> None:
                await trio.to_thread.run_sync(stop.wait, abandon_on_cancel=True)

            async with trio.open_nursery() as nursery:
                await nursery.start(lambda task_status: serve_tls(
                    cast(Framework, build_app(idm)), config, shutdown_trigger=stopped,
                    task_status=task_status))
                started.put((idm_admin.reveal(), admin.reveal()))
        finally:
            idm.close()

    def run() -> None:
        try:
            trio.run(serve)
        except BaseException as error:  # handed to the test's thread, which raises it
            started.put(error)

    thread = threading.Thread(target=run, name="clocked-idmd", daemon=True)
    thread.start()
    try:
        got = started.get(timeout=READY_TIMEOUT_S)
        if isinstance(got, BaseException):
            raise RuntimeError("the clocked server did not start") from got
        yield ClockedServer(f"https://127.0.0.1:{port}", origin, workdir / "tls" / "ca.pem",
                            clock, idm_admin_password=got[0], admin_password=got[1])
    finally:
        stop.set()
        thread.join(timeout=30)
