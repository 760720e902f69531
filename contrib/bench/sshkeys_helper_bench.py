"""hermit-ssh-authorizedkeys benchmark: one key lookup, start to exit, beside ``cat``.

sshd runs the AuthorizedKeysCommand once per offered key, so its cost is a process start, a
config read, one round trip on the client socket and the printing of a few lines. This
benchmark builds the release helper (reading a config in a temporary directory), answers it
from a small threaded server speaking the client socket protocol, and times it beside the
baseline measured in the same run: ``cat`` of an authorized_keys file with the same keys (the
cheapest thing sshd could run). A bare ``python3 -I -S -c pass`` is timed too, to show why the
helper is not Python (docs/sshkeys-helper.md). Only ratios travel: these machines are noisy.

Timing uses hyperfine when it is installed (``-N``: no shell), else a loop of subprocess runs
reporting the median.

Usage: ``.venv/bin/python contrib/bench/sshkeys_helper_bench.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hermit_common.framing import FrameDecoder
from unixd.proto import limits
from unixd.proto.messages import SshKeys, SshKeysResponse, decode_request, encode_response

ROOT = Path(__file__).resolve().parents[2]
KEYS = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGm4ZTNhMmQ5ZjQ4YmI0YjEzN2Q5 alice@laptop",
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHx0aGlzIGlzIGEgdGVzdCBrZXk alice@desk",
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTY alice@phone",
)


def serve(listener: socket.socket) -> None:
    """Answer every ssh_keys request with KEYS, one connection per thread."""
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def handle(conn: socket.socket) -> None:
    with conn:
        decoder = FrameDecoder(limits.MAX_REQUEST_FRAME_BYTES)
        while not isinstance(frame := decoder.next_frame(), bytes):
            data = conn.recv(65536)
            decoder.feed(data)
            if not data:
                return
        request = decode_request(frame)
        assert isinstance(request, SshKeys)
        conn.sendall(encode_response(SshKeysResponse(keys=KEYS)))


def time_with_hyperfine(commands: dict[str, list[str]], runs: int, out: Path) -> dict[str, float]:
    export = out / "hyperfine.json"
    subprocess.run(
        [
            "hyperfine", "-N", "--warmup", "20", "--runs", str(runs), "--style", "basic",
            "--export-json", str(export),
            *(
                arg
                for label, argv in commands.items()
                for arg in ("-n", label, " ".join(argv))
            ),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    results = json.loads(export.read_text())["results"]
    return {r["command"]: statistics.median(r["times"]) for r in results}


def time_with_loop(commands: dict[str, list[str]], runs: int) -> dict[str, float]:
    medians = {}
    for label, argv in commands.items():
        for _ in range(20):  # warm the page cache and the dynamic loader
            subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
            samples.append(time.perf_counter() - start)
        medians[label] = statistics.median(samples)
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hermit-sshkeys-bench-") as tmp:
        out = Path(tmp)
        config, sock_path = out / "unixd.toml", out / "sock"
        config.write_text(f'uri = "https://idm.example.com"\nsocket_path = "{sock_path}"\n')
        subprocess.run(
            ["make", "-s", "-C", str(ROOT / "sshkeys-helper"), f"BUILD_DIR={out}",
             f"HERMIT_CONFIG_PATH={config}"],
            check=True,
        )
        helper = out / "hermit-ssh-authorizedkeys"
        keys_file = out / "authorized_keys"
        keys_file.write_text("".join(key + "\n" for key in KEYS))

        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(sock_path))
        listener.listen(64)
        threading.Thread(target=serve, args=(listener,), daemon=True).start()

        printed = subprocess.run([str(helper), "alice"], capture_output=True, check=True)
        assert printed.stdout.decode() == keys_file.read_text(), printed

        commands = {
            "hermit-ssh-authorizedkeys": [str(helper), "alice"],
            "cat authorized_keys": [shutil.which("cat") or "/bin/cat", str(keys_file)],
            "python3 -I -S -c pass": [sys.executable, "-I", "-S", "-c", "pass"],
        }
        tool = "hyperfine" if shutil.which("hyperfine") else "subprocess loop"
        if tool == "hyperfine":
            medians = time_with_hyperfine(commands, args.runs, out)
        else:
            medians = time_with_loop(commands, args.runs)
        listener.close()

    print(f"timing: {tool}, {args.runs} runs each, median wall time")
    for label, seconds in medians.items():
        print(f"  {label:28} {seconds * 1000:7.2f} ms")
    helper_s = medians["hermit-ssh-authorizedkeys"]
    print(f"helper / cat ratio:    {helper_s / medians['cat authorized_keys']:.2f}")
    print(f"helper / python ratio: {helper_s / medians['python3 -I -S -c pass']:.2f}")


if __name__ == "__main__":
    main()
