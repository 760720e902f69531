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

Handler = Callable[[Request], Awaitable[Response]]


def resource(path: str, **handlers: Handler) -> Route:
    """A route for ``path`` with one handler per method (``GET=..., POST=...``)."""
    by_method = {method.upper(): handler for method, handler in handlers.items()}
    allow = ", ".join(sorted(by_method))

    async def dispatch(request: Request) -> Response:
        handler = by_method.get(request.method)
        if handler is None:
            raise HTTPException(405, headers={"Allow": allow})
        return await handler(request)

    return Route(path, dispatch, name=path)
