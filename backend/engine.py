"""The inference engine: a registry of models loaded once from the weights folder, and bounded model runs.

Everything here is synchronous; routes call it from worker threads so the event loop stays free.
"""

from __future__ import annotations

import hashlib
import logging
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnxruntime as ort

from backend.cards import ModelCard, StylePreset, load_card
from backend.errors import ApiError
from backend.hybrid import STYLE_DIM, ExemplarBank, compose, refiner_feeds
from backend.interface import (STYLE_ENCODER_SIGNATURE, class_bands, input_names, signature_for,
                               signature_mismatch, warmup_feeds)
from backend.cloud_snow import cloud_snow_ids
from backend.landscape import Frame, LandscapeRenderer, RenderState, StylePhoto

log = logging.getLogger("backend.engine")

ModelState = Literal["ready", "failed"]
Graph = Literal["generator", "style_encoder"]
RunObserver = Callable[[str, float], None]  # (model id, seconds)
LATENCY_RUNS = 3
# The model the painter opens with: the first ready one in this order of (kind, hybrid renderer). The
# patch-synthesis landscape renderer measures the most photo-like (README, "How photo-like?"), then SPADE;
# paintable inputs before filters.
TRANSLATOR_PREFERENCE = (("hybrid", "patch-synthesis"), ("spade", None), ("hybrid", None), ("pix2pix", None),
                         ("cyclegan", None))


def preferred_translator(models: list[Any]) -> Any | None:
    """The first of `models` (anything with a `.card`) in the order of TRANSLATOR_PREFERENCE."""
    for kind, renderer in TRANSLATOR_PREFERENCE:
        for model in models:
            if model.card.kind == kind and ("patch-synthesis" if model.card.graphless else None) == renderer:
                return model
    return None


class ModelLoadError(Exception):
    """Why one model cannot be served; the message ends up in /readyz and /models."""


@dataclass
class LoadedModel:
    """One entry of the registry: a card with its sessions, or a failed card with the reason."""

    id: str
    state: ModelState
    card: ModelCard | None = None
    error: str | None = None
    session: Any = None  # onnxruntime.InferenceSession of the generator / segmenter
    style_session: Any = None  # SPADE style encoder
    bank: ExemplarBank | None = None  # the hybrid's photo segments, composed into the refiner's canvas
    landscape: LandscapeRenderer | None = None  # a hybrid painted by patch synthesis (no session)
    latency_ms: float | None = None
    feed_names: dict[str, str] = field(default_factory=dict)  # interface input name -> generator input name
    thumbnails: dict[str, Path] = field(default_factory=dict)  # preset id -> file inside the weights folder
    samples: Path | None = None

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    @property
    def z_dim(self) -> int | None:
        if self.card is None or self.card.style_encoder is None:
            return None
        return self.card.style_encoder.z_dim

    @property
    def style_dim(self) -> int | None:
        """Numbers in a style: SPADE's z_dim, the hybrid's colour statistics; None for models without styles."""
        if self.card is not None and self.card.exemplar_bank is not None:
            return self.card.exemplar_bank.style_dim
        return self.z_dim

    @cached_property
    def style_code_gaussian(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean [z_dim], lower-triangular scale [z_dim, z_dim]) of the card's random-style Gaussian."""
        codes = self.card.style_encoder
        return np.asarray(codes.code_mean), np.asarray(codes.code_scale)

    def preset(self, preset_id: str) -> StylePreset | None:
        if self.card is None:
            return None
        return next((p for p in self.card.style_presets if p.id == preset_id), None)


def available_providers() -> list[str]:
    """CUDA when onnxruntime-gpu sees a GPU, then CPU."""
    offered = ort.get_available_providers()
    return [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in offered]


def session_options(intra_op_threads: int) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle threads must sleep, not spin: the event loop and other processes share these cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


def rgb_tensor(rgb: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 3] -> float32 [1, 3, H, W] in [-1, 1], the generators' output layout."""
    return (rgb.astype(np.float32).transpose(2, 0, 1)[None] / 127.5 - 1.0)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def weights_file(weights_dir: Path, relative: str) -> Path:
    """A file named by a card, refusing anything that would leave the weights folder."""
    candidate = Path(relative)
    if candidate.is_absolute() or ".." in candidate.parts:
        raise ModelLoadError(f"path {relative!r} must be relative and stay inside the weights folder")
    return weights_dir / candidate


