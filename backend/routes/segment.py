"""POST /segment: a photo -> its label map, so a painting can start from a photo."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from backend import pipeline
from backend.routes.deps import (MODEL_ROUTE_ERRORS, PNG_RESPONSE, PROTECTED_WORK, EngineDep, LimitsDep, note_model,
                                 read_upload)

router = APIRouter(tags=["generate"])


@router.post("/segment", response_class=Response, dependencies=PROTECTED_WORK,
             responses={**PNG_RESPONSE, **MODEL_ROUTE_ERRORS})
async def segment(
    request: Request,
    engine: EngineDep,
    limits: LimitsDep,
    image: Annotated[UploadFile, File(description="A photo.")],
    model: Annotated[str | None, Form(description="Segmenter id; default: the first segmenter.")] = None,
) -> Response:
    """Returns a mode-P PNG: pixel values are class ids, the palette is the label set's colours."""
    segmenter = pipeline.resolve_segmenter(engine, model)
    note_model(request, segmenter.id)
    data = await read_upload(image, limits)
    rendered = await run_in_threadpool(pipeline.segment, engine, segmenter, data, limits)
    return Response(rendered.data, media_type="image/png", headers={"X-Model-Ms": f"{rendered.model_ms:.2f}"})
