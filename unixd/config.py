"""unixd.toml: reading, checking and showing the host side's configuration.

This module turns ``/etc/hermit/unixd.toml`` into one validated, typed ``UnixdConfig`` and
renders it back for ``--configtest``; it opens nothing else (no sockets, no cache, no CA) and
looks at one thing on disk: the mode of ``socket_path``'s directory (``load_config``).
hermit-unixd and hermit-unixd-tasks both read it; the C modules and
``hermit-ssh-authorizedkeys`` read only ``socket_path``, with their own line reader.

Rules:
- The keys are exactly those of DESIGN.md "/etc/hermit/unixd.toml"; an unknown key, a value
  of the wrong type or a malformed value is a ``ConfigError`` whose one-line message names the
  key and the file. Values are not echoed in errors.
- ``uri`` has no default (the site's idmd); every other key has the default DESIGN.md shows.
- Paths must be absolute: the C modules read ``socket_path`` exactly as written, and a path
  relative to a working directory means something different to every reader.
- ``socket_path`` is a plain string the C line reader can take as it is: no quote, backslash
  or control character, and short enough for ``sun_path`` (108 bytes with its NUL).
- ``socket_path`` may not be in a directory that group or others may write to (a sticky one
  such as /tmp included): anyone who can write there could put a socket or NSS memory-cache
  files of their own in its place, and the C clients refuse such a directory anyway
  (cclient's trust rule). A directory that does not exist yet is left to whoever creates it
  (systemd's RuntimeDirectory, 0755).
- ``home_alias`` may not equal ``home_attr``: the alias would be a symlink to itself.
- ``request_timeout`` covers a whole request, so it is at least ``connect_timeout``.
- ``offline_failed_login_attempts`` and ``offline_failed_login_delay`` (issue 9, finding 5;
  SSSD's keys of those names, in seconds rather than minutes): the wrong offline password that
  starts an account's delay (the 3rd by default), and that first delay, which doubles with
  each further failure (``unixd.resolver.offline_failures``).
- ``token_path`` is optional (not set: unixd reads as anonymous). Only its form is checked
  here; the file itself is checked by hermit-unixd when it starts
  (``unixd.resolver.tokenfile``), since hermit-unixd-tasks reads this file too and neither
  needs nor may see the token. ``render`` shows the path, never the token.
"""

from __future__ import annotations

import math
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias
from urllib.parse import urlsplit

from hermit_common.configfile import ConfigError, read_toml
from unixd.proto.errors import InvalidLookupName
from unixd.proto.messages import validate_lookup_name

DEFAULT_CONFIG_PATH = Path("/etc/hermit/unixd.toml")

# The packaged install: sockets under RuntimeDirectory=hermit-unixd, the cache and host
# secret under CacheDirectory=hermit-unixd (packaging/).
DEFAULTS: dict[str, object] = {
    "ca_path": "/etc/hermit/ca.pem",
    "allowed_login_groups": [],
    "name_format": "name",
    "default_shell": "/bin/bash",
    "home_prefix": "/home",
    "home_attr": "uuid",
    "home_alias": "spn",
    "use_etc_skel": False,
    "cache_timeout": 300,
    "connect_timeout": 2,
    "request_timeout": 4,
    "offline_mfa": "deny",
    "offline_failed_login_attempts": 3,
    "offline_failed_login_delay": 5,
    "socket_path": "/run/hermit-unixd/sock",
    "task_socket_path": "/run/hermit-unixd/task.sock",
    "cache_path": "/var/cache/hermit-unixd/cache.db",
}
# Every key, in the order of DESIGN.md (and of ``render``).
KEYS = (
    "uri", "ca_path", "token_path",
    "allowed_login_groups", "name_format", "default_shell", "home_prefix",
    "home_attr", "home_alias", "use_etc_skel", "cache_timeout", "connect_timeout",
    "request_timeout", "offline_mfa", "offline_failed_login_attempts",
    "offline_failed_login_delay", "socket_path", "task_socket_path", "cache_path",
)
NAME_FORMATS = ("name", "spn")
HOME_ATTRS = ("uuid", "spn", "name")
HOME_ALIASES = ("none", "uuid", "spn", "name")
# What an account whose unix credential carries a TOTP gets while idmd is unreachable
# (unixd.resolver.pam.OfflineMfa; docs/unixd.md "Password + TOTP offline").
OFFLINE_MFA = ("deny", "password")

