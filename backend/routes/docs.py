"""GET /docs: Swagger UI over this server's /openapi.json, loaded from this server alone.

FastAPI's own page fetches Swagger UI from a CDN: blank offline, and blocked even online by the page's
`Cross-Origin-Embedder-Policy: require-corp` (backend/isolation.py). Here the files come from the pinned
swagger-ui-dist npm package (/vendor/swagger-ui/, backend/routes/vendor.py), and Swagger UI's online
validator badge is off, so the page makes no request outside this server.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)
SWAGGER_UI_URL = "/vendor/swagger-ui/"
# What the page loads of the package (the Dockerfile ships these alone).
SCRIPT, STYLESHEET, ICON = "swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"
DOCS_FILES = (SCRIPT, STYLESHEET, ICON)


@router.get("/docs")
async def api_docs(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "").rstrip("/")
    files = root + SWAGGER_UI_URL
    return get_swagger_ui_html(openapi_url=root + request.app.openapi_url,
                               title=f"{request.app.title} API", swagger_js_url=files + SCRIPT,
                               swagger_css_url=files + STYLESHEET, swagger_favicon_url=files + ICON,
                               swagger_ui_parameters={"validatorUrl": None})
