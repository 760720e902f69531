"""A real hermit-idmd whose ``origin`` is ``https://localhost:PORT``, as a browser must see it.

The server binds 127.0.0.1 on a port picked free beforehand (the origin has to name it before
the server starts; the window between picking and binding is a few milliseconds on loopback).
``WebServer`` adds to ``IdmdServer`` (tests/integration/idmd_server.py) what a browser needs:
the origin to navigate to and the SPKI hash of the server's certificate to trust.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from contrib.harness.browser import spki_hash
from contrib.harness.idmd_process import IdmdProcess
from tests.integration.idmd_server import IdmdServer, recovered_password


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class WebServer:
    """A running hermit-idmd reached by a browser at ``origin``."""

    server: IdmdServer
    origin: str
    spki: str

    def url(self, path: str) -> str:
        return f"{self.origin}{path}"


@contextmanager
def web_idmd(workdir: Path) -> Iterator[WebServer]:
    port = free_port()
    origin = f"https://localhost:{port}"
    with IdmdProcess.start(workdir, port=port, origin=origin) as process:
        server = IdmdServer(
            process,
            idm_admin_password=process.idm_admin_password,
            admin_password=recovered_password(process.config, "admin"),
        )
        yield WebServer(server, origin, spki_hash(workdir / "tls" / "chain.pem"))
