"""POST /sketch: a photo -> a black-on-white line drawing, to start a sketch from a photo."""

from __future__ import annotations

import importlib
from typing import Annotated

import numpy as np
from fastapi import APIRouter, File, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from PIL import Image

from backend.errors import ApiError
from backend.imaging import ImageLimits, encode_png, open_image, output_size, to_rgb
from backend.routes.deps import PNG_RESPONSE, PROTECTED_WORK, LimitsDep, read_upload

router = APIRouter(tags=["generate"])
# Line widths depend on resolution; drawings are made at most this large, like the painter's canvas.
SKETCH_MAX_SIDE = 512


def _extract_sketch():
    """backend.sketch.extract_sketch, imported on first use so the server runs without it."""
    try:
        return importlib.import_module("backend.sketch").extract_sketch
    except (ImportError, AttributeError) as exc:
        raise ApiError(503, f"sketch extraction is not available: {exc}") from None


def photo_to_sketch(data: bytes, limits: ImageLimits) -> bytes:
    extract_sketch = _extract_sketch()
    rgb = to_rgb(open_image(data, limits))
    if max(rgb.size) > SKETCH_MAX_SIDE:
        rgb = rgb.resize(output_size(rgb.size, SKETCH_MAX_SIDE), Image.Resampling.LANCZOS)
    drawing = np.asarray(extract_sketch(np.asarray(rgb)))
    if drawing.dtype != np.uint8 or drawing.shape != (rgb.size[1], rgb.size[0]):
        raise ApiError(500, f"sketch extraction returned {drawing.dtype} {list(drawing.shape)}")
    return encode_png(Image.fromarray(drawing))


@router.post("/sketch", response_class=Response, dependencies=PROTECTED_WORK, responses=PNG_RESPONSE)
async def sketch(limits: LimitsDep,
                 image: Annotated[UploadFile, File(description="A photo.")]) -> Response:
    """Returns a greyscale PNG: 255 paper, 0 ink; longest side at most 512 px."""
    data = await read_upload(image, limits)
    return Response(await run_in_threadpool(photo_to_sketch, data, limits), media_type="image/png")
