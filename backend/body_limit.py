"""Pure ASGI middleware capping the HTTP request body, answering 413 as JSON like every other error.

(FastAPI's own `max_body_size` answers a too-large Content-Length with plain text.)
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.errors import error_json


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    def _too_large(self) -> str:
        return f"request body is over the limit of {self.max_body_bytes} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            # Refuse before reading a byte; the client learns at once instead of after its upload.
            await error_json(413, self._too_large())(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    # Raised inside body parsing: FastAPI passes HTTPException through to its JSON handler.
                    raise HTTPException(413, self._too_large())
            return message

        await self.app(scope, counting_receive, send)
