"""README.md's "A first server by hand", run as written, inside namespaces of its own.

Run by tests/integration/test_readme.py as ``unshare -m -n --propagation private python -m
tests.integration.readme_walkthrough``: a private network namespace (its own loopback, so the
example's fixed port 8443 is free and private), overlays over ``/etc`` and ``/var/lib`` and a
tmpfs on ``/run``, so the walkthrough's system paths are written in the namespace only. Each
command of the section's ``sh`` blocks runs in order (``sudo`` dropped: this is root); the
answers a person would type come from what earlier commands printed: idm_admin's password from
``recover-account``, alice's reset token from ``create-reset-token``, and a TOTP code from the
secret ``totp add`` prints. alice runs her block with a home of her own. Prints one JSON line:
the commands run, and the first failure if any.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyotp

from contrib.demo.demo import listening

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SECTION = "## A first server by hand"
STEP_TIMEOUT_S = 60
ALICE_PASSWORD = "an orchard of quiet lanterns 7"


def blocks() -> list[list[str]]:
    """The commands of each ``sh`` block of the section, comments and blank lines dropped."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index(SECTION):]
    end = section.find("\n## ", len(SECTION))
    section = section if end < 0 else section[:end]
    found = re.findall(r"```sh\n(.*?)```", section, re.S)
    return [[line for line in block.splitlines() if shlex.split(line, comments=True)]
            for block in found]


def mount_private_system(work: Path) -> None:
    for lower in ("/etc", "/var/lib"):
        upper, scratch = work / f"upper{lower}", work / f"work{lower}"
        upper.mkdir(parents=True)
        scratch.mkdir(parents=True)
        subprocess.run(["mount", "-t", "overlay", "hermit-readme", "-o",
                        f"lowerdir={lower},upperdir={upper},workdir={scratch}", lower],
                       check=True)
    subprocess.run(["mount", "-t", "tmpfs", "hermit-readme", "/run"], check=True)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


class Walk:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.env = {"PATH": f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
        self.answers: dict[str, str] = {}
        self.ran: list[str] = []
        self.server: subprocess.Popen[str] | None = None

    def as_person(self, name: str) -> None:
        home = self.work / name
        home.mkdir()
        self.env = {**self.env, "HOME": str(home), "XDG_CACHE_HOME": str(home / "cache")}

    def run(self, line: str) -> None:
        argv = shlex.split(line, comments=True)
        self.ran.append(" ".join(argv))
        if argv[0] == "sudo":
            argv = argv[1:]
        if argv[0] == "export":
            self.env.update(item.split("=", 1) for item in argv[1:])
            return
        if argv[-1] == "&":
            self.start_server(argv[:-1])
            return
        argv = [self.answers.get(arg, arg) for arg in argv]
        env = dict(self.env)
        stdin = ""
        if argv[-2:] == ["--name", "idm_admin"]:
            env["HERMIT_PASSWORD"] = self.answers["admin password"]
        if argv[-2:] == ["--name", "alice"]:
            env["HERMIT_PASSWORD"] = ALICE_PASSWORD
        if "use-reset-token" in argv:
            stdin = ALICE_PASSWORD + "\n"
        if argv[-4:-2] == ["totp", "add"]:
            out = self.enrol_totp(argv, env)
        else:
            done = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env,
                                  cwd=ROOT, timeout=STEP_TIMEOUT_S, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"{line!r} exited {done.returncode}: {done.stderr[-1500:]}")
            out = done.stdout
        if match := re.search(r"^password: (\S+)$", out, re.M):
            self.answers["admin password"] = match.group(1)
        if match := re.search(r"^token: (\S+)$", out, re.M):
            self.answers["TOKEN"] = match.group(1)

    def enrol_totp(self, argv: list[str], env: dict[str, str]) -> str:
        """``totp add`` prints the secret, then reads a code: the one a phone would show."""
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        assert proc.stdin is not None and proc.stdout is not None
        first = proc.stdout.readline()
        secret = re.fullmatch(r"secret: (\S+)\n", first)
        if secret is not None:
            proc.stdin.write(pyotp.TOTP(secret.group(1)).now() + "\n")
            proc.stdin.flush()
        out, err = proc.communicate(timeout=STEP_TIMEOUT_S)
        if proc.returncode != 0 or secret is None:
            raise RuntimeError(f"totp add exited {proc.returncode}: {first}{err[-1500:]}")
        return first + out

    def start_server(self, argv: list[str]) -> None:
        log = (self.work / "server.log").open("w")
        self.server = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
                                       env=self.env)
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while not (listening(8443) and Path("/run/hermit-idmd/admin.sock").exists()):
            if self.server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("hermit-idmd server did not come up: "
                                   + (self.work / "server.log").read_text()[-1500:])
            time.sleep(0.05)

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            self.server.wait(timeout=STEP_TIMEOUT_S)


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="hermit-readme-"))
    mount_private_system(work)
    walk = Walk(work)
    failure = None
    try:
        admin, alice = blocks()
        walk.as_person("admin")
        for line in admin:
            walk.run(line)
        walk.as_person("alice")
        for line in alice:
            walk.run(line)
    except Exception as exc:  # reported to the test, which fails on it
        failure = f"{type(exc).__name__}: {exc}"
    finally:
        walk.stop()
        subprocess.run(["rm", "-rf", "--one-file-system", str(work)], check=False)
    print(json.dumps({"ran": walk.ran, "failure": failure}))
    return 0


if __name__ == "__main__":
    if os.environ.get("HERMIT_README_INSIDE") != "1":
        sys.exit("run by tests/integration/test_readme.py, in namespaces of its own")
    sys.exit(main())
