"""The ids each field and path parameter takes on this server, written into the OpenAPI document as enums.

A generic `string` would make `model=anything` a valid request that the server then refuses (404, or 422
for a model of the wrong kind); listing the loaded ids makes the document say what the server accepts, so
a client (or schemathesis) reading it sends only ids that work. The lists are the models loaded at start-up.
A form field also takes "": FastAPI reads an empty form field as one left out (the default).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.device import DeviceBundle
from backend.engine import InferenceEngine


@dataclass(frozen=True)
class IdChoices:
    """(method, path) -> field or path parameter name -> the values it takes."""

    operations: dict[tuple[str, str], dict[str, list[str]]]


def id_choices(engine: InferenceEngine, bundle: DeviceBundle | None, runtime_files: list[str]) -> IdChoices:
    ready = engine.ready_models()
    translators = [m.id for m in ready if m.card.kind != "segmenter"]
    presets = sorted({p.id for m in ready for p in m.card.style_presets})
    with_thumbnails = [m.id for m in engine.models.values() if m.thumbnails]
    return IdChoices({
        ("post", "/translate"): {"model": translators, "filter": engine.filter_ids(), "style_id": presets},
        ("post", "/segment"): {"model": [m.id for m in ready if m.card.kind == "segmenter"]},
        ("post", "/style-code"): {"model": [m.id for m in ready
                                            if m.style_session is not None or m.card.kind == "hybrid"]},
        ("get", "/models/{model_id}/samples"): {"model_id": [m.id for m in engine.models.values() if m.samples]},
        ("get", "/models/{model_id}/styles/{preset_id}/thumbnail"): {
            "model_id": with_thumbnails,
            "preset_id": sorted({p for m in engine.models.values() for p in m.thumbnails})},
        ("get", "/device/files/{name}"): {"name": sorted(bundle.files) if bundle is not None else []},
        ("get", "/vendor/onnxruntime-web/{file}"): {"file": runtime_files},
    })


def form_schema(document: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    """The schema of an operation's multipart form, its $ref followed ({} without a form)."""
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("multipart/form-data", {}).get("schema", {})
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        return document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return schema


def list_ids(document: dict[str, Any], choices: IdChoices) -> None:
    """Give each listed field its enum (none when nothing is loaded: an empty enum would accept nothing)."""
    for (method, path), fields in choices.operations.items():
        operation = document.get("paths", {}).get(path, {}).get(method)
        if operation is None:
            continue
        targets = {p["name"]: (p.setdefault("schema", {}), []) for p in operation.get("parameters", [])}
        form_fields = form_schema(document, operation).get("properties", {})
        targets |= {name: (field, [""]) for name, field in form_fields.items()}
        for name, values in fields.items():
            if values and name in targets:
                schema, left_out = targets[name]
                schema["enum"] = [*left_out, *values]
