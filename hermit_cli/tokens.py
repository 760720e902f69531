"""The token store: one file per (server url, account name) under ``$XDG_CACHE_HOME/hermit/``.

It does not log in or out (``commands/session.py`` does) and never prints a token.

Rules:
- the directory is 0700 and each file 0600, owned by the user; a file is written to a
  private temporary name and renamed, so a reader never sees half a token and the token is
  never readable by others, not even for a moment;
- files are named by a hash of url and name, so several servers and several accounts on one
  server live side by side; the file holds ``{"url", "name", "token"}`` so they can be listed;
- urls are stored as ``validate_url`` leaves them and names folded to lowercase, matching how
  the server folds names.

Implements the XDG Base Directory spec's cache directory (default ``~/.cache``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from hermit_common.secret import Secret

DIR_MODE = 0o700
FILE_MODE = 0o600


def default_root(env: Mapping[str, str]) -> Path:
    """``$XDG_CACHE_HOME/hermit``, or ``~/.cache/hermit`` when it is unset or not absolute."""
    cache = env.get("XDG_CACHE_HOME", "")
    # XDG: "If an implementation encounters a relative path in any of these variables it
    # should consider the path invalid and ignore it."
    base = Path(cache) if cache and os.path.isabs(cache) else Path.home() / ".cache"
    return base / "hermit"


@dataclass(frozen=True)
class StoredToken:
    url: str
    name: str
    token: Secret


class TokenStore:
    """Tokens kept between runs of the CLI, keyed by (url, name)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, url: str, name: str) -> Path:
        digest = hashlib.sha256(f"{url}\0{name.lower()}".encode()).hexdigest()[:32]
        return self.root / f"token-{digest}.json"

    def save(self, url: str, name: str, token: Secret) -> Path:
        """Store ``token``, replacing any earlier one for (url, name)."""
        self._ensure_dir()
        path = self.path_for(url, name)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        data = json.dumps({"url": url, "name": name.lower(), "token": token.reveal()})
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(data)
            os.replace(tmp, path)
        finally:
            # After the rename there is nothing left; after a failure, no stray copy stays.
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        return path

    def load(self, url: str, name: str) -> StoredToken | None:
        return self._read(self.path_for(url, name))

    def remove(self, url: str, name: str) -> bool:
        """Forget the token for (url, name); ``False`` when there was none."""
        try:
            self.path_for(url, name).unlink()
        except FileNotFoundError:
            return False
        return True

    def for_url(self, url: str) -> list[StoredToken]:
        """Every stored token for ``url``, sorted by name."""
        if not self.root.is_dir():
            return []
        found = (self._read(path) for path in sorted(self.root.glob("token-*.json")))
        return sorted(
            (stored for stored in found if stored is not None and stored.url == url),
            key=lambda stored: stored.name,
        )

    def _ensure_dir(self) -> None:
        self.root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        # mkdir's mode is masked by the umask and ignored when the directory exists already.
        os.chmod(self.root, DIR_MODE)

    def _read(self, path: Path) -> StoredToken | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            # A damaged file is treated as no login: the user logs in again and it is replaced.
            return None
        if not isinstance(data, dict):
            return None
        url, name, token = data.get("url"), data.get("name"), data.get("token")
        if not (isinstance(url, str) and isinstance(name, str) and isinstance(token, str)):
            return None
        return StoredToken(url, name, Secret(token))
