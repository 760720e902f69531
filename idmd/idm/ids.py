"""The one generator of the random ids idmd hands out: sessions, API tokens, credential update
and auth sessions.

It does not decide how long an id is (each caller names its byte count) nor how an id is
stored or compared (the records that hold them do).

Rules:
- An id is ``secrets.token_urlsafe(nbytes)``: URL-safe base64 without padding, so it travels
  in urls, headers, cookies and JSON unescaped.
- An id never begins with ``-``: a command line would take it for an option (``hermit session
  destroy -X…``). A draw that begins with ``-`` (1 in 64) is thrown away and drawn again, so
  the ids left are uniform over the others; that costs log2(64/63), about 0.02 bits.
"""

from __future__ import annotations

import secrets


def new_id(nbytes: int) -> str:
    """A fresh random id of ``nbytes`` random bytes that does not begin with ``-``."""
    while True:
        drawn = secrets.token_urlsafe(nbytes)
        if not drawn.startswith("-"):
            return drawn
