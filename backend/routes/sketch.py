"""POST /sketch: a photo -> a black-on-white line drawing, to start a sketch from a photo."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, File, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from PIL import Image

from backend.errors import ApiError, error_responses
from backend.imaging import ImageLimits, encode_png, open_image, output_size, to_rgb
from backend.routes.deps import PNG_RESPONSE, PROTECTED_WORK, LimitsDep, read_upload
from backend.sketch import extract_sketch

router = APIRouter(tags=["generate"])
# The extractor's blur and line-length settings are in pixels at this scale, the scale the sketch model
# was trained on: larger photos are drawn at it, so lines look like the ones the model learned.
SKETCH_MAX_SIDE = 256


def photo_to_sketch(data: bytes, limits: ImageLimits) -> bytes:
    rgb = to_rgb(open_image(data, limits))
    if max(rgb.size) > SKETCH_MAX_SIDE:
        rgb = rgb.resize(output_size(rgb.size, SKETCH_MAX_SIDE), Image.Resampling.LANCZOS)
    drawing = np.asarray(extract_sketch(np.asarray(rgb)))
    if drawing.dtype != np.uint8 or drawing.shape != (rgb.size[1], rgb.size[0]):
        raise ApiError(500, f"sketch extraction returned {drawing.dtype} {list(drawing.shape)}")
    return encode_png(Image.fromarray(drawing))


@router.post("/sketch", response_class=Response, dependencies=PROTECTED_WORK,
             responses={**PNG_RESPONSE, **error_responses(400, 401, 413, 415, 422, 429, 500)})
async def sketch(limits: LimitsDep,
                 image: Annotated[UploadFile, File(description="A photo.")]) -> Response:
    """Returns a greyscale PNG: 255 paper, 0 ink; longest side at most 256 px."""
    data = await read_upload(image, limits)
    return Response(await run_in_threadpool(photo_to_sketch, data, limits), media_type="image/png")
