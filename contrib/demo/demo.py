"""``make demo``: a real hermit-idmd and the real ``hermit`` CLI, start to finish, in a temp dir.

Steps (each printed as a numbered heading, the command, and its output):

1. ``hermit-idmd cert-generate`` a CA and server certificate;
2. start ``hermit-idmd server`` on 127.0.0.1, port 0 (the port comes from its log);
3. ``hermit-idmd recover-account idm_admin`` (the password is kept, never shown);
4. ``hermit login`` as idm_admin, then create alice and the group wonderland, add alice to
   it (twice: the second time is "unchanged"), and read both back.

The server is stopped by its pid and the directory removed, also when a step fails; the exit
status is 0 only if every step succeeded. Nothing here binds anything but loopback.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from contrib.harness.idmd_process import BIN, IdmdProcess, write_config

HERMIT = BIN / "hermit"
HERMIT_IDMD = BIN / "hermit-idmd"
STEP_TIMEOUT_S = 60
PASSWORD_PREFIX = "password: "


class StepFailed(Exception):
    pass


class Demo:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.step = 0
        self.secrets: list[str] = []

    def heading(self, title: str) -> None:
        self.step += 1
        print(f"\n=== {self.step}. {title}", flush=True)

    def show(self, text: str) -> None:
        for secret in self.secrets:
            text = text.replace(secret, "[secure]")
        for line in text.rstrip("\n").splitlines():
            # recover-account's answer is hidden before anything could print it.
            if line.startswith(PASSWORD_PREFIX):
                line = PASSWORD_PREFIX + "[secure]"
            print(f"    {line}")
        sys.stdout.flush()

    def run(self, title: str, argv: list[str], env: dict[str, str] | None = None) -> str:
        self.heading(title)
        shown = [Path(argv[0]).name, *argv[1:]]
        print(f"$ {shlex.join(shown)}", flush=True)
        done = subprocess.run(argv, capture_output=True, text=True, env=env,
                              timeout=STEP_TIMEOUT_S, check=False)
        self.show(done.stdout)
        if done.returncode != 0:
            self.show(done.stderr)
            raise StepFailed(f"step {self.step} exited with {done.returncode}")
        return done.stdout

    def hermit_env(self, server: IdmdProcess, password: str) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.workdir),
            "LANG": "C.UTF-8",
            "XDG_CACHE_HOME": str(self.workdir / "cache"),
            "HERMIT_URL": server.url,
            "HERMIT_CA": str(server.ca_path),
            "HERMIT_NAME": "idm_admin",
            "HERMIT_PASSWORD": password,
        }


def run_demo(demo: Demo) -> None:
    config = write_config(demo.workdir)
    demo.run("Generate a CA and the server certificate",
             [str(HERMIT_IDMD), "cert-generate", "-c", str(config)])

    demo.heading("Start hermit-idmd (HTTPS on 127.0.0.1, a free port)")
    print(f"$ hermit-idmd server -c {config} &", flush=True)
    server = IdmdProcess.launch(demo.workdir)
    try:
        demo.show(f"pid {server.pid}, {server.url}, ready in {server.startup_seconds:.2f} s")
        recovered = demo.run("Recover the idm_admin account (the password is not shown)",
                             [str(HERMIT_IDMD), "recover-account", "idm_admin", "-c", str(config)])
        password = next(line.removeprefix(PASSWORD_PREFIX) for line in recovered.splitlines()
                        if line.startswith(PASSWORD_PREFIX))
        demo.secrets.append(password)
        env = demo.hermit_env(server, password)
        hermit = str(HERMIT)
        demo.run("Log in as idm_admin", [hermit, "login"], env)
        demo.run("Create a person",
                 [hermit, "person", "create", "alice", "--display-name", "Alice Liddell"], env)
        demo.run("Create a group", [hermit, "group", "create", "wonderland"], env)
        demo.run("Add alice to the group", [hermit, "group", "add-members", "wonderland", "alice"],
                 env)
        demo.run("Add her again: writes are idempotent",
                 [hermit, "group", "add-members", "wonderland", "alice"], env)
        demo.run("Read the person back", [hermit, "person", "get", "alice"], env)
        demo.run("Read the group back", [hermit, "group", "get", "wonderland"], env)
    finally:
        demo.heading(f"Stop hermit-idmd (pid {server.pid})")
        server.stop()
        demo.show(f"exit status {server.proc.returncode}")


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="hermit-demo-"))
    try:
        run_demo(Demo(workdir))
    except (StepFailed, RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"\ndemo failed: {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("\ndemo finished: every step succeeded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
