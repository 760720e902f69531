"""One route per path, dispatching on the method, so a wrong method gets an honest 405.

Starlette answers a path with several single-method routes from the first one that matches,
so its ``Allow`` header would name only that route's methods; RFC 9110 section 15.5.6 asks
for every method the resource supports. HEAD is not offered: no client of the API needs it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

Handler = Callable[[Request], Awaitable[Response]]


class _Resource:
    """An ASGI app (so Starlette routes every method to it) that picks the method's handler."""

    def __init__(self, handlers: dict[str, Handler]) -> None:
        self._handlers = handlers
        self._allow = ", ".join(sorted(handlers))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        handler = self._handlers.get(request.method)
        if handler is None:
            raise HTTPException(405, headers={"Allow": self._allow})
        response = await handler(request)
        await response(scope, receive, send)


def resource(path: str, **handlers: Handler) -> Route:
    """A route for ``path`` with one handler per method (``GET=..., POST=...``)."""
    by_method = {method.upper(): handler for method, handler in handlers.items()}
    return Route(path, _Resource(by_method), name=path)