# A day: beyond it a cache entry no longer reflects the directory in any useful sense (a
# removed SSH key would keep working); offline answers do not depend on it.
MAX_CACHE_TIMEOUT_SECONDS = 86_400
# Timeouts toward idmd: a login waits for them before going offline, so minutes would be a
# hang, not a timeout.
MAX_TIMEOUT_SECONDS = 60.0
# Free offline failures before the delay: beyond a few hundred the delay would never start
# for a real guesser, which is the point of the counter.
MAX_OFFLINE_FAILED_LOGIN_ATTEMPTS = 100
# The first offline delay: a day at most (it then doubles, capped; see offline_failures).
MAX_OFFLINE_FAILED_LOGIN_DELAY_SECONDS = 86_400
# struct sockaddr_un.sun_path is 108 bytes on Linux, including the terminating NUL.
MAX_SOCKET_PATH_BYTES = 107
_PLAIN_PATH_RE = re.compile(r'/[^"\\\x00-\x1f\x7f]*')
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


_Check: TypeAlias = Callable[[object], object]


class _Invalid(Exception):
    """A value broke its key's rule; ``parse_config`` adds the file and key to the message."""


@dataclass(frozen=True)
class UnixdConfig:
    """hermit-unixd's effective configuration."""

    source: Path
    uri: str
    ca_path: Path
    # The file holding the API token unixd reads with; None: it logs in as anonymous.
    token_path: Path | None
    allowed_login_groups: tuple[str, ...]
    name_format: str
    default_shell: str
    home_prefix: Path
    home_attr: str
    home_alias: str
    use_etc_skel: bool
    cache_timeout: int
    connect_timeout: float
    request_timeout: float
    offline_mfa: str
    offline_failed_login_attempts: int
    offline_failed_login_delay: float
    socket_path: Path
    task_socket_path: Path
    cache_path: Path

    def render(self) -> str:
        """Every key with the value in force, as TOML (what ``--configtest`` prints)."""
        lines = [f"# effective configuration from {self.source}"]
        for key in KEYS:
            value = getattr(self, key)
            if value is None:
                # TOML has no null: an optional key that is not set is shown as a comment.
                lines.append(f"# {key} is not set")
                continue
            lines.append(f"{key} = {_toml_value(value)}")
        return "\n".join(lines) + "\n"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    # A TOML basic string (toml.io "String"): quote, backslash and control characters
    # escaped, everything else as it is, so the output reads back to the same values.
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    text = _CONTROL_RE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
    return f'"{text}"'


def load_config(path: Path) -> UnixdConfig:
    """Read and check ``path``, and the directory of its ``socket_path``.

    Errors: ``ConfigError`` naming the file (and the key, where one is at fault).
    """
    config = parse_config(read_toml(path), path)
    check_socket_directory(config)
    return config


def check_socket_directory(config: UnixdConfig) -> None:
    """Refuse a ``socket_path`` in a directory group or others may write to (module rules).

    Errors: ``ConfigError`` naming the file and the key.
    """
    try:
        mode = config.socket_path.parent.stat().st_mode
    except OSError:
        return  # not there (yet), or not ours to look at: binding or connecting will say
    if stat.S_ISDIR(mode) and mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise ConfigError(
            f"{config.source}: key 'socket_path' names a directory that group or others may "
            "write to: anyone who can write there could put a socket or files of their own in "
            "its place (use a directory only its owner, root or unixd's user, writes to)"
        )


def parse_config(raw: dict[str, object], path: Path) -> UnixdConfig:
    """Check the parsed TOML ``raw`` read from ``path``; see ``load_config``."""
    for key in raw:
        if key not in KEYS:
            raise ConfigError(f"{path}: unknown key {key!r} (known keys: {', '.join(KEYS)})")
    if "uri" not in raw:
        raise ConfigError(f"{path}: missing required key 'uri' (idmd's https origin)")
    values = {key: raw.get(key, DEFAULTS.get(key)) for key in KEYS}
    checked: dict[str, object] = {}
    for key, check in _CHECKS.items():
        try:
            checked[key] = check(values[key])
        except _Invalid as exc:
            raise ConfigError(f"{path}: key {key!r} {exc}") from None
    config = UnixdConfig(source=path, **checked)  # type: ignore[arg-type]
    if config.home_alias == config.home_attr:
        raise ConfigError(
            f"{path}: key 'home_alias' must differ from 'home_attr' (or be \"none\"): "
            "the alias would point at itself"
        )
    if config.request_timeout < config.connect_timeout:
        raise ConfigError(f"{path}: key 'request_timeout' must be at least 'connect_timeout'")
    return config


