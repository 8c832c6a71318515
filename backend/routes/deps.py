"""Dependencies shared by the routers: the engine, the upload limits and the protected-route guards."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, UploadFile
from starlette.requests import HTTPConnection

from backend.engine import InferenceEngine
from backend.errors import error_responses
from backend.imaging import PICTURE_FORMATS, ImageLimits
from backend.security import rate_limited, require_api_key
from backend.settings import Settings, get_settings


def get_engine(connection: HTTPConnection) -> InferenceEngine:
    return connection.app.state.engine


def get_limits(settings: Annotated[Settings, Depends(get_settings)]) -> ImageLimits:
    return ImageLimits(max_bytes=settings.max_upload_bytes, max_side=settings.max_image_side)


def note_model(connection: HTTPConnection, model_id: str) -> None:
    """Record the model serving this request for the access log."""
    connection.scope.setdefault("state", {})["model_id"] = model_id


async def read_upload(upload: UploadFile, limits: ImageLimits) -> bytes:
    """The upload's bytes, reading at most one byte past the limit so the size check can still fire."""
    return await upload.read(limits.max_bytes + 1)


EngineDep = Annotated[InferenceEngine, Depends(get_engine)]
LimitsDep = Annotated[ImageLimits, Depends(get_limits)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
# The expensive routes: API key first (cheap, tells the client what is wrong), then the rate limit.
PROTECTED_WORK = [Depends(require_api_key), Depends(rate_limited)]
PNG_RESPONSE = {200: {"content": {"image/png": {}}, "description": "A PNG image."}}
PictureFormat = Literal["png", "jpeg", "webp"]  # imaging.PICTURE_FORMATS
PICTURE_RESPONSE = {200: {"content": {media_type: {} for media_type in PICTURE_FORMATS.values()},
                          "description": "The picture, in the requested format (PNG by default)."}}
# Every status a model route can answer; 401 and 429 stay in the document only while a key / rate limit is set.
MODEL_ROUTE_ERRORS = error_responses(400, 401, 404, 413, 415, 422, 429, 500, 503)
