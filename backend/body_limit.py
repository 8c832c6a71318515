"""Pure ASGI middleware capping the HTTP request body, answering 413 as JSON like every other error.

(FastAPI's own `max_body_size` answers a too-large Content-Length with plain text.)
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.errors import error_json
from backend.settings import MEGABYTE


def request_limit(max_upload_bytes: int) -> int:
    """The largest request body: room for an image and a style image at the upload limit, plus 1 MiB for
    the other fields and the multipart framing."""
    return 2 * max_upload_bytes + MEGABYTE


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_upload_bytes: int) -> None:
        self.app = app
        self.max_upload_bytes = max_upload_bytes
        self.max_body_bytes = request_limit(max_upload_bytes)

    def _too_large(self) -> str:
        return (f"request body is too large: each file may be up to MAX_UPLOAD_BYTES ({self.max_upload_bytes} "
                f"bytes), and the whole request up to 2 x MAX_UPLOAD_BYTES + 1 MiB ({self.max_body_bytes} bytes)")

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
