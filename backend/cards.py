"""The model card: one JSON file per shipped model, next to its ONNX graph.

This schema is the contract between training (which writes cards at export) and the server (which loads
them). It is plain pydantic so the server needs no torch.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ModelKind = Literal["spade", "pix2pix", "cyclegan", "segmenter", "hybrid"]
InputKind = Literal["labels", "sketch", "photo"]
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
HEX_COLOUR = re.compile(r"^#[0-9a-f]{6}$")
# How a hybrid paints: a canvas of pasted segments re-rendered by its refiner graph, or label-guided patch
# synthesis from the bank (backend/landscape.py), which has no graph.
HybridRenderer = Literal["refiner", "patch-synthesis"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LabelClass(_Strict):
    id: int = Field(ge=0, le=255)
    name: str
    colour: str
    group: str | None = None
    counts_as: int | None = None  # the class a model without this one reads it as (cloud: sky)

    @field_validator("colour")
    @classmethod
    def _hex(cls, value: str) -> str:
        if not HEX_COLOUR.match(value):
            raise ValueError(f"colour must be #rrggbb in lower case, got {value!r}")
        return value


class LabelSet(_Strict):
    name: str
    classes: list[LabelClass]
    ignore_id: int | None = None
    background_id: int

    @model_validator(mode="after")
    def _consistent(self) -> "LabelSet":
        ids = [c.id for c in self.classes]
        if len(set(ids)) != len(ids):
            raise ValueError("label ids must be unique")
        if len({c.colour for c in self.classes}) != len(ids):
            raise ValueError("label colours must be unique")
        if self.background_id not in ids:
            raise ValueError("background_id must be one of the classes")
        if any(c.counts_as is not None and c.counts_as not in ids for c in self.classes):
            raise ValueError("counts_as must name a class of the set")
        if self.ignore_id is not None and self.ignore_id in ids:
            raise ValueError("ignore_id must not be a paintable class")
        return self

    def by_id(self) -> dict[int, LabelClass]:
        return {c.id: c for c in self.classes}


class StyleEncoder(_Strict):
    """The style encoder's graph, and the Gaussian that random styles are drawn from: the distribution of
    the training photos' codes, `code_mean + code_scale @ e` with e ~ N(0, I)."""

    onnx: str
    onnx_sha256: str
    z_dim: int = Field(gt=0)
    code_mean: list[float]
    code_scale: list[list[float]]  # lower-triangular: Cholesky factor of the codes' covariance x truncation

    @model_validator(mode="after")
    def _shapes(self) -> "StyleEncoder":
        if len(self.code_mean) != self.z_dim:
            raise ValueError(f"code_mean needs z_dim = {self.z_dim} numbers, got {len(self.code_mean)}")
        if len(self.code_scale) != self.z_dim or any(len(row) != self.z_dim for row in self.code_scale):
            raise ValueError(f"code_scale must be a {self.z_dim} x {self.z_dim} matrix")
        return self


class ExemplarBankFile(_Strict):
    """The hybrid renderer's bank of real photo segments (an .npz next to the refiner graph)."""

    file: str  # path relative to the weights folder
    sha256: str
    photos: int = Field(gt=0)
    segments: dict[str, int]  # class name -> segments in the bank
    style_dim: int = Field(default=6, gt=0)  # a style is colour statistics: mean and std of R, G, B


class StylePreset(_Strict):
    id: str
    name: str
    thumbnail: str  # path relative to the weights folder
    code: list[float]

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError(f"preset id must be a lower-case slug, got {value!r}")
        return value


class DataSource(_Strict):
    name: str
    citation: str
    terms: str


class Training(_Strict):
    data: list[DataSource]
    command: str
    steps: int = Field(ge=0)
    images_seen: int = Field(ge=0)
    cpu_hours: float = Field(ge=0)
    device: str


class ModelCard(_Strict):
    id: str
    kind: ModelKind
    title: str
    description: str
    input_kind: InputKind
    size: int = Field(gt=0, le=2048)  # the side of the label maps (or photos, sketches) it reads
    # The patch-synthesis renderer only: the side it paints at, larger than the label maps it reads, so that
    # its exemplars' pixels are copied at their own resolution (None: `size`). See `picture_side`.
    picture_size: int | None = Field(default=None, gt=0, le=2048)
    onnx: str | None = None  # None only for a hybrid painted by patch synthesis
    onnx_sha256: str | None = None
    renderer: HybridRenderer | None = None  # hybrids only; None means "refiner"
    label_set: LabelSet | None = None
    style_encoder: StyleEncoder | None = None
    exemplar_bank: ExemplarBankFile | None = None
    style_presets: list[StylePreset] = []
    params: int = Field(ge=0)
    gmacs: float = Field(ge=0)
    training: Training
    metrics: dict[str, Any] = {}
    evaluation_command: str | None = None
    samples: str | None = None  # sample sheet, path relative to the weights folder
    server_only: str | None = None  # why the model cannot run in the page (None: it can)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError(f"model id must be a lower-case slug, got {value!r}")
        return value

    @model_validator(mode="after")
    def _kind_fields(self) -> "ModelCard":
        if self.input_kind == "labels" and self.label_set is None:
            raise ValueError("a model with label input needs a label_set")
        if self.kind == "segmenter" and self.label_set is None:
            raise ValueError("a segmenter needs a label_set")
        if self.kind == "spade" and self.style_encoder is None:
            raise ValueError("a SPADE model needs a style_encoder")
        if self.kind == "hybrid":
            self._check_hybrid()
        elif self.exemplar_bank is not None:
            raise ValueError("only a hybrid model has an exemplar_bank")
        elif self.renderer is not None:
            raise ValueError("only a hybrid model has a renderer")
        if self.picture_size is not None and not self.graphless:
            raise ValueError("only the patch-synthesis renderer has a picture_size: a network paints at its size")
        if self.graphless != (self.onnx is None) or (self.onnx is None) != (self.onnx_sha256 is None):
            raise ValueError("onnx and onnx_sha256 are required, except for a hybrid painted by patch synthesis, "
                             "which has neither")
        style_dim = (self.style_encoder.z_dim if self.style_encoder is not None
                     else self.exemplar_bank.style_dim if self.exemplar_bank is not None else None)
        if style_dim is not None:
            for preset in self.style_presets:
                if len(preset.code) != style_dim:
                    raise ValueError(f"preset {preset.id!r} has {len(preset.code)} numbers, the style has {style_dim}")
        return self

    @property
    def graphless(self) -> bool:
        """True for the patch-synthesis renderer: no ONNX graph, the server paints from the bank alone."""
        return self.kind == "hybrid" and self.renderer == "patch-synthesis"

    @property
    def picture_side(self) -> int:
        """The longer side of the pictures it returns."""
        return self.picture_size or self.size

    def _check_hybrid(self) -> None:
        if self.input_kind != "labels":
            raise ValueError("a hybrid model paints label maps (input_kind 'labels')")
        if self.exemplar_bank is None:
            raise ValueError("a hybrid model needs an exemplar_bank")
        if self.style_encoder is not None:
            raise ValueError("a hybrid model has no style_encoder: its style is the colour statistics")
        names = {c.name for c in self.label_set.classes}
        if strangers := sorted(set(self.exemplar_bank.segments) - names):
            raise ValueError(f"exemplar_bank.segments names classes not in the label set: {', '.join(strangers)}")


def load_card(path: Path) -> ModelCard:
    return ModelCard.model_validate(json.loads(Path(path).read_text()))


def write_card(card: ModelCard, path: Path) -> None:
    Path(path).write_text(json.dumps(card.model_dump(mode="json"), indent=2) + "\n")
