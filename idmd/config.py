"""server.toml: reading, checking and showing hermit-idmd's configuration.

This module turns a TOML file into one validated, typed ``ServerConfig``; it opens nothing
else (no sockets, no database, no certificates). Implements DESIGN.md "Entry points": the keys
are exactly ``bind_address``, ``tls_chain``, ``tls_key``, ``db_path``, ``domain``, ``origin``,
``admin_socket_path`` and ``log_level``, plus the scheduled backups' ``backup_dir``,
``backup_interval``, ``backup_keep`` and ``backup_compression`` (docs/backups.md).

Rules:
- The file is read by ``hermit_common.configfile`` (shared with hermit-unixd).
- An unknown key, a value of the wrong type or a malformed value is a ``ConfigError`` whose
  one-line message names the key and the file. Values are never echoed in errors: the file is
  data only, but nothing in it should leak into a log line by accident.
- ``domain`` and ``origin`` have no default: the spn suffix and the URL clients use are the
  site's choice, and changing the domain later renames every spn.
- A relative path is taken relative to the directory of the config file, so a config and its
  files can be moved together.
- ``bind_address`` is an IP literal and a port; there is no plaintext listener to configure.
- Scheduled backups are off unless ``backup_dir`` is set; ``backup_interval`` (seconds) and
  ``backup_keep`` are TOML integers, every other value is a string.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from hermit_common.configfile import ConfigError, read_toml
from hermit_common.logsetup import LEVELS
from idmd.backup.format import COMPRESSIONS, Compression

DEFAULT_CONFIG_PATH = Path("/etc/hermit/server.toml")

# Defaults for the packaged install (packaging/hermit-idmd.service): state under
# StateDirectory=hermit-idmd, the admin socket under RuntimeDirectory=hermit-idmd.
DEFAULTS: dict[str, str] = {
    "bind_address": "127.0.0.1:8443",
    "tls_chain": "/var/lib/hermit-idmd/tls/chain.pem",
    "tls_key": "/var/lib/hermit-idmd/tls/key.pem",
    "db_path": "/var/lib/hermit-idmd/hermit.db",
    "admin_socket_path": "/run/hermit-idmd/admin.sock",
    "log_level": "info",
}
REQUIRED = ("domain", "origin")
STRING_KEYS = (
    "bind_address", "tls_chain", "tls_key", "db_path", "domain", "origin",
    "admin_socket_path", "log_level",
)
BACKUP_KEYS = ("backup_dir", "backup_interval", "backup_keep", "backup_compression")
KEYS = STRING_KEYS + BACKUP_KEYS
PATH_KEYS = ("tls_chain", "tls_key", "db_path", "admin_socket_path")
# Exactly the levels logsetup can set, in its order (debug first).
LOG_LEVELS = tuple(LEVELS)

# Scheduled backups: daily, a week of them, gzip (docs/backups.md has the figures). The
# interval may be as short as a second (tests) and as long as a year; keeping 0 would delete
# every backup as soon as it is written, and 1,000 daily backups are nearly three years.
DEFAULT_BACKUP_INTERVAL = 24 * 60 * 60
BACKUP_INTERVAL_RANGE = (1, 366 * 24 * 60 * 60)
DEFAULT_BACKUP_KEEP = 7
BACKUP_KEEP_RANGE = (1, 1000)
DEFAULT_BACKUP_COMPRESSION: Compression = "gzip"

# A DNS name of lowercase labels (RFC 1123), as the spn suffix: letters, digits, hyphens.
_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN_RE = re.compile(rf"(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*")


@dataclass(frozen=True)
class ServerConfig:
    """hermit-idmd's effective configuration; paths are absolute."""

    source: Path
    bind_host: str
    bind_port: int
    tls_chain: Path
    tls_key: Path
    db_path: Path
    domain: str
    origin: str
    admin_socket_path: Path
    log_level: str
    backup_dir: Path | None = None  # None: no scheduled backups
    backup_interval: int = DEFAULT_BACKUP_INTERVAL
    backup_keep: int = DEFAULT_BACKUP_KEEP
    backup_compression: Compression = DEFAULT_BACKUP_COMPRESSION

    @property
    def bind_address(self) -> str:
        return format_host_port(self.bind_host, self.bind_port)

    @property
    def ca_path(self) -> Path:
        """Where ``cert-generate`` writes the CA that clients pin: beside ``tls_chain``."""
        return self.tls_chain.parent / "ca.pem"

    @property
    def origin_host(self) -> str:
        host = urlsplit(self.origin).hostname
        assert host is not None  # Invariant: checked by load_config.
        return host

    def effective_values(self) -> list[tuple[str, str | int]]:
        """Every key with the value in force, in the documented order (no secrets exist here)."""
        return [
            ("bind_address", self.bind_address),
            ("tls_chain", str(self.tls_chain)),
            ("tls_key", str(self.tls_key)),
            ("db_path", str(self.db_path)),
            ("domain", self.domain),
            ("origin", self.origin),
            ("admin_socket_path", str(self.admin_socket_path)),
            ("log_level", self.log_level),
            ("backup_dir", str(self.backup_dir or "")),
            ("backup_interval", self.backup_interval),
            ("backup_keep", self.backup_keep),
            ("backup_compression", self.backup_compression),
        ]


