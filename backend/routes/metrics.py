"""GET /metrics in the Prometheus text format."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse

from backend.errors import error_responses
from backend.routes.deps import EngineDep
from backend.security import require_api_key

router = APIRouter(tags=["health"])
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/metrics", response_class=PlainTextResponse, dependencies=[Depends(require_api_key)],
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}, **error_responses(401)})
async def metrics(request: Request, engine: EngineDep) -> PlainTextResponse:
    """Request counts by route and status, WebSocket frame outcomes, per-model run latency histograms."""
    body = request.app.state.metrics.render({m.id: m.state for m in engine.models.values()})
    return PlainTextResponse(body, media_type=PROMETHEUS_TEXT)
