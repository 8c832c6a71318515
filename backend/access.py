"""Pure ASGI middleware: one structured log line and one metrics count per HTTP request."""

from __future__ import annotations

import logging
import time

from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.metrics import Metrics

log = logging.getLogger("backend.access")
UNMATCHED_ROUTE = "<unmatched>"


def route_template(scope: Scope) -> str:
    """The matched route's path template, so metrics do not grow with every distinct URL."""
    route = scope.get("route")
    if isinstance(route, Mount):
        return f"{route.path}/{{path}}"
    return getattr(route, "path", None) or UNMATCHED_ROUTE


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # what the client sees if the app dies before answering

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            route = route_template(scope)
            self.metrics.count_request(route, scope["method"], status)
            client = scope.get("client")
            fields = {"route": route, "method": scope["method"], "status": status,
                      "ms": round((time.perf_counter() - start) * 1000, 2),
                      "model": scope.get("state", {}).get("model_id"),
                      "client": client[0] if client else None}
            log.info("request", extra={"fields": fields})
