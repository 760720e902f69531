"""Reading hermit's TOML configuration files: the server's and the host daemons' alike.

This module reads a file into a TOML document and nothing else; each daemon checks its own
keys (``idmd/config.py``, ``unixd/config.py``). Errors name the file, never a value from it.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from hermit_common.errors import HermitError


class ConfigError(HermitError):
    """The configuration file is missing, unreadable or wrong; the message says where."""

    code = "invalid_config"


def read_toml(path: Path) -> dict[str, object]:
    """The TOML document at ``path``.

    Errors: ``ConfigError`` naming the file when it is missing, unreadable or not TOML.
    """
    try:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such configuration file") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return raw
