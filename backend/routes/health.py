"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from backend.routes.deps import EngineDep

router = APIRouter(tags=["health"])


class ModelStatus(BaseModel):
    state: str
    error: str | None = None


class Readiness(BaseModel):
    ready: bool
    models: dict[str, ModelStatus]


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up and its event loop answers."""
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(engine: EngineDep) -> JSONResponse:
    """Each model's state; 503 while no model is loaded."""
    readiness = Readiness(ready=bool(engine.ready_models()),
                          models={m.id: ModelStatus(state=m.state, error=m.error) for m in engine.models.values()})
    return JSONResponse(readiness.model_dump(), status_code=200 if readiness.ready else 503)
