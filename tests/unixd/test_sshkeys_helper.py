"""hermit-ssh-authorizedkeys (C, built with ASan and UBSan) against the scripted hermit-unixd of
tests/native/fake_unixd.py, over a real unix socket in tmp_path.

The server is scripted per test so every failure the helper must survive can be produced.
The test build reads its config from a path in the session's temporary directory and has a
1 s deadline instead of 2 s (both compile-time settings, never environment variables).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import trio

from tests.native.fake_unixd import FakeUnixd, Raw, Script, Stall, always, frame_of
from unixd.proto import limits
from unixd.proto.messages import SshKeys, decode_request, encode_request

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_MS = 1000
# Bounds the test, not the helper: far above the helper's own deadline plus ASan's start.
RUN_BOUND_SECONDS = 20
# The environment sshd gives an AuthorizedKeysCommand is nearly empty; ASan must not find a
# leak or an error (it exits non-zero with a report on stderr if it does).
ENV = {"PATH": "/usr/bin:/bin", "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=99"}

KEYS = [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGm4 alice@laptop",
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 alice@desk",
    'sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1 "quoted" back\\slash é ☃ 𝄞',
]


@dataclass(frozen=True)
class Helper:
    binary: Path
    config: Path


@pytest.fixture(scope="session")
def helper(tmp_path_factory: pytest.TempPathFactory) -> Helper:
    build = tmp_path_factory.mktemp("sshkeys-build")
    config = build / "unixd.toml"
    subprocess.run(
        [
            "make", "-s", "-C", str(ROOT / "sshkeys-helper"), "asan", f"BUILD_DIR={build}",
            f"HERMIT_CONFIG_PATH={config}", f"HERMIT_DEADLINE_MS={DEADLINE_MS}",
        ],
        check=True,
    )
    return Helper(binary=build / "asan" / "hermit-ssh-authorizedkeys", config=config)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


async def run_helper(helper: Helper, *args: str) -> Result:
    with trio.fail_after(RUN_BOUND_SECONDS):
        done = await trio.run_process(
            [str(helper.binary), *args], capture_stdout=True, capture_stderr=True,
            check=False, env=ENV,
        )
    return Result(done.returncode, done.stdout.decode(), done.stderr.decode())


def write_config(helper: Helper, socket_path: Path) -> None:
    helper.config.write_text(
        'uri = "https://idm.example.com:8443"\n'
        f'socket_path = "{socket_path}"   # the client socket\n'
        'cache_path = "/var/cache/hermit-unixd/cache.db"\n'
    )


async def run_against(
    helper: Helper, tmp_path: Path, script: Script, name: str = "alice"
) -> tuple[Result, FakeUnixd]:
    socket_path = tmp_path / "sock"
    write_config(helper, socket_path)
    server = FakeUnixd(script)
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve, socket_path)
        result = await run_helper(helper, name)
        nursery.cancel_scope.cancel()
    return result, server


def assert_one_error_line(result: Result, fragment: str) -> None:
    assert result.returncode == 1, result
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n"), result.stderr
    assert result.stderr.startswith("hermit-ssh-authorizedkeys: ")
    assert fragment in result.stderr


# Answers ----------------------------------------------------------------------------------


async def test_helper__prints_every_key_on_its_own_line(helper: Helper, tmp_path: Path) -> None:
    result, server = await run_against(helper, tmp_path, always({"status": "ok", "keys": KEYS}))
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "".join(key + "\n" for key in KEYS)
    assert [decode_request(frame) for frame in server.frames] == [SshKeys(name="alice")]


async def test_helper__decodes_json_escapes_in_keys(helper: Helper, tmp_path: Path) -> None:
    payload = b'{"status":"ok","keys":["k \\u00e9\\ud834\\udd1e \\"q\\" \\\\ \\/ \\t"]}'
    result, _ = await run_against(helper, tmp_path, always(Raw(frame_of(payload))))
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == 'k é𝄞 "q" \\ / \t\n'


async def test_helper__sends_the_request_python_would_send(helper: Helper, tmp_path: Path) -> None:
    # A name with characters JSON must escape: the C escaper matches the protocol module.
    name = 'we"ird\\name'
    result, server = await run_against(helper, tmp_path, always({"status": "notfound"}), name)
    assert result.returncode == 0
    assert [encode_request(SshKeys(name=name))[4:]] == server.frames


async def test_helper__no_keys_prints_nothing(helper: Helper, tmp_path: Path) -> None:
    result, _ = await run_against(helper, tmp_path, always({"status": "ok", "keys": []}))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


async def test_helper__notfound_prints_nothing_and_exits_0(helper: Helper, tmp_path: Path) -> None:
    result, server = await run_against(helper, tmp_path, always({"status": "notfound"}))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert server.connections == 1


async def test_helper__skips_members_it_does_not_read(helper: Helper, tmp_path: Path) -> None:
    obj = {"extra": {"a": [1, -2.5e3, {"b": None}, True, False, "]}"]}, "status": "ok",
           "error": 7, "keys": ["k1"], "more": []}
    result, _ = await run_against(helper, tmp_path, always(obj))
    assert (result.returncode, result.stdout) == (0, "k1\n")


async def test_helper__unavail_is_exit_1(helper: Helper, tmp_path: Path) -> None:
    result, _ = await run_against(helper, tmp_path, always({"status": "unavail"}))
    assert_one_error_line(result, "offline and not cached")


async def test_helper__error_names_the_code(helper: Helper, tmp_path: Path) -> None:
    obj = {"status": "error", "error": "invalid_name", "detail": "x\ny"}
    result, _ = await run_against(helper, tmp_path, always(obj))
    assert_one_error_line(result, "refused the request: invalid_name")


async def test_helper__error_code_is_never_echoed_raw(helper: Helper, tmp_path: Path) -> None:
    obj = {"status": "error", "error": "evil\ncode\x1b[31m", "detail": ""}
    result, _ = await run_against(helper, tmp_path, always(obj))
    assert_one_error_line(result, "refused the request: unknown")


# Failures ---------------------------------------------------------------------------------


async def test_helper__unreachable_socket_is_exit_1_with_one_line(
    helper: Helper, tmp_path: Path
) -> None:
    write_config(helper, tmp_path / "absent.sock")
    result = await run_helper(helper, "alice")
    assert_one_error_line(result, f"cannot reach hermit-unixd at {tmp_path / 'absent.sock'}")


async def test_helper__socket_nobody_listens_on_is_exit_1(helper: Helper, tmp_path: Path) -> None:
    path = tmp_path / "dead.sock"
    sock = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM)
    await sock.bind(str(path))
    sock.close()  # the socket file stays, nobody listens
    write_config(helper, path)
    assert_one_error_line(await run_helper(helper, "alice"), "Connection refused")


async def test_helper__server_closing_mid_frame_is_exit_1(helper: Helper, tmp_path: Path) -> None:
    partial = frame_of(b'{"status":"ok","keys":["ssh-ed25519 AAAA"]}')[:20]
    result, _ = await run_against(helper, tmp_path, always(Raw(partial)))
    assert_one_error_line(result, "closed the connection before answering in full")


async def test_helper__server_closing_without_answer_is_exit_1(
    helper: Helper, tmp_path: Path
) -> None:
    result, _ = await run_against(helper, tmp_path, always(Raw(b"")))
    assert_one_error_line(result, "closed the connection")


async def test_helper__stalled_server_is_bounded_by_the_deadline(
    helper: Helper, tmp_path: Path
) -> None:
    start = trio.current_time()
    stall = always(Stall(b"\x00\x00"))  # half a header, then nothing
    result, _ = await run_against(helper, tmp_path, stall)
    assert_one_error_line(result, "timed out waiting for hermit-unixd")
    assert trio.current_time() - start < RUN_BOUND_SECONDS


@pytest.mark.parametrize(
    "header",
    [
        (limits.MAX_RESPONSE_FRAME_BYTES + 1).to_bytes(4, "big"),
        b"\xff\xff\xff\xff",
        b"\x00\x00\x00\x00",
    ],
    ids=["limit+1", "4GiB", "zero"],
)
async def test_helper__refuses_a_bad_length_on_the_header(
    helper: Helper, tmp_path: Path, header: bytes
) -> None:
    result, _ = await run_against(helper, tmp_path, always(Raw(header)))
    assert_one_error_line(result, "announced an answer of")


async def test_helper__accepts_an_answer_of_exactly_the_limit(
    helper: Helper, tmp_path: Path
) -> None:
    head = b'{"status":"ok","keys":["k"],"pad":"'
    payload = head + b"x" * (limits.MAX_RESPONSE_FRAME_BYTES - len(head) - 2) + b'"}'
    assert len(payload) == limits.MAX_RESPONSE_FRAME_BYTES
    result, _ = await run_against(helper, tmp_path, always(Raw(frame_of(payload))))
    assert (result.returncode, result.stdout) == (0, "k\n")


GARBAGE = {
    "not json": b"this is not json",
    "array": b"[]",
    "no status": b'{"keys":["k"]}',
    "unknown status": b'{"status":"maybe"}',
    "status not a string": b'{"status":1}',
    "ok without keys": b'{"status":"ok"}',
    "keys not a list": b'{"status":"ok","keys":"k"}',
    "key not a string": b'{"status":"ok","keys":[1]}',
    "key with a newline": b'{"status":"ok","keys":["ssh-ed25519 A\\nssh-rsa B"]}',
    "key with a CR": b'{"status":"ok","keys":["ssh-ed25519 A\\r"]}',
    "key with NUL": b'{"status":"ok","keys":["ssh-ed25519 A\\u0000x"]}',
    "empty key": b'{"status":"ok","keys":[""]}',
    "raw newline in string": b'{"status":"ok","keys":["a\nb"]}',
    "unterminated string": b'{"status":"ok","keys":["abc',
    "bad escape": b'{"status":"ok","keys":["\\q"]}',
    "short unicode escape": b'{"status":"ok","keys":["\\u12"]}',
    "lone surrogate": b'{"status":"ok","keys":["\\ud800"]}',
    "missing comma": b'{"status":"ok" "keys":[]}',
    "trailing data": b'{"status":"notfound"} {}',
    "two statuses": b'{"status":"notfound","status":"ok","keys":["k"]}',
    "too deep": b'{"x":' + b"[" * 100 + b"]" * 100 + b',"status":"notfound"}',
    "unbalanced": b'{"x":[1,2},"status":"notfound"}',
    "too many keys": json.dumps(
        {"status": "ok", "keys": ["k"] * (limits.MAX_SSH_KEYS + 1)}
    ).encode(),
    "truncated object": b'{"status":"ok","keys":["k"]',
}


@pytest.mark.parametrize("payload", GARBAGE.values(), ids=GARBAGE.keys())
async def test_helper__garbage_is_exit_1_and_prints_no_key(
    helper: Helper, tmp_path: Path, payload: bytes
) -> None:
    result, _ = await run_against(helper, tmp_path, always(Raw(frame_of(payload))))
    assert_one_error_line(result, "hermit-unixd answered something")


# Names and usage ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["a:b", "a\nb", "x" * 300, "a/b", "a b", "a,b", "", ".", "..", "é"], ids=repr
)
async def test_helper__invalid_names_are_refused_without_io(
    helper: Helper, tmp_path: Path, name: str
) -> None:
    result, server = await run_against(helper, tmp_path, always({"status": "ok", "keys": KEYS}),
                                       name)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert server.connections == 0


async def test_helper__a_name_of_256_characters_is_asked(helper: Helper, tmp_path: Path) -> None:
    result, server = await run_against(helper, tmp_path, always({"status": "notfound"}),
                                       "x" * 256)
    assert result.returncode == 0
    assert server.connections == 1


@pytest.mark.parametrize("args", [[], ["a", "b"]], ids=["none", "two"])
async def test_helper__usage_is_exit_2(helper: Helper, args: list[str]) -> None:
    result = await run_helper(helper, *args)
    assert result.returncode == 2
    assert result.stderr == "usage: hermit-ssh-authorizedkeys NAME\n"


# The config file ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        'socket_path = "{path}"',
        "socket_path='{path}'  # literal string",
        '  "socket_path"\t=\t"{path}"',
        "\t'socket_path' = '{path}'\r",
    ],
)
async def test_config__socket_path_forms_toml_allows(
    helper: Helper, tmp_path: Path, line: str
) -> None:
    socket_path = tmp_path / "sock"
    server = FakeUnixd(always({"status": "ok", "keys": ["k"]}))
    helper.config.write_text(
        "# socket_path = \"/nowhere\"\n"
        'socket_path_other = "/nowhere"\n'
        + "x" * 5000 + '\nsocket_path = "/nowhere-either"' + "y" * 5000 + "\n"
        + line.format(path=socket_path) + "\n"
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve, socket_path)
        result = await run_helper(helper, "alice")
        nursery.cancel_scope.cancel()
    assert (result.returncode, result.stdout, result.stderr) == (0, "k\n", "")


async def test_config__missing_file_means_the_default_socket(helper: Helper) -> None:
    helper.config.unlink(missing_ok=True)
    result = await run_helper(helper, "alice")
    assert_one_error_line(result, "cannot reach hermit-unixd at /run/hermit-unixd/sock")


async def test_config__file_without_the_key_means_the_default_socket(helper: Helper) -> None:
    helper.config.write_text('uri = "https://idm.example.com"\n')
    result = await run_helper(helper, "alice")
    assert_one_error_line(result, "at /run/hermit-unixd/sock")


@pytest.mark.parametrize(
    "line",
    [
        "socket_path = /run/sock",
        'socket_path = "relative"',
        'socket_path = "/run/sock',
        'socket_path = "/run/so\\\\ck"',
        'socket_path = """/run/sock"""',
        'socket_path = "/run/sock" trailing',
        'socket_path = "/' + "s" * 200 + '"',
    ],
)
async def test_config__malformed_socket_path_is_exit_1(helper: Helper, line: str) -> None:
    helper.config.write_text(line + "\n")
    result = await run_helper(helper, "alice")
    assert_one_error_line(result, "cannot read key 'socket_path'")