def _string(value: object) -> str:
    if not isinstance(value, str):
        raise _Invalid("must be a string")
    if not value:
        raise _Invalid("may not be empty")
    return value


def _uri(value: object) -> str:
    parts = urlsplit(_string(value))
    try:
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        parts = parts._replace(netloc="")
    if (
        parts.scheme != "https"
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
    ):
        raise _Invalid('must be an https URL without a path, e.g. "https://idm.example.com:8443"')
    return str(value).rstrip("/")


def _path(value: object) -> Path:
    text = _string(value)
    if not text.startswith("/"):
        raise _Invalid("must be an absolute path")
    if "\x00" in text:
        raise _Invalid("may not contain NUL")
    return Path(text)


def _optional_path(value: object) -> Path | None:
    return None if value is None else _path(value)


def _socket_path(value: object) -> Path:
    text = _string(value)
    if not _PLAIN_PATH_RE.fullmatch(text):
        raise _Invalid(
            "must be an absolute path without quotes, backslashes or control characters"
        )
    if len(text.encode("utf-8")) > MAX_SOCKET_PATH_BYTES:
        raise _Invalid(f"may have at most {MAX_SOCKET_PATH_BYTES} bytes (sun_path)")
    return Path(text)


def _choice(choices: tuple[str, ...]) -> Callable[[object], str]:
    def check(value: object) -> str:
        if value not in choices:
            raise _Invalid(f"must be one of {', '.join(choices)}")
        return str(value)

    return check


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Invalid("must be true or false")
    return value


def _cache_timeout(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid("must be an integer number of seconds")
    if not 0 <= value <= MAX_CACHE_TIMEOUT_SECONDS:
        raise _Invalid(f"must be between 0 and {MAX_CACHE_TIMEOUT_SECONDS} seconds")
    return value


def _timeout(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid("must be a number of seconds")
    if not (math.isfinite(value) and 0 < value <= MAX_TIMEOUT_SECONDS):
        raise _Invalid(f"must be more than 0 and at most {MAX_TIMEOUT_SECONDS:g} seconds")
    return float(value)


def _failed_login_attempts(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid("must be an integer")
    if not 1 <= value <= MAX_OFFLINE_FAILED_LOGIN_ATTEMPTS:
        raise _Invalid(f"must be between 1 and {MAX_OFFLINE_FAILED_LOGIN_ATTEMPTS}")
    return value


def _failed_login_delay(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Invalid("must be a number of seconds")
    if not (math.isfinite(value) and 0 < value <= MAX_OFFLINE_FAILED_LOGIN_DELAY_SECONDS):
        raise _Invalid("must be more than 0 and at most "
                       f"{MAX_OFFLINE_FAILED_LOGIN_DELAY_SECONDS} seconds")
    return float(value)


def _login_groups(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _Invalid("must be a list of group names, spns or uuids")
    groups = []
    for item in value:
        try:
            groups.append(validate_lookup_name(item, "allowed_login_groups").lower())
        except InvalidLookupName:
            raise _Invalid("must hold only group names, spns or uuids") from None
    return tuple(groups)


def _shell(value: object) -> str:
    return str(_path(value))


# In KEYS order, so the first wrong key in the documented order is the one reported.
_CHECKS: dict[str, _Check] = {
    "uri": _uri,
    "ca_path": _path,
    "token_path": _optional_path,
    "allowed_login_groups": _login_groups,
    "name_format": _choice(NAME_FORMATS),
    "default_shell": _shell,
    "home_prefix": _path,
    "home_attr": _choice(HOME_ATTRS),
    "home_alias": _choice(HOME_ALIASES),
    "use_etc_skel": _bool,
    "cache_timeout": _cache_timeout,
    "connect_timeout": _timeout,
    "request_timeout": _timeout,
    "offline_mfa": _choice(OFFLINE_MFA),
    "offline_failed_login_attempts": _failed_login_attempts,
    "offline_failed_login_delay": _failed_login_delay,
    "socket_path": _socket_path,
    "task_socket_path": _path,
    "cache_path": _path,
}
