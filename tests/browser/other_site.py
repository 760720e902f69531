"""Another site on loopback: the page an attacker serves (framing hermit, asking the person's
authenticator for an assertion on another origin), or a harness check's page.

``other_site(workdir, pages, tls=...)`` starts this file as a separate process serving
``pages`` (path → HTML) from 127.0.0.1 on a free port, over plain HTTP or over TLS with the
given certificate chain and key, each answer carrying the ``headers`` given; it yields the
site's base url (``https://localhost:PORT`` or ``http://127.0.0.1:PORT``) and stops the
process by its pid. Run as a script it is that server.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

READY_TIMEOUT_S = 10.0


@contextmanager
def other_site(workdir: Path, pages: Mapping[str, str], *, tls: tuple[Path, Path] | None,
               port: int, headers: Mapping[str, str] | None = None) -> Iterator[str]:
    """Serve ``pages`` on 127.0.0.1:``port``; the base url a browser uses."""
    spec = workdir / f"site-{port}.json"
    spec.write_text(json.dumps({"pages": dict(pages), "headers": dict(headers or {})}))
    command = [sys.executable, __file__, "--port", str(port), "--spec", str(spec)]
    if tls is not None:
        command += ["--chain", str(tls[0]), "--key", str(tls[1])]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"https://localhost:{port}" if tls is not None else f"http://127.0.0.1:{port}"
    try:
        _wait_ready(f"http{'s' if tls else ''}://127.0.0.1:{port}/", proc)
        yield base
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)


def _wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        try:
            httpx.get(url, verify=False, timeout=1)
            return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the other site did not start at {url}")
        time.sleep(0.02)


def _serve(port: int, spec: Path, chain: str | None, key: str | None) -> None:
    loaded = json.loads(spec.read_text())
    pages: dict[str, str] = loaded["pages"]
    extra: dict[str, str] = loaded["headers"]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path.split("?")[0])
            status = 200 if body is not None else 404
            data = (body or "not here").encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    if chain is not None and key is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(chain, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--spec", type=Path, required=True)
    parser.add_argument("--chain")
    parser.add_argument("--key")
    args = parser.parse_args()
    _serve(args.port, args.spec, args.chain, args.key)
