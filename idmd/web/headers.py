"""The security headers of every idmd answer: one ASGI middleware around the whole server.

It adds headers and changes nothing else; it wraps idmd's outermost layer (the web door and
the REST API's whole stack, its 500 answers included), so no route can forget them.

Rules (issue 11, docs/web.md "Headers"):
- Every answer: ``Strict-Transport-Security`` (idmd serves TLS only; a browser that once
  reached it never tries plain HTTP for its host again) and ``X-Content-Type-Options: nosniff``
  (a script or style is run only when served as one).
- HTML answers (``Content-Type: text/html``) also: the ``Content-Security-Policy`` below (no
  inline script or style, nothing from another origin, never framed, forms post only to
  idmd), ``Referrer-Policy: same-origin`` (``no-referrer`` would make Chromium send
  ``Origin: null`` on a form POST, which the Origin check refuses) and
  ``Cache-Control: no-store`` (pages show one-time secrets: TOTP secrets, backup codes).
- Every API answer (``/v1/``) but the OpenAPI document: ``Cache-Control: no-store``. They are
  the caller's own (bearer or session), and many carry a secret once: tokens and auth session
  ids (``/v1/auth/``), API tokens, reset tokens, generated passwords, TOTP secrets, backup
  codes. One rule for the whole API, so a new route that answers a secret cannot forget it.
- A header the answer already set is replaced, never doubled.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Two years, the preload list's minimum; not includeSubDomains: the domain may hold other
# services that hermit does not speak for.
HSTS = "max-age=63072000"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
NO_STORE = "no-store"

_EVERY = {b"strict-transport-security": HSTS.encode(), b"x-content-type-options": b"nosniff"}
_HTML = {
    b"content-security-policy": CSP.encode(),
    b"referrer-policy": b"same-origin",
    b"cache-control": NO_STORE.encode(),
}
_API = {b"cache-control": NO_STORE.encode()}
API_PREFIX = "/v1/"
# Public and the same for everyone: a client may keep it.
_CACHEABLE = frozenset({"/v1/openapi.json"})


def _merge(headers: list[tuple[bytes, bytes]], extra: dict[bytes, bytes]) -> None:
    headers[:] = [(k, v) for k, v in headers if k.lower() not in extra]
    headers.extend(extra.items())


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(
        k.lower() == b"content-type" and v.lower().startswith(b"text/html") for k, v in headers
    )


class SecurityHeadersMiddleware:
    """Adds the headers of the module doc to every HTTP answer of ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        api = path.startswith(API_PREFIX) and path not in _CACHEABLE

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                extra = dict(_EVERY)
                if _is_html(headers):
                    extra.update(_HTML)
                elif api:
                    extra.update(_API)
                _merge(headers, extra)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
