"""Runs the installed ``.venv/bin/hermit`` in a subprocess, for the integration tests.

Each ``HermitProcess`` has its own ``XDG_CACHE_HOME`` and ``HOME``, so its token store is
private to the test that made it, and an environment of exactly the ``HERMIT_*`` variables it
was given (no ``HERMIT_TOKEN`` leaks in from the developer's shell).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyotp

HERMIT = Path(sys.executable).parent / "hermit"
# Generous: a login runs Argon2id; the bound only keeps a hung CLI from hanging the suite.
RUN_TIMEOUT_S = 60


@dataclass
class Ran:
    status: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class HermitProcess:
    home: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache" / "hermit"

    def environ(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "XDG_CACHE_HOME": str(self.home / "cache"),
            "LANG": "C.UTF-8",
            **self.env,
            **(extra or {}),
        }

    def __call__(self, *argv: str, stdin: str = "", env: dict[str, str] | None = None) -> Ran:
        done = subprocess.run(
            [str(HERMIT), *argv],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.environ(env),
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
        return Ran(done.returncode, done.stdout, done.stderr)

    def ok(self, *argv: str, stdin: str = "", env: dict[str, str] | None = None) -> Ran:
        """Run and insist on exit 0 with nothing on stderr."""
        ran = self(*argv, stdin=stdin, env=env)
        assert (ran.status, ran.err) == (0, ""), f"hermit {' '.join(argv)}: {ran}"
        return ran

    def fails(
        self,
        *argv: str,
        code: str,
        status: int = 1,
        stdin: str = "",
        env: dict[str, str] | None = None,
    ) -> Ran:
        """Run and insist on one error line ending in ``(code)`` and exit ``status``."""
        ran = self(*argv, stdin=stdin, env=env)
        assert ran.status == status, ran
        assert ran.err.startswith("hermit: ") and ran.err.endswith(f" ({code})\n"), ran
        assert ran.err.count("\n") == 1, ran
        assert "Traceback" not in ran.err
        return ran


def enrol_totp(hermit: HermitProcess, name: str, label: str, *, unix: bool = False) -> pyotp.TOTP:
    """``hermit person credential totp add`` as a script runs it: read the secret and the URI,
    answer the code of the step before now (accepted at enrolment, so the current step's code
    is still unused), and return the authenticator app the URI describes."""
    argv = [str(HERMIT), "person", "credential", "totp", "add", name, label]
    proc = subprocess.Popen(
        argv + (["--unix"] if unix else []),
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=hermit.environ(),
    )
    assert proc.stdout is not None and proc.stdin is not None
    secret_line, uri_line = proc.stdout.readline(), proc.stdout.readline()
    assert secret_line.startswith("secret: ") and uri_line.startswith("uri: otpauth://totp/")
    # The CLI may ask for SHA-256; pyotp's app computes whatever the URI says.
    app = pyotp.parse_uri(uri_line.removeprefix("uri: ").strip())
    assert isinstance(app, pyotp.TOTP)
    assert app.secret == secret_line.removeprefix("secret: ").strip()
    proc.stdin.write(app.at(time.time() - app.interval) + "\n")
    proc.stdin.flush()
    out, err = proc.communicate(timeout=RUN_TIMEOUT_S)
    assert (proc.returncode, err) == (0, ""), err
    where = f"the unix credential of {name}" if unix else name
    assert out == f"totp {label} added to {where}\n"
    return app


def logged_in(server: Any, home: Path, name: str, password: str) -> HermitProcess:
    """A ``HermitProcess`` for ``server`` (url, ca) already logged in as ``name``."""
    proc = HermitProcess(home, {
        "HERMIT_URL": server.url,
        "HERMIT_CA": str(server.ca),
        "HERMIT_NAME": name,
        "HERMIT_PASSWORD": password,
    })
    proc.ok("login")
    return proc
