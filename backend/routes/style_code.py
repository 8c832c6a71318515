"""POST /style-code: encode a style image once, reuse its code in /translate and the WebSocket."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from backend import pipeline
from backend.routes.deps import MODEL_ROUTE_ERRORS, PROTECTED_WORK, EngineDep, LimitsDep, note_model, read_upload

router = APIRouter(tags=["generate"])


class StyleCode(BaseModel):
    model: str
    code: list[float]
    model_ms: float


@router.post("/style-code", response_model=StyleCode, dependencies=PROTECTED_WORK, responses=MODEL_ROUTE_ERRORS)
async def style_code(
    request: Request,
    engine: EngineDep,
    limits: LimitsDep,
    image: Annotated[UploadFile, File(description="An image whose style to encode.")],
    model: Annotated[str | None, Form(description="A SPADE or hybrid model id; default: the default model.")] = None,
) -> StyleCode:
    """The image's style code: SPADE's style encoder mean (mu), or the hybrid's colour statistics."""
    styled_model = pipeline.resolve_style_encoder(engine, model)
    note_model(request, styled_model.id)
    data = await read_upload(image, limits)
    code, ms = await run_in_threadpool(pipeline.encode_style_image, engine, styled_model, data, limits, "image")
    return StyleCode(model=styled_model.id, code=[float(v) for v in code], model_ms=round(ms, 2))
