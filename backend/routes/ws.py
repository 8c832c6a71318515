"""WS /ws: live painting. Latest wins: while a frame runs, newer frames replace the waiting one.

Protocol (the painter is written against it):
- client -> server text: {"type": "config", "model"?, "style_id"?, "seed"?, "style_code"?, "style_image"?
  (a style image, base64: the HTTP `style` file; the landscape renderer paints with the photo itself),
  "filter"?, "format"? ("png", the default, "jpeg" or "webp": how pictures come back)};
  answered by {"type": "config", "ok": true, "model": id, "paints_with_style_photo": bool} or {"type": "error", "message": ...}. Frames sent before any
  config use the defaults (default model, its first preset).
- client -> server binary: a full PNG (label map, sketch or photo); frames are numbered from 1.
- server -> client for each processed frame: the binary picture, then
  {"type": "result", "frame": n, "model_ms": x, "total_ms": y}. A progressive model (the landscape
  renderer) first sends coarser pictures, each followed by {"type": "progress", "frame": n, "level": k,
  "levels": L, "model_ms": x, "total_ms": y}; a newer frame that arrives meanwhile cancels the rest, so
  a cancelled frame ends on its last "progress" and never gets a "result". A bad frame gets
  {"type": "error", "frame": n, "status": 4xx, "message": ...} and the connection stays open.
- malformed JSON or an unknown message type closes with 1003, a message over the size limit with 1009,
  a missing or wrong API key with 1008.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import math
import time
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, ValidationError

from backend import pipeline
from backend.errors import ApiError
from backend.imaging import ImageLimits
from backend.landscape import RenderState
from backend.pipeline import StyleChoice, TranslateSpec
from backend.routes.deps import PictureFormat
from backend.security import client_address, key_is_valid, websocket_key

router = APIRouter()
log = logging.getLogger("backend.ws")

CLOSE_UNSUPPORTED_DATA = 1003
CLOSE_POLICY_VIOLATION = 1008
CLOSE_TOO_BIG = 1009


class PaintConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str
    model: str | None = None
    style_id: str | None = None
    seed: int | None = None
    style_code: list[float] | None = None
    style_image: str | None = None
    filter: str | None = None
    format: PictureFormat = "png"


class PaintSession:
    """One painter's connection: a receiver loop keeps only the newest frame; a processor loop renders it."""

    def __init__(self, websocket: WebSocket) -> None:
        state = websocket.app.state
        self.websocket = websocket
        self.engine = state.engine
        self.metrics = state.metrics
        self.rate_limiter = state.rate_limiter
        self.client = client_address(websocket)
        self.max_message_bytes = state.settings.max_ws_message_bytes
        self.limits = ImageLimits(max_bytes=state.settings.max_upload_bytes, max_side=state.settings.max_image_side)
        self.spec: TranslateSpec | None = None
        self.picture_format: PictureFormat = "png"
        self.pending: tuple[int, bytes] | None = None
        self.frame_waiting = asyncio.Event()
        self.send_lock = asyncio.Lock()
        self.frames_received = 0
        self.frames_answered = 0
        self.render_state = RenderState()  # the landscape renderer's last picture, for warm starts

    async def run(self) -> None:
        processor = asyncio.create_task(self._process_frames())
        try:
            await self._receive_messages()
        finally:
            processor.cancel()
            try:
                await processor
            except asyncio.CancelledError:
                pass
            except Exception as exc:  # a send to a client that just left; nothing more to do for it
                log.debug("websocket processor ended: %r", exc)
            log.info("websocket closed", extra={"fields": {"route": "/ws", "client": self.client,
                                                           "frames_received": self.frames_received,
                                                           "frames_answered": self.frames_answered}})

    async def _receive_messages(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            data, text = message.get("bytes"), message.get("text")
            size = len(data) if data is not None else len(text.encode()) if text is not None else 0
            if size > self.max_message_bytes:
                await self._close(CLOSE_TOO_BIG, f"message of {size} bytes is over {self.max_message_bytes}")
                return
            if data is not None:
                self.frames_received += 1
                if self.pending is not None:
                    self.metrics.count_ws_frame("superseded")
                self.pending = (self.frames_received, data)
                self.frame_waiting.set()
            elif not await self._handle_text(text or ""):
                return

    async def _handle_text(self, text: str) -> bool:
        """Apply a config message; False when the connection was closed for a protocol violation."""
        try:
            message = json.loads(text)
        except ValueError:
            await self._close(CLOSE_UNSUPPORTED_DATA, "malformed JSON")
            return False
        kind = message.get("type") if isinstance(message, dict) else None
        if kind != "config":
            await self._close(CLOSE_UNSUPPORTED_DATA, f"unknown message type {str(kind)[:40]!r}")
            return False
        try:
            config = PaintConfig.model_validate(message)
            choice = StyleChoice(style_id=config.style_id, style_code=config.style_code, seed=config.seed,
                                 has_image=config.style_image is not None)
            spec = pipeline.resolve_translate(self.engine, config.model, choice, config.filter)
            if config.style_image is not None:
                spec, _ = await run_in_threadpool(pipeline.with_style_image, self.engine, spec,
                                                  _base64_image(config.style_image), self.limits, "style_image")
            self.spec = spec
            self.picture_format = config.format
        except ValidationError as exc:
            await self._send_json({"type": "error", "status": 422, "message": f"bad config: {_first_error(exc)}"})
            return True
        except ApiError as exc:
            await self._send_json({"type": "error", "status": exc.status, "message": exc.message})
            return True
        await self._send_json({"type": "config", "ok": True, "model": self.spec.model.id,
                               "paints_with_style_photo": self.spec.photo is not None})
        return True

    async def _process_frames(self) -> None:
        while True:
            await self.frame_waiting.wait()
            self.frame_waiting.clear()
            frame, data = self.pending
            self.pending = None
            await self._render(frame, data)

    async def _render(self, frame: int, data: bytes) -> None:
        start = time.perf_counter()
        wait = self.rate_limiter.acquire(self.client)
        if wait > 0:
            self.metrics.count_ws_frame("rate_limited")
            await self._send_json({"type": "error", "frame": frame, "status": 429, "retry_after": math.ceil(wait),
                                   "message": f"rate limit exceeded; retry in {math.ceil(wait)} s"})
            return
        try:
            spec = self.spec or pipeline.resolve_translate(self.engine, None, StyleChoice(), None)
            frames = pipeline.translate_frames(self.engine, spec, data, self.limits, None, self.picture_format,
                                               self.render_state)
            while (rendered := await run_in_threadpool(next, frames, None)) is not None:
                finished = rendered.level == rendered.levels
                message = {"type": "result" if finished else "progress", "frame": frame,
                           "model_ms": round(rendered.model_ms, 2),
                           "total_ms": round((time.perf_counter() - start) * 1000, 2)}
                if not finished:
                    message |= {"level": rendered.level, "levels": rendered.levels}
                async with self.send_lock:
                    await self.websocket.send_bytes(rendered.data)
                    await self.websocket.send_text(json.dumps(message))
                if finished:
                    # Counted before any further await: the painter may close as soon as it has the picture.
                    frames.close()
                    self.frames_answered += 1
                    self.metrics.count_ws_frame("answered")
                    return
                if self.pending is not None:  # a newer stroke: the finer levels would be stale
                    frames.close()
                    self.metrics.count_ws_frame("cancelled")
                    return
        except ApiError as exc:
            self.metrics.count_ws_frame(f"error_{exc.status}")
            await self._send_json({"type": "error", "frame": frame, "status": exc.status, "message": exc.message})
            return
        except Exception:  # a bug must cost this frame only, never the painter's connection
            log.exception("frame %d failed", frame)
            self.metrics.count_ws_frame("error_500")
            await self._send_json({"type": "error", "frame": frame, "status": 500, "message": "internal error"})

    async def _send_json(self, payload: dict[str, Any]) -> None:
        async with self.send_lock:
            await self.websocket.send_text(json.dumps(payload))

    async def _close(self, code: int, reason: str) -> None:
        log.info("websocket closed by server", extra={"fields": {"route": "/ws", "client": self.client,
                                                                 "code": code, "reason": reason}})
        async with self.send_lock:
            await self.websocket.close(code=code, reason=reason)


def _base64_image(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(422, "style_image: not base64 (send the image file's bytes, base64-encoded)") from None


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error.get("loc", ()))
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid"))


@router.websocket("/ws")
async def paint(websocket: WebSocket) -> None:
    """Live painting; see the module docstring for the protocol."""
    if not key_is_valid(websocket.app.state.settings, websocket_key(websocket)):
        await websocket.close(code=CLOSE_POLICY_VIOLATION, reason="missing or wrong API key")
        return
    await websocket.accept()
    try:
        await PaintSession(websocket).run()
    except WebSocketDisconnect:
        pass
