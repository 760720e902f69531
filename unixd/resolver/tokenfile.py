"""Reading the API token of ``token_path``: the one file hermit-unixd holds a credential in.

This module opens, checks and reads the file; it does not decide when to read it (the
provider reads it at start and once more after idmd refuses the token) and never logs or
shows the token.

Rules (docs/unixd.md "Reading with an API token"):
- The file must be a regular file (a symlink is refused: the check must be of the file read,
  and a link may be swapped after it); opened without following links and without blocking
  (a FIFO cannot stall start-up), checked on the open descriptor (``fstat``), so what is
  checked is what is read.
- Not writable by group or others (anyone who could write it could make unixd read as
  another account), and not readable by others (it is a credential: like OpenSSH with a
  private key).
- It holds one token: a JWS compact serialisation (three base64url parts joined by dots),
  optionally surrounded by whitespace, at most ``MAX_TOKEN_FILE_BYTES``.
- Errors name the key and the file, never the content.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from pathlib import Path

from hermit_common.errors import HermitError

# An ES256 API token is about 300 bytes; a page leaves room for long account uuids and
# labels, and a file larger than that is not a token.
MAX_TOKEN_FILE_BYTES = 4096
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class TokenFileError(HermitError):
    """``token_path`` cannot be used: missing, not a plain file, too open, or no token."""

    code = "config_error"


def read_token_file(path: Path) -> str:
    """The API token in ``path``. Errors: ``TokenFileError`` (see the module rules)."""
    what = f"token_path {path}"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise TokenFileError(f"{what}: no such file") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise TokenFileError(f"{what}: is a symlink; name the file itself") from None
        raise TokenFileError(f"{what}: cannot open it: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise TokenFileError(f"{what}: is not a regular file")
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise TokenFileError(f"{what}: is writable by group or others (chmod go-w)")
        if info.st_mode & stat.S_IROTH:
            raise TokenFileError(f"{what}: is readable by others (chmod o-r): it holds a token")
        data = os.read(fd, MAX_TOKEN_FILE_BYTES + 1)
    except OSError as exc:
        raise TokenFileError(f"{what}: cannot read it: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_TOKEN_FILE_BYTES:
        raise TokenFileError(f"{what}: is larger than {MAX_TOKEN_FILE_BYTES} bytes")
    text = data.decode("ascii", errors="replace").strip()
    if not _TOKEN_RE.fullmatch(text):
        raise TokenFileError(
            f"{what}: does not hold one API token (only the VALUE that `hermit "
            "service-account api-token create` prints as `token: VALUE`)"
        )
    return text
