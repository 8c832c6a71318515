"""POST /translate: a label map, sketch or photo -> a generated picture."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from backend import pipeline
from backend.pipeline import MAX_SEED, StyleChoice
from backend.routes.deps import (MODEL_ROUTE_ERRORS, PICTURE_RESPONSE, PictureFormat, PROTECTED_WORK, EngineDep, LimitsDep, note_model,
                                 read_upload)

router = APIRouter(tags=["generate"])
NO_STYLES = "a model without styles (pix2pix, CycleGAN) answers 422."


@router.post("/translate", response_class=Response, dependencies=PROTECTED_WORK,
             responses={**PICTURE_RESPONSE, **MODEL_ROUTE_ERRORS})
async def translate(
    request: Request,
    engine: EngineDep,
    limits: LimitsDep,
    image: Annotated[UploadFile, File(description="Label map (index PNG or label colours), sketch or photo.")],
    model: Annotated[str | None, Form(description="Model id; default: the first SPADE model.")] = None,
    style: Annotated[UploadFile | None, File(description="An image whose style SPADE or the hybrid follows; a "
                                                         "landscape renderer (paints_with_style_photo in /models) "
                                                         f"paints with the photo's own textures; {NO_STYLES}")] = None,
    style_id: Annotated[str | None, Form(description=f"A style preset id of the model; {NO_STYLES}")] = None,
    style_code: Annotated[str | None, Form(description="JSON list of style_dim numbers, as /style-code gives; "
                                                       f"{NO_STYLES}")] = None,
    seed: Annotated[int | None, Form(ge=0, le=MAX_SEED,
                                     description=f"Seeds a random style (hybrid: canvas); {NO_STYLES}")] = None,
    filter: Annotated[str | None, Form(description="A CycleGAN model id applied to the result.")] = None,
    format: Annotated[PictureFormat, Form(description="The picture's encoding: png (lossless, the default), "
                                                      "jpeg or webp (smaller).")] = "png",
) -> Response:
    """Generate a picture at the input's aspect ratio; `X-Model-Ms` is the time inside the models."""
    code = pipeline.parse_style_code(style_code) if style_code is not None else None
    choice = StyleChoice(style_id=style_id, style_code=code, seed=seed, has_image=style is not None)
    spec = pipeline.resolve_translate(engine, model, choice, filter)
    note_model(request, spec.model.id)
    data = await read_upload(image, limits)
    style_data = await read_upload(style, limits) if style is not None else None
    rendered = await run_in_threadpool(pipeline.translate, engine, spec, data, limits, style_data, format)
    return Response(rendered.data, media_type=rendered.media_type, headers={"X-Model-Ms": f"{rendered.model_ms:.2f}"})
