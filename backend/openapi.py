"""The OpenAPI document as this server's configuration makes it behave.

FastAPI builds the document from the routes; `install_openapi` then corrects what it cannot know:
- every error is `ErrorBody` (`{"detail": str}`), FastAPI's default 422 `HTTPValidationError` included;
- the API key is required (security + 401) only when API_KEY is set, 429 is listed only when a rate limit is;
- upload fields state their limits: at least 1 byte, at most MAX_UPLOAD_BYTES, the accepted image types;
- the description documents the WebSocket, which OpenAPI cannot describe as an operation.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from backend.errors import ERROR_MEANINGS, RESPONSE_HEADERS
from backend.imaging import ALLOWED_FORMATS
from backend.openapi_ids import form_schema, id_choices, list_ids
from backend.routes.vendor import ONNXRUNTIME_WEB, served_files
from backend.security import API_KEY_HEADER, API_KEY_QUERY
from backend.settings import Settings

ERROR_BODY_REF = "#/components/schemas/ErrorBody"
DEFAULT_VALIDATION_REF = "#/components/schemas/HTTPValidationError"
FASTAPI_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError")
SECURITY_SCHEME = "APIKeyHeader"
IMAGE_MEDIA_TYPES = tuple(f"image/{name.lower()}" for name in ALLOWED_FORMATS)
BINARY_MEDIA_TYPE = "application/octet-stream"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

WEBSOCKET_DOC = f"""
## WebSocket `/ws` (live painting)

Not an HTTP operation, so it is described here. With API_KEY set, pass the key as `?{API_KEY_QUERY}=`
(browsers cannot set headers on a WebSocket) or in the `{API_KEY_HEADER}` header.

- Client text `{{"type": "config", "model"?, "style_id"?, "seed"?, "style_code"?, "filter"?}}` (the fields
  of `POST /translate`, `style_code` as a JSON list): answered `{{"type": "config", "ok": true, "model": id}}`,
  or `{{"type": "error", "status": s, "message": m}}`.
- Client binary: a whole PNG, like `POST /translate`'s `image`; frames are numbered from 1. Each processed
  frame is answered with the PNG, then `{{"type": "result", "frame": n, "model_ms": x, "total_ms": y}}`;
  while one frame runs, a newer one replaces the waiting one (latest wins).
- A frame or config that fails gets `{{"type": "error", "frame": n, "status": s, "message": m}}` and the
  connection stays open: `status` is the HTTP status `POST /translate` answers for the same input and
  `message` is the same text it returns as `detail` (404 unknown model, style or filter, 413, 415, 422,
  429 with `retry_after` in seconds, 500, 503). A bad config's 422 message starts with `bad config:`.
- The server closes the connection with 1003 for malformed JSON or an unknown message type, 1009 for a
  message over MAX_WS_MESSAGE_BYTES, and 1008 for a missing or wrong API key.
"""


def _operations(document: dict[str, Any]):
    for path_item in document.get("paths", {}).values():
        for method, operation in path_item.items():
            if method in HTTP_METHODS:
                yield operation


def _error_response(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {"description": ERROR_MEANINGS[status],
                                "content": {"application/json": {"schema": {"$ref": ERROR_BODY_REF}}}}
    if status in RESPONSE_HEADERS:
        response["headers"] = RESPONSE_HEADERS[status]
    return response


def _is_binary(schema: dict[str, Any]) -> bool:
    return schema.get("contentMediaType") == BINARY_MEDIA_TYPE or schema.get("format") == "binary"


def _limit_upload(schema: dict[str, Any], settings: Settings) -> bool:
    """Give a file field its limits; True if it is one."""
    if _is_binary(schema):
        schema["minLength"] = 1
        schema["maxLength"] = settings.max_upload_bytes
        formats = ", ".join(ALLOWED_FORMATS)
        limits = (f"{formats}; 1 to {settings.max_upload_bytes} bytes; longest side at most "
                  f"{settings.max_image_side} px.")
        description = schema.get("description", "").rstrip()
        schema["description"] = f"{description} {limits}".strip()
        return True
    return False


def _without_null(field: dict[str, Any]) -> dict[str, Any]:
    """`anyOf: [X, null]` -> X. A multipart form cannot send null (an optional field is left out), and client
    generators recognise a file field only when `contentMediaType` is on the field itself, not in a branch."""
    branches = field.get("anyOf", [])
    others = [branch for branch in branches if branch.get("type") != "null"]
    if len(branches) == 2 and len(others) == 1:
        merged = {key: value for key, value in field.items() if key != "anyOf"}
        return {**others[0], **merged}
    return field


def _limit_uploads(document: dict[str, Any], operation: dict[str, Any], settings: Settings) -> None:
    form = operation.get("requestBody", {}).get("content", {}).get("multipart/form-data")
    if form is None:
        return
    properties = form_schema(document, operation).get("properties", {})
    for name, field in list(properties.items()):
        properties[name] = field = _without_null(field)
        if _limit_upload(field, settings):
            form.setdefault("encoding", {})[name] = {"contentType": ", ".join(IMAGE_MEDIA_TYPES)}


def conform(document: dict[str, Any], settings: Settings, rate_limited: bool) -> dict[str, Any]:
    """Correct FastAPI's document in place (see the module docstring) and return it."""
    key_required = settings.api_key is not None
    for operation in _operations(document):
        responses = operation.setdefault("responses", {})
        for status, response in list(responses.items()):
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("$ref") == DEFAULT_VALIDATION_REF:
                responses[status] = _error_response(int(status))
        if "security" in operation:
            if key_required:
                responses["401"] = _error_response(401)
            else:
                del operation["security"]
                responses.pop("401", None)
        if not rate_limited:
            responses.pop("429", None)
        _limit_uploads(document, operation, settings)
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in FASTAPI_ERROR_SCHEMAS:
        schemas.pop(name, None)
    schemes = components.get("securitySchemes", {})
    if key_required and SECURITY_SCHEME in schemes:
        schemes[SECURITY_SCHEME]["description"] = "The API_KEY the server was started with."
    elif not key_required:
        components.pop("securitySchemes", None)
    info = document.setdefault("info", {})
    info["description"] = (info.get("description", "") + "\n" + WEBSOCKET_DOC).strip()
    return document


def install_openapi(app: FastAPI, settings: Settings, rate_limited: bool) -> None:
    """Serve the corrected document at /openapi.json (and in /docs), built once on first use, with the ids
    of the models loaded by then (the lifespan loads them before the first request)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = conform(build(), settings, rate_limited)
            engine = getattr(app.state, "engine", None)
            if engine is not None:
                list_ids(document, id_choices(engine, getattr(app.state, "device_bundle", None),
                                              served_files(ONNXRUNTIME_WEB, settings)))
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
