"""The one error type the server's own code raises, and the handlers that turn every error into JSON."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from backend.isolation import ISOLATION_HEADERS

log = logging.getLogger("backend.errors")


class ErrorBody(BaseModel):
    """The body of every error response (4xx and 5xx), whatever raised it."""

    detail: str = Field(description="What went wrong, in one sentence meant for a person.",
                        examples=["image: not an image, or not one of PNG, JPEG, WEBP, BMP, GIF"])


# What each status means on this API; the OpenAPI document names these with ErrorBody on every route.
ERROR_MEANINGS = {
    400: "The request body could not be parsed (malformed multipart form).",
    401: "Missing or wrong API key (only while the server has API_KEY set).",
    404: "Unknown model, style preset, filter or file.",
    413: "An upload is over the byte limit, or an image over the pixel limit.",
    415: "An upload is not an image in an accepted format, or its pixel mode is not supported.",
    422: "A field is missing or invalid: an empty or corrupt image, label ids outside the label set, "
         "a bad style code or seed, more than one style option, a style option (style, style_id, style_code, "
         "seed) for a model without styles, or a model of the wrong kind.",
    429: "Rate limit exceeded (only while RATE_LIMIT_PER_MINUTE is set); Retry-After says when to retry.",
    500: "A model failed to run or returned something unexpected.",
    503: "No model of the needed kind is loaded, or the requested model failed to load.",
}
RESPONSE_HEADERS = {
    401: {"WWW-Authenticate": {"description": "The header that carries the key: X-API-Key.", "required": True,
                               "schema": {"type": "string"}}},
    429: {"Retry-After": {"description": "Seconds until a request will be allowed.", "required": True,
                          "schema": {"type": "integer", "minimum": 1}}},
}


def error_responses(*statuses: int) -> dict[int | str, dict]:
    """`responses=` for a route: each status it can send, with ErrorBody and what the status means here."""
    responses: dict[int | str, dict] = {}
    for status in statuses:
        responses[status] = {"model": ErrorBody, "description": ERROR_MEANINGS[status]}
        if status in RESPONSE_HEADERS:
            responses[status]["headers"] = RESPONSE_HEADERS[status]
    return responses


class ApiError(Exception):
    """A failure with an HTTP status and a message meant for the client (also used for WebSocket frames)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path", "header"))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid")))
    return "; ".join(parts) or "invalid request"


def error_json(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(ErrorBody(detail=message).model_dump(), status_code=status, headers=headers)


async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
    return error_json(exc.status, exc.message, exc.headers)


async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    # Starlette's own refusals (unknown path, wrong method, unparsable body) in the same shape as ours.
    return error_json(exc.status_code, str(exc.detail), exc.headers)


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    return error_json(422, _describe_validation(exc))


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    # Starlette sends this response from its outermost layer, outside every middleware the app adds, so the
    # isolation middleware (backend/isolation.py) never sees it and cannot add these headers itself.
    return error_json(500, "internal server error", ISOLATION_HEADERS)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
