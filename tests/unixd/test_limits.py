"""unixd's limits against the numbers they must agree with: idmd's (what idmd accepts, unixd
must be able to carry) and the C clients' ``#define``s (each reads the headers and sources as
text, so a number changed on one side only fails here, not at a user's login)."""

from __future__ import annotations

import ast
import operator
import re
from pathlib import Path

import pytest

from idmd import limits as idmd_limits
from unixd import config as unixd_config
from unixd.proto import limits
from unixd.resolver import memcache

TOP = Path(__file__).resolve().parents[2]
# Where each program states its deadline.
C_PROGRAMS = ("nss_module/reply.c", "pam_module/pam_hermit.c",
              "sshkeys-helper/hermit-ssh-authorizedkeys.c")

_DEFINE = re.compile(r"^#define[ \t]+(\w+)[ \t]+(.+?)[ \t]*(?:/\*.*)?$", re.M)
_OPERATORS = {ast.LShift: operator.lshift, ast.Add: operator.add, ast.Mult: operator.mul}


def defines(relative: str) -> dict[str, str]:
    """The object-like ``#define``s of a C file, name to its text (comments dropped)."""
    return {name: value for name, value in _DEFINE.findall((TOP / relative).read_text())}


def c_integer(text: str) -> int:
    """The value of a C integer constant expression of literals, ``<<``, ``+`` and ``*``."""
    def value(node: ast.expr) -> int:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return int(_OPERATORS[type(node.op)](value(node.left), value(node.right)))
        raise ValueError(f"not a constant expression this test reads: {text!r}")

    python = re.sub(r"\b(\d+)[uUlL]+\b", r"\1", text)
    return value(ast.parse(python, mode="eval").body)


def test_c_integer__reads_what_the_headers_write() -> None:
    assert c_integer("(64u << 10)") == 65536
    assert c_integer("4294967294u") == 2**32 - 2
    assert c_integer("(4 + 128 * 6)") == 772
    with pytest.raises(ValueError, match="not a constant expression"):
        c_integer("SIZE_MAX")


def test_defines__reads_a_define_with_its_comment() -> None:
    header = defines("cclient/hermit_client.h")
    assert header["HERMIT_MAX_NAME_BYTES"] == "256"
    assert header["HERMIT_DEFAULT_SOCKET_PATH"] == '"/run/hermit-unixd/sock"'


# --- unixd against idmd -------------------------------------------------------------------------


def test_limits__a_password_idmd_accepts_fits_a_pam_answer() -> None:
    assert limits.MAX_PAM_RESPONSE_BYTES == idmd_limits.MAX_PASSWORD_BYTES


def test_limits__a_display_name_idmd_accepts_fits_a_gecos() -> None:
    # idmd counts characters, unixd bytes: up to 4 of them per character in UTF-8.
    assert limits.MAX_GECOS_BYTES == 4 * idmd_limits.MAX_TEXT_LEN


def test_limits__every_ssh_key_idmd_holds_fits_an_answer() -> None:
    assert limits.MAX_SSH_KEYS == idmd_limits.MAX_SSH_KEYS_PER_ACCOUNT
    assert limits.MAX_SSH_KEY_BYTES == idmd_limits.MAX_SSH_KEY_LEN


def test_limits__a_frame_has_as_long_as_on_the_admin_socket() -> None:
    assert limits.READ_TIMEOUT_SECONDS == idmd_limits.ADMIN_READ_TIMEOUT_SECONDS


# --- the C clients against unixd ----------------------------------------------------------------


@pytest.mark.parametrize(("source", "name", "expected"), [
    ("cclient/hermit_client.h", "HERMIT_MAX_NAME_BYTES", limits.MAX_LOOKUP_NAME_BYTES),
    ("cclient/hermit_client.h", "HERMIT_MAX_REQUEST_BYTES", limits.MAX_REQUEST_FRAME_BYTES),
    ("cclient/hermit_client.h", "HERMIT_MAX_RESPONSE_BYTES", limits.MAX_RESPONSE_FRAME_BYTES),
    # sun_path holds the longest socket_path unixd's config accepts and its NUL.
    ("cclient/hermit_client.h", "HERMIT_SOCKET_PATH_SIZE", unixd_config.MAX_SOCKET_PATH_BYTES + 1),
    ("nss_module/reply.c", "MAX_ID", limits.MAX_ID),
    ("nss_module/memcache.c", "MC_VERSION", memcache.VERSION),
    ("nss_module/memcache.c", "MC_HEADER_SIZE", memcache.HEADER_SIZE),
    ("nss_module/memcache.c", "MC_RECORD_HEAD", memcache.RECORD_HEAD),
    ("nss_module/memcache.c", "MC_MAX_FILE_BYTES", memcache.MAX_FILE_BYTES),
    ("pam_module/pam_hermit.c", "MAX_RESPONSE_BYTES", limits.MAX_PAM_RESPONSE_BYTES),
    ("pam_module/pam_hermit.c", "MAX_SESSION_BYTES", limits.MAX_PAM_SESSION_ID_BYTES),
    ("pam_module/pam_hermit.c", "MAX_SERVICE_BYTES", limits.MAX_PAM_SERVICE_BYTES),
    ("sshkeys-helper/hermit-ssh-authorizedkeys.c", "MAX_KEYS", limits.MAX_SSH_KEYS),
])
def test_c_limits__match_unixd(source: str, name: str, expected: int) -> None:
    assert c_integer(defines(source)[name]) == expected


def test_c_memcache__magic_and_crc_offset_match_unixd() -> None:
    text = (TOP / "nss_module/memcache.c").read_text()
    magic = "".join(re.findall(r"'(.)'", re.search(r"mc_magic\[8\] = \{([^}]*)\}", text)[1]))
    assert magic.encode() == memcache.MAGIC
    assert c_integer(defines("nss_module/memcache.c")["MC_HEADER_CRC_AT"]) == memcache._CRC_AT


def test_c_paths__are_unixd_config_defaults() -> None:
    header = defines("cclient/hermit_client.h")
    assert header["HERMIT_CONFIG_PATH"] == f'"{unixd_config.DEFAULT_CONFIG_PATH}"'
    assert header["HERMIT_DEFAULT_SOCKET_PATH"] == f'"{unixd_config.DEFAULTS["socket_path"]}"'


@pytest.mark.parametrize("program", C_PROGRAMS)
def test_c_deadline__each_program_states_its_default_once(program: str) -> None:
    # One default in the source, under #ifndef so a test build may pass its own; no Makefile
    # sets a second one.
    text = (TOP / program).read_text()
    assert len(re.findall(r"^#define HERMIT_DEADLINE_MS \d+\b", text, re.M)) == 1
    assert "#ifndef HERMIT_DEADLINE_MS" in text
    makefile = (TOP / program).parent / "Makefile"
    assert "HERMIT_DEADLINE_MS ?=" not in makefile.read_text()
    assert "HERMIT_DEADLINE_MS ?=" not in (TOP / "cclient/cclient.mk").read_text()