def _checked_file(weights_dir: Path, relative: str, sha256: str, what: str) -> Path:
    """A file the card names, present and with the card's sha256."""
    path = weights_file(weights_dir, relative)
    if not path.is_file():
        raise ModelLoadError(f"{what} {relative} is missing")
    try:
        actual = file_sha256(path)
    except OSError as exc:
        raise ModelLoadError(f"cannot read {what} {relative}: {exc}") from exc
    if actual != sha256:
        raise ModelLoadError(f"{what} {relative} has sha256 {actual[:12]}…, the card says {sha256[:12]}… "
                             "(truncated or replaced?)")
    return path


def _open_session(weights_dir: Path, relative: str, sha256: str, options: ort.SessionOptions) -> Any:
    path = _checked_file(weights_dir, relative, sha256, "ONNX file")
    try:
        return ort.InferenceSession(str(path), options, providers=available_providers())
    except Exception as exc:  # onnxruntime raises several unrelated types for a bad graph
        raise ModelLoadError(f"onnxruntime cannot load {relative}: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def _renamed(feeds: dict[str, np.ndarray], names: dict[str, str]) -> dict[str, np.ndarray]:
    return {names.get(name, name): value for name, value in feeds.items()}


def _measure_latency_ms(render: Callable[[], object]) -> float:
    render()  # warm-up: first run allocates and picks kernels (and decodes the hybrid's bank photos)
    times = []
    for _ in range(LATENCY_RUNS):
        start = time.perf_counter()
        render()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def num_classes(card: ModelCard) -> int:
    """Class ids of a label set are 0..n-1 (docs/ARCHITECTURE.md)."""
    return max(c.id for c in card.label_set.classes) + 1


def hybrid_feeds(card: ModelCard, bank: ExemplarBank, labels: np.ndarray, style: np.ndarray,
                 seed: int) -> dict[str, np.ndarray]:
    """The refiner's feeds for a label map uint8 [S, S]: its canvas of bank segments in the style [6]."""
    canvas = compose(bank, labels, style, seed, num_classes(card))
    return refiner_feeds(labels, canvas)


def _load_bank(card: ModelCard, weights_dir: Path) -> ExemplarBank:
    spec = card.exemplar_bank
    path = _checked_file(weights_dir, spec.file, spec.sha256, "exemplar bank")
    if spec.style_dim != STYLE_DIM:
        raise ModelLoadError(f"exemplar_bank.style_dim is {spec.style_dim}; the server's styles have {STYLE_DIM}")
    try:
        bank = ExemplarBank.load(path)
    except Exception as exc:  # ValueError for a bad bank; a damaged zip also raises zipfile and zlib errors
        raise ModelLoadError(f"exemplar bank {spec.file} cannot be loaded: {_first_line(exc)}") from exc
    if bank.num_photos != spec.photos:
        raise ModelLoadError(f"exemplar bank {spec.file} has {bank.num_photos} photos, the card says {spec.photos}")
    return bank


def _load_patch_synthesis(card: ModelCard, weights_dir: Path, threads: int) -> LoadedModel:
    """A hybrid with no graph: the bank and the landscape renderer, warmed up (which also compiles or loads
    the cached kernels) and timed on a painting of every class."""
    bank = _load_bank(card, weights_dir)
    try:
        counts_as = {c.id: c.counts_as for c in card.label_set.classes if c.counts_as is not None}
        renderer = LandscapeRenderer(bank, num_classes(card), card.picture_side, threads=threads,
                                     cloud_snow=cloud_snow_ids(card.label_set), counts_as=counts_as)
        labels, style = class_bands(card), bank.random_style(0)
        latency_ms = _measure_latency_ms(lambda: renderer.render(labels, style, seed=0))
    except Exception as exc:  # a bank the renderer cannot use
        raise ModelLoadError(f"landscape renderer cannot paint: {_first_line(exc)}") from exc
    return LoadedModel(id=card.id, state="ready", card=card, bank=bank, landscape=renderer,
                       latency_ms=round(latency_ms, 2))


def load_model(card: ModelCard, weights_dir: Path, options: ort.SessionOptions) -> LoadedModel:
    """Open, check and warm up one card's sessions; raises ModelLoadError with the reason."""
    if card.graphless:
        return _with_presets(_load_patch_synthesis(card, weights_dir, options.intra_op_num_threads), weights_dir)
    signature = signature_for(card)
    session = _open_session(weights_dir, card.onnx, card.onnx_sha256, options)
    if mismatch := signature_mismatch(session, signature):
        raise ModelLoadError(f"{card.onnx} does not match the interface for {card.kind}/{card.input_kind}: {mismatch}")
    style_session = None
    if card.style_encoder is not None:
        style_session = _open_session(weights_dir, card.style_encoder.onnx, card.style_encoder.onnx_sha256, options)
        if mismatch := signature_mismatch(style_session, STYLE_ENCODER_SIGNATURE):
            raise ModelLoadError(f"style encoder {card.style_encoder.onnx} does not match the interface: {mismatch}")
    bank = _load_bank(card, weights_dir) if card.exemplar_bank is not None else None
    z_dim = card.style_encoder.z_dim if card.style_encoder is not None else None
    feed_names = input_names(session, signature)
    if bank is not None:  # the hybrid's latency is a painting's: compose, then refine
        labels, style = class_bands(card), bank.random_style(0)  # every class: each one is retrieved
        render = lambda: session.run(None, hybrid_feeds(card, bank, labels, style, seed=0))
    else:
        feeds = _renamed(warmup_feeds(card, signature, z_dim), feed_names)
        render = lambda: session.run(None, feeds)
    try:
        latency_ms = _measure_latency_ms(render)
        if style_session is not None:
            style_session.run(None, warmup_feeds(card, STYLE_ENCODER_SIGNATURE, z_dim))
    except Exception as exc:  # any failure of a warm-up run means the model cannot serve
        raise ModelLoadError(f"warm-up run failed: {_first_line(exc)}") from exc
    model = LoadedModel(id=card.id, state="ready", card=card, session=session, style_session=style_session,
                        bank=bank, latency_ms=round(latency_ms, 2), feed_names=feed_names)
    return _with_presets(model, weights_dir)


def _with_presets(model: LoadedModel, weights_dir: Path) -> LoadedModel:
    """The model with its presets' thumbnails and its sample sheet found in the weights folder."""
    card = model.card
    for preset in card.style_presets:
        thumbnail = weights_file(weights_dir, preset.thumbnail)
        if thumbnail.is_file():
            model.thumbnails[preset.id] = thumbnail
        else:
            log.warning("model %s: thumbnail %s of preset %s is missing", card.id, preset.thumbnail, preset.id)
    if card.samples is not None:
        samples = weights_file(weights_dir, card.samples)
        model.samples = samples if samples.is_file() else None
    return model


def load_registry(weights_dir: Path, intra_op_threads: int) -> dict[str, LoadedModel]:
    """Every `*.json` card in the folder, in file-name order; a bad one becomes a failed entry."""
    options = session_options(intra_op_threads)
    registry: dict[str, LoadedModel] = {}
    for card_path in sorted(weights_dir.glob("*.json")) if weights_dir.is_dir() else []:
        try:
            card = load_card(card_path)
        except Exception as exc:  # unreadable JSON or a card that fails the schema
            registry[card_path.stem] = LoadedModel(id=card_path.stem, state="failed",
                                                   error=f"invalid card {card_path.name}: {_first_line(exc)}")
            log.error("model %s failed: %s", card_path.stem, registry[card_path.stem].error)
            continue
        if card.id in registry:
            log.error("card %s repeats model id %s; ignored", card_path.name, card.id)
            continue
        try:
            registry[card.id] = load_model(card, weights_dir, options)
            log.info("model %s loaded (%s, %s px, %.1f ms)", card.id, card.kind, card.size,
                     registry[card.id].latency_ms)
        except (ModelLoadError, ValueError) as exc:
            registry[card.id] = LoadedModel(id=card.id, state="failed", card=card, error=str(exc))
            log.error("model %s failed: %s", card.id, exc)
    return registry


class InferenceEngine:
    """The registry plus a bounded number of concurrent model runs (a thread semaphore)."""

    def __init__(self, models: dict[str, LoadedModel], max_concurrent_runs: int,
                 observer: RunObserver | None = None) -> None:
        self.models = models
        self.observer = observer
        self._runs = threading.BoundedSemaphore(max_concurrent_runs)

    @classmethod
    def load(cls, weights_dir: Path, intra_op_threads: int, max_concurrent_runs: int) -> "InferenceEngine":
        return cls(load_registry(weights_dir, intra_op_threads), max_concurrent_runs)

    def ready_models(self) -> list[LoadedModel]:
        return [m for m in self.models.values() if m.ready]

    def get(self, model_id: str, what: str = "model") -> LoadedModel:
        """A ready model by id; 404 for an id not in the registry, 503 for one that failed to load."""
        model = self.models.get(model_id)
        if model is None:
            raise ApiError(404, f"unknown {what} {model_id!r}")
        if not model.ready:
            raise ApiError(503, f"{what} {model_id!r} is not available: {model.error}")
        return model

    def default_translator(self) -> LoadedModel | None:
        """The model the painter opens with (see TRANSLATOR_PREFERENCE)."""
        return preferred_translator(self.ready_models())

    def default_segmenter(self) -> LoadedModel | None:
        return next((m for m in self.ready_models() if m.card.kind == "segmenter"), None)

    def filter_ids(self) -> list[str]:
        return [m.id for m in self.ready_models() if m.card.kind == "cyclegan"]

    def run(self, model: LoadedModel, graph: Graph, feeds: dict[str, np.ndarray],
            outputs: list[str] | None) -> tuple[list[np.ndarray], float]:
        """Run one graph of a model; returns its outputs and the milliseconds spent inside onnxruntime."""
        if graph == "style_encoder":
            session = model.style_session
        else:
            session, feeds = model.session, _renamed(feeds, model.feed_names)
        with self._runs:
            start = time.perf_counter()
            try:
                result = session.run(outputs, feeds)
            except Exception as exc:  # a model that raises fails this request only
                log.error("model %s (%s) raised: %s", model.id, graph, exc)
                raise ApiError(500, f"model {model.id!r} failed to run: {_first_line(exc)}") from exc
            seconds = time.perf_counter() - start
        if self.observer is not None:
            self.observer(model.id, seconds)
        return result, seconds * 1000

    def generate(self, model: LoadedModel, feeds: dict[str, np.ndarray]) -> tuple[np.ndarray, float]:
        """image [1, 3, H, W] from a generator (spade, pix2pix, cyclegan)."""
        (image,), ms = self.run(model, "generator", feeds, ["image"])
        if image.ndim != 4 or image.shape[:2] != (1, 3):
            raise ApiError(500, f"model {model.id!r} returned an image of shape {list(image.shape)}")
        return image, ms

    def render_hybrid(self, model: LoadedModel, labels: np.ndarray, style: np.ndarray,
                      seed: int, preset: bool = False, aspect: float = 1.0) -> tuple[np.ndarray, float]:
        """image [1, 3, S, S] of a hybrid model for labels int64 [1, 1, S, S] and a style [6]; the
        milliseconds count the composition too, since it is part of what the model costs. `aspect`: the
        width / height the picture will be shown at (the landscape renderer keeps textures' proportions)."""
        if model.landscape is not None:
            for frame, ms in self.landscape_frames(model, labels[0, 0].astype(np.uint8), style, seed, None, preset,
                                                   aspect=aspect):
                pass
            return rgb_tensor(frame.rgb), ms
        start = time.perf_counter()
        feeds = hybrid_feeds(model.card, model.bank, labels[0, 0].astype(np.uint8), style, seed)
        compose_ms = (time.perf_counter() - start) * 1000
        image, ms = self.generate(model, feeds)
        return image, compose_ms + ms

    def landscape_frames(self, model: LoadedModel, labels: np.ndarray, style: np.ndarray, seed: int,
                         state: RenderState | None = None, preset: bool = False,
                         photo: StylePhoto | None = None, aspect: float = 1.0) -> Iterator[tuple[Frame, float]]:
        """The patch-synthesis renderer's pictures, coarse to fine, each with the milliseconds so far. Each
        level holds a run slot only while it computes, so a painter that stops asking frees it at once."""
        frames = model.landscape.frames(labels, style, seed, state, preset, photo, aspect)
        elapsed = 0.0
        while True:
            with self._runs:
                start = time.perf_counter()
                try:
                    frame = next(frames, None)
                except Exception as exc:  # a renderer fault fails this request only
                    log.error("model %s raised: %s", model.id, exc)
                    raise ApiError(500, f"model {model.id!r} failed to run: {_first_line(exc)}") from exc
                seconds = time.perf_counter() - start
            if frame is None:
                return
            elapsed += seconds * 1000
            if self.observer is not None:
                self.observer(model.id, seconds)
            yield frame, elapsed

    def encode_style(self, model: LoadedModel, image: np.ndarray) -> tuple[np.ndarray, float]:
        """The style code mu [z_dim] of an image [1, 3, H, W]."""
        (mu,), ms = self.run(model, "style_encoder", {"image": image}, ["mu"])
        if mu.shape != (1, model.z_dim):
            raise ApiError(500, f"style encoder of {model.id!r} returned shape {list(mu.shape)}")
        return mu[0].astype(np.float32), ms

    def segment(self, model: LoadedModel, image: np.ndarray) -> tuple[np.ndarray, float]:
        """labels [1, 1, H, W] of a photo [1, 3, H, W]."""
        (labels,), ms = self.run(model, "generator", {"image": image}, ["labels"])
        if labels.ndim != 4 or labels.shape[:2] != (1, 1):
            raise ApiError(500, f"model {model.id!r} returned labels of shape {list(labels.shape)}")
        return labels, ms
