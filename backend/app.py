"""The FastAPI application: `create_app(settings)`, and `app` for ASGI servers (`backend.app:app`)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, PlainTextResponse, Response
from PIL import Image

from backend.access import AccessLogMiddleware
from backend.body_limit import BodyLimitMiddleware
from backend.device import build_bundle
from backend.engine import InferenceEngine
from backend.errors import install_error_handlers
from backend.isolation import CrossOriginIsolationMiddleware
from backend.logs import configure_logging
from backend.metrics import Metrics
from backend.openapi import install_openapi
from backend.page_files import PageFiles
from backend.routes import (device, docs, health, metrics, models, segment, sketch, style_code, translate, vendor,
                            ws)
from backend.security import API_KEY_HEADER, RateLimiter
from backend.settings import Settings

log = logging.getLogger("backend.app")
NO_FRONTEND_NOTE = ("The painter page is not here yet: {folder}/index.html is missing.\n"
                    "The API is running; see /docs.\n")


def load_engine(settings: Settings) -> InferenceEngine:
    """Load every model in WEIGHTS_DIR and log what is served."""
    engine = InferenceEngine.load(settings.weights_dir, settings.intra_op_threads, settings.max_concurrent_runs)
    ready = [m.id for m in engine.ready_models()]
    if ready:
        log.info("serving %d model(s): %s", len(ready), ", ".join(ready))
    else:
        log.warning("no model loaded — put ONNX models and cards in %s", settings.weights_dir)
    return engine


def _mount_frontend(app: FastAPI, settings: Settings) -> None:
    folder = settings.frontend_dir
    index = folder / "index.html"

    @app.get("/", include_in_schema=False)
    async def painter_page() -> Response:
        # Checked per request: the page may appear after the server started.
        if index.is_file():
            return FileResponse(index)
        return PlainTextResponse(NO_FRONTEND_NOTE.format(folder=folder))

    if folder.is_dir():
        app.mount("/", PageFiles(app.router.routes, folder), name="frontend")


def create_app(settings: Settings | None = None, engine: InferenceEngine | None = None) -> FastAPI:
    """The app; models load in the lifespan unless an already loaded `engine` is given."""
    settings = settings or Settings()
    configure_logging(settings.log_level)
    # Pillow refuses images over this many pixels before decoding them (decompression bombs).
    Image.MAX_IMAGE_PIXELS = settings.max_image_side ** 2
    app_metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = engine or await run_in_threadpool(load_engine, settings)
        app.state.engine.observer = app_metrics.observe_model_run
        app.state.device_bundle = await run_in_threadpool(build_bundle, app.state.engine, settings.weights_dir)
        vendor.warn_if_not_installed(settings)
        yield

    app = FastAPI(
        title="GauGAN painter",
        description="Paint semantic labels or sketches; conditional GANs turn them into pictures.",
        version="0.1.0",
        lifespan=lifespan,
        # /docs is this server's own page (routes/docs.py): FastAPI's loads Swagger UI from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.metrics = app_metrics
    app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute)
    install_error_handlers(app)
    install_openapi(app, settings, rate_limited=app.state.rate_limiter.enabled)
    for router in (health.router, models.router, translate.router, segment.router, sketch.router,
                   style_code.router, ws.router, metrics.router, device.router, vendor.router, docs.router):
        app.include_router(router)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                           allow_headers=[API_KEY_HEADER, "Content-Type"],
                           expose_headers=["X-Model-Ms", "Retry-After"])
    app.add_middleware(BodyLimitMiddleware, max_upload_bytes=settings.max_upload_bytes)
    app.add_middleware(AccessLogMiddleware, metrics=app_metrics)
    # Outermost, so the refusals of the middlewares inside carry the headers too.
    app.add_middleware(CrossOriginIsolationMiddleware)
    _mount_frontend(app, settings)
    return app


app = create_app()
