"""Pure ASGI middleware: the headers that make the painter page cross-origin isolated, and the service
worker's headers.

Cross-origin isolation (COOP + COEP) is what lets the page use SharedArrayBuffer, so onnxruntime-web runs
its WebAssembly on several threads; CORP keeps this server's responses from being embedded elsewhere.
WebSocket connections pass through untouched.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
}
SERVICE_WORKER_PATH = "/sw.js"
# The worker may control the whole site, and a new version of it is picked up on the next visit.
SERVICE_WORKER_HEADERS = {"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"}


class CrossOriginIsolationMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"].removeprefix(scope.get("root_path", ""))
        extra = {**ISOLATION_HEADERS, **(SERVICE_WORKER_HEADERS if path == SERVICE_WORKER_PATH else {})}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
