"""The model registry as the painter sees it, and the files a card names (thumbnails, sample sheet)."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel

from backend.cards import LabelSet
from backend import pipeline
from backend.engine import InferenceEngine, LoadedModel
from backend.errors import ApiError, error_responses
from backend.routes.deps import EngineDep

router = APIRouter(tags=["models"])
FILE_CACHE = "public, max-age=3600"


class StylePresetOut(BaseModel):
    id: str
    name: str
    thumbnail_url: str | None


class ModelOut(BaseModel):
    id: str
    state: Literal["ready", "failed"]
    error: str | None = None
    kind: str | None = None
    title: str | None = None
    description: str | None = None
    input_kind: str | None = None
    size: int | None = None  # the side of the label maps (photos, sketches) it reads
    picture_size: int | None = None  # the longer side of its pictures (the landscape renderer's: larger)
    label_set: LabelSet | None = None
    style_presets: list[StylePresetOut] = []
    z_dim: int | None = None
    style_dim: int | None = None  # numbers in a style_code (SPADE: z_dim; hybrid: 6 colour statistics)
    paints_with_style_photo: bool = False  # a style image is also painted with: its own textures, not only its look
    metrics: dict[str, Any] = {}
    params: int | None = None
    gmacs: float | None = None
    latency_ms: float | None = None
    samples_url: str | None = None


class ModelsOut(BaseModel):
    default_model: str | None
    models: list[ModelOut]
    filters: list[str]


def _model_out(model: LoadedModel, root: str, engine: InferenceEngine) -> ModelOut:
    card = model.card
    if card is None:
        return ModelOut(id=model.id, state=model.state, error=model.error)
    base = f"{root}/models/{quote(model.id)}"
    presets = [StylePresetOut(id=p.id, name=p.name,
                              thumbnail_url=f"{base}/styles/{quote(p.id)}/thumbnail" if p.id in model.thumbnails
                              else None)
               for p in card.style_presets]
    return ModelOut(id=model.id, state=model.state, error=model.error, kind=card.kind, title=card.title,
                    description=card.description, input_kind=card.input_kind, size=card.size,
                    picture_size=card.picture_side,
                    label_set=card.label_set, style_presets=presets, z_dim=model.z_dim,
                    style_dim=model.style_dim, metrics=card.metrics,
                    paints_with_style_photo=pipeline.style_photo_segmenter(engine, model) is not None,
                    params=card.params, gmacs=card.gmacs, latency_ms=model.latency_ms,
                    samples_url=f"{base}/samples" if model.samples is not None else None)


@router.get("/models", response_model=ModelsOut)
async def list_models(request: Request, engine: EngineDep) -> ModelsOut:
    """Every model in the weights folder (ready or failed), the default for /translate, and the filters."""
    default = engine.default_translator()
    root = request.scope.get("root_path", "")
    return ModelsOut(default_model=default.id if default else None,
                     models=[_model_out(m, root, engine) for m in engine.models.values()], filters=engine.filter_ids())


@router.get("/models/{model_id}/styles/{preset_id}/thumbnail", response_class=FileResponse,
            responses={200: {"content": {"image/jpeg": {}}}, **error_responses(404)})
async def style_thumbnail(model_id: str, preset_id: str, engine: EngineDep) -> FileResponse:
    """A style preset's thumbnail, found through the registry only (never a path from the URL)."""
    model = engine.models.get(model_id)
    path = model.thumbnails.get(preset_id) if model is not None else None
    if path is None:
        raise ApiError(404, f"no thumbnail for style {preset_id!r} of model {model_id!r}")
    return FileResponse(path, headers={"Cache-Control": FILE_CACHE})


@router.get("/models/{model_id}/samples", response_class=FileResponse,
            responses={200: {"content": {"image/png": {}}}, **error_responses(404)})
async def sample_sheet(model_id: str, engine: EngineDep) -> FileResponse:
    """The card's sample sheet, found through the registry only."""
    model = engine.models.get(model_id)
    if model is None or model.samples is None:
        raise ApiError(404, f"no sample sheet for model {model_id!r}")
    return FileResponse(model.samples, headers={"Cache-Control": FILE_CACHE})
