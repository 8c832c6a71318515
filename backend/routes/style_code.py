"""POST /style-code: encode a style image once, reuse its code in /translate and the WebSocket."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from backend import pipeline
from backend.routes.deps import PROTECTED_WORK, EngineDep, LimitsDep, note_model, read_upload

router = APIRouter(tags=["generate"])


class StyleCode(BaseModel):
    model: str
    code: list[float]
    model_ms: float


@router.post("/style-code", response_model=StyleCode, dependencies=PROTECTED_WORK)
async def style_code(
    request: Request,
    engine: EngineDep,
    limits: LimitsDep,
    image: Annotated[UploadFile, File(description="An image whose style to encode.")],
    model: Annotated[str | None, Form(description="A SPADE model id; default: the first SPADE model.")] = None,
) -> StyleCode:
    """The SPADE style encoder's mean code (mu) of the image."""
    spade = pipeline.resolve_style_encoder(engine, model)
    note_model(request, spade.id)
    data = await read_upload(image, limits)
    code, ms = await run_in_threadpool(pipeline.encode_style_image, engine, spade, data, limits)
    return StyleCode(model=spade.id, code=[float(v) for v in code], model_ms=round(ms, 2))
