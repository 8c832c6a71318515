"""What the page needs to run the models itself: the device manifest and the files it names.

One bundle, built from the engine's ready models, answers `GET /device/manifest.json` and
`GET /device/files/{name}` and is what `python -m backend.export_static` writes, so a static copy of the
painter offers exactly what the server offers. URLs are relative, so the page resolves them against its own
address, behind the backend or on a static host alike.

Files are named by model id (`<id>.onnx`, `<id>.style-encoder.onnx`, `<id>.style.<preset id><suffix>`):
card paths may repeat a base name (two models each have a `sunny.jpg`), while model and preset ids are
unique slugs without dots, so these names cannot collide.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from backend.cards import ModelCard
from backend.engine import InferenceEngine, LoadedModel, file_sha256, preferred_translator, weights_file

MANIFEST_VERSION = 1
FILES_URL = "device/files/"


class DeviceFileOut(BaseModel):
    url: str = Field(description="Relative to the page, like every URL of the manifest.")
    bytes: int = Field(ge=0)
    sha256: str = Field(description="Also the file's strong ETag.")


class DeviceModelFiles(BaseModel):
    onnx: DeviceFileOut | None = Field(description="The graph; null for a model with none (server-only patch synthesis).")
    style_encoder: DeviceFileOut | None = Field(default=None, description="SPADE only.")
    thumbnails: dict[str, str] = Field(default={}, description="Style preset id -> thumbnail URL.")


class DeviceModel(BaseModel):
    id: str
    card: ModelCard
    server_only: str | None = Field(description="Why the page cannot run this model; null when it can.")
    files: DeviceModelFiles


class DeviceManifest(BaseModel):
    version: Literal[1] = MANIFEST_VERSION
    default_model: str | None = Field(description="The model the page downloads first: the server's default "
                                                  "among those it can run itself.")
    filters: list[str]
    models: list[DeviceModel]


@dataclass(frozen=True)
class DeviceFile:
    path: Path
    sha256: str
    bytes: int


@dataclass(frozen=True)
class DeviceBundle:
    manifest: DeviceManifest
    files: dict[str, DeviceFile]  # name under device/files/ -> the file in the weights folder

    @cached_property
    def manifest_json(self) -> bytes:
        """device/manifest.json exactly as the server sends it and the static export writes it."""
        return json.dumps(self.manifest.model_dump(mode="json"), separators=(",", ":")).encode()

    @cached_property
    def manifest_sha256(self) -> str:
        return hashlib.sha256(self.manifest_json).hexdigest()


class _Collector:
    """Registers each file of the bundle once under its name and answers the manifest entry for it."""

    def __init__(self) -> None:
        self.files: dict[str, DeviceFile] = {}

    def add(self, name: str, path: Path, sha256: str) -> DeviceFileOut:
        self.files[name] = DeviceFile(path=path, sha256=sha256, bytes=path.stat().st_size)
        return DeviceFileOut(url=FILES_URL + name, bytes=self.files[name].bytes, sha256=sha256)


def _model_entry(model: LoadedModel, weights_dir: Path, collector: _Collector) -> DeviceModel:
    card = model.card
    onnx = None if card.graphless else collector.add(f"{card.id}.onnx", weights_file(weights_dir, card.onnx),
                                                     card.onnx_sha256)
    style_encoder = None
    if card.style_encoder is not None:
        style_encoder = collector.add(f"{card.id}.style-encoder.onnx",
                                      weights_file(weights_dir, card.style_encoder.onnx),
                                      card.style_encoder.onnx_sha256)
    thumbnails = {}
    for preset_id, path in model.thumbnails.items():
        # Thumbnails have no hash in the card; the bundle is built once per app, so this runs once.
        name = f"{card.id}.style.{preset_id}{path.suffix.lower()}"
        thumbnails[preset_id] = collector.add(name, path, file_sha256(path)).url
    return DeviceModel(id=card.id, card=card, server_only=card.server_only,
                       files=DeviceModelFiles(onnx=onnx, style_encoder=style_encoder, thumbnails=thumbnails))


def _default_model(models: list[DeviceModel]) -> str | None:
    runnable = [m for m in models if m.server_only is None]
    preferred = preferred_translator(runnable)
    return preferred.id if preferred is not None else None


def build_bundle(engine: InferenceEngine, weights_dir: Path, *, with_server_only: bool = True,
                 model_ids: Iterable[str] | None = None) -> DeviceBundle:
    """The manifest and files of the engine's ready models (only `model_ids` when given; every one must be
    ready, else ValueError). Server-only models are listed, flagged, unless `with_server_only` is False."""
    ready = engine.ready_models()
    if model_ids is not None:
        wanted = list(dict.fromkeys(model_ids))
        if unknown := [i for i in wanted if i not in {m.id for m in ready}]:
            raise ValueError(f"not a ready model: {', '.join(unknown)} "
                             f"(ready: {', '.join(m.id for m in ready) or 'none'})")
        ready = [m for m in ready if m.id in wanted]
    if not with_server_only:
        ready = [m for m in ready if m.card.server_only is None]
    collector = _Collector()
    models = [_model_entry(model, Path(weights_dir), collector) for model in ready]
    manifest = DeviceManifest(default_model=_default_model(models), models=models,
                              filters=[m.id for m in models if m.card.kind == "cyclegan"])
    return DeviceBundle(manifest=manifest, files=collector.files)