def format_host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def load_config(path: Path) -> ServerConfig:
    """Read and check ``path``.

    Errors: ``ConfigError`` naming the file (and the key, where one is at fault).
    """
    return parse_config(read_toml(path), path)


def parse_config(raw: dict[str, object], path: Path) -> ServerConfig:
    """Check the parsed TOML ``raw`` read from ``path``; see ``load_config``."""
    for key in raw:
        if key not in KEYS:
            raise ConfigError(f"{path}: unknown key {key!r} (known keys: {', '.join(KEYS)})")
    values: dict[str, str] = {}
    for key in STRING_KEYS:
        value = raw.get(key, DEFAULTS.get(key))
        if value is None:
            raise ConfigError(f"{path}: missing required key {key!r}")
        if not isinstance(value, str):
            raise ConfigError(f"{path}: key {key!r} must be a string")
        if not value:
            raise ConfigError(f"{path}: key {key!r} may not be empty")
        values[key] = value

    base = path.resolve().parent
    paths = {key: base / values[key] for key in PATH_KEYS}  # an absolute value stays as it is
    host, port = _parse_bind_address(values["bind_address"], path)
    return ServerConfig(
        source=path,
        bind_host=host,
        bind_port=port,
        tls_chain=paths["tls_chain"],
        tls_key=paths["tls_key"],
        db_path=paths["db_path"],
        domain=_parse_domain(values["domain"], path),
        origin=_parse_origin(values["origin"], path),
        admin_socket_path=paths["admin_socket_path"],
        log_level=_parse_log_level(values["log_level"], path),
        backup_dir=_parse_backup_dir(raw.get("backup_dir", ""), base, path),
        backup_interval=_parse_int(
            raw, "backup_interval", DEFAULT_BACKUP_INTERVAL, BACKUP_INTERVAL_RANGE, path
        ),
        backup_keep=_parse_int(raw, "backup_keep", DEFAULT_BACKUP_KEEP, BACKUP_KEEP_RANGE, path),
        backup_compression=_parse_compression(
            raw.get("backup_compression", DEFAULT_BACKUP_COMPRESSION), path
        ),
    )


def _parse_backup_dir(value: object, base: Path, path: Path) -> Path | None:
    if not isinstance(value, str):
        raise ConfigError(f"{path}: key 'backup_dir' must be a string")
    return base / value if value else None


def _parse_int(
    raw: dict[str, object], key: str, default: int, bounds: tuple[int, int], path: Path
) -> int:
    value = raw.get(key, default)
    low, high = bounds
    # bool is an int in Python; `backup_keep = true` is still a mistake.
    if type(value) is not int or not low <= value <= high:
        raise ConfigError(f"{path}: key {key!r} must be an integer from {low} to {high}")
    return value


def _parse_compression(value: object, path: Path) -> Compression:
    if value in COMPRESSIONS:
        return value
    raise ConfigError(
        f"{path}: key 'backup_compression' must be one of {', '.join(COMPRESSIONS)}"
    )


def _parse_bind_address(text: str, path: Path) -> tuple[str, int]:
    host, sep, port_text = text.rpartition(":")
    bracketed = host.startswith("[") and host.endswith("]")
    if bracketed:
        host = host[1:-1]
    valid = (
        bool(sep)
        and port_text.isdigit()
        and int(port_text) <= 65535
        and _is_ip(host)
        and (bracketed or ":" not in host)
    )
    if not valid:
        raise ConfigError(
            f"{path}: key 'bind_address' must be IP:PORT, e.g. \"127.0.0.1:8443\" or "
            f"\"[::1]:8443\""
        )
    return host, int(port_text)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _parse_domain(text: str, path: Path) -> str:
    if not _DOMAIN_RE.fullmatch(text):
        raise ConfigError(f"{path}: key 'domain' must be a lowercase DNS name, e.g. example.com")
    return text


def _parse_origin(text: str, path: Path) -> str:
    if not _is_https_origin(text):
        raise ConfigError(
            f"{path}: key 'origin' must be an https URL without a path, "
            f"e.g. \"https://idm.example.com:8443\""
        )
    return text.rstrip("/")


def _is_https_origin(text: str) -> bool:
    parts = urlsplit(text)
    try:
        parts.port  # noqa: B018 - only for the ValueError a malformed port raises
    except ValueError:
        return False
    return (
        parts.scheme == "https"
        and bool(parts.hostname)
        and parts.path in ("", "/")
        and not parts.query
        and not parts.fragment
        and parts.username is None
    )


def _parse_log_level(text: str, path: Path) -> str:
    level = text.lower()
    if level not in LOG_LEVELS:
        raise ConfigError(f"{path}: key 'log_level' must be one of {', '.join(LOG_LEVELS)}")
    return level
