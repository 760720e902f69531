"""The guard of every POST of the web door: a CSRF token bound to the browser's session, and an
``Origin`` equal to idmd's ``origin``.

It decides whether a form may act; it renders nothing (the pages answer a refusal with the
403 page) and reads no body (``forms.py`` does).

Rules (DESIGN.md "Browser session"; docs/web.md "CSRF"):
- A token is ``HMAC-SHA256(key, binding)`` in base64url, where the binding is the browser's
  session (its bearer token) once signed in, else the ``__Host-hermit-browser`` cookie. A
  token of another session, of another browser or of no binding is refused; so is one made
  with another key.
- The key is random per process: a restart makes open forms stale (the 403 page says to
  reload), and nothing about it is ever stored or logged.
- ``Origin`` must equal ``origin`` byte for byte; a missing ``Origin`` (or ``null``) is
  refused, as every browser hermit supports sends it on a POST.
- Both are compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from hermit_common.secret import Secret

KEY_BYTES = 32


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def new_browser_id() -> str:
    """A fresh value for the ``__Host-hermit-browser`` cookie."""
    return secrets.token_urlsafe(32)


class CsrfGuard:
    """Makes and checks the tokens of one process (its key is made here and kept private)."""

    def __init__(self, origin: str) -> None:
        self._key = secrets.token_bytes(KEY_BYTES)
        self.origin = origin

    def __repr__(self) -> str:
        return f"CsrfGuard(origin={self.origin!r})"

    def token(self, binding: Secret) -> str:
        """The token of the forms of a page shown to ``binding`` (see the module doc)."""
        mac = hmac.new(self._key, binding.reveal().encode("utf-8"), hashlib.sha256)
        return _b64(mac.digest())

    def allows(self, binding: Secret | None, token: str | None, origin: str | None) -> bool:
        """Whether a POST carrying ``token`` with header ``origin`` may act for ``binding``."""
        origin_ok = origin is not None and hmac.compare_digest(
            origin.encode("utf-8", "replace"), self.origin.encode("utf-8")
        )
        if binding is None or token is None:
            return False
        token_ok = hmac.compare_digest(
            token.encode("utf-8", "replace"), self.token(binding).encode("ascii")
        )
        return origin_ok and token_ok
