"""The painter's static files, mounted at "/" beneath the API.

A mount at "/" matches every path, so Starlette would hand it a request that an API route refuses only for its
method (`GET /translate`) and the files would answer 404. Here such a request gets the route's own answer:
405 with `Allow` listing the methods the path takes; the files themselves take GET and HEAD only.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from starlette.routing import BaseRoute, Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from backend.errors import error_json

FILE_METHODS = ("GET", "HEAD")
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")


def allowed_methods(routes: Sequence[BaseRoute], scope: Scope) -> list[str]:
    """The methods some route (not a mount) takes on this path: empty when no route has the path.

    Asked of each route's own `matches`, method by method, so routers included in others count too."""
    return [method for method in HTTP_METHODS
            if any(not isinstance(route, Mount) and route.matches({**scope, "method": method})[0] == Match.FULL
                   for route in routes)]


class PageFiles:
    def __init__(self, routes: Sequence[BaseRoute], directory: Path) -> None:
        self.routes = routes
        self.files = StaticFiles(directory=directory)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        allowed = allowed_methods(self.routes, scope)
        if not allowed and scope["method"] not in FILE_METHODS:
            allowed = list(FILE_METHODS)
        if allowed:
            response = error_json(405, f"method {scope['method']} is not allowed here; use {' or '.join(allowed)}",
                                  {"Allow": ", ".join(allowed)})
            await response(scope, receive, send)
            return
        await self.files(scope, receive, send)
