"""Do a landscape model's style presets look like their thumbnails?

Each preset paints the six painted layouts of the sample sheets (model_training.painted_layouts) through the
server's own pipeline. A picture's look is the mean and standard deviation of its R, G, B in [0, 1] (six
numbers, `backend.hybrid.colour_style`), and its distance to a thumbnail is the L1 distance between the two
looks. A picture should be nearer its own preset's thumbnail than any other preset's: one that is not paints
another preset's look, which is a bug. Works for any label model with presets (SPADE, the hybrid).

`python -m model_training measure-presets --model ID` prints the table and writes it into the card's
metrics as `preset_looks`.
"""

from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from backend import pipeline
from backend.cards import load_card, write_card
from backend.engine import InferenceEngine, LoadedModel
from backend.errors import ApiError
from backend.hybrid import colour_style
from model_training.painted_layouts import painted_layouts

# The hybrid composes its canvas from the seed; presets are measured on one fixed composition.
SEED = 0


@dataclass(frozen=True)
class PresetLook:
    """One row of the table: how near one preset's pictures are to its own and to the other thumbnails."""

    preset: str
    own: float  # mean distance of its pictures to its own thumbnail
    nearest_other: str  # the other preset whose thumbnail its pictures are nearest on average
    nearest_other_distance: float
    pictures_nearest_own: int  # pictures whose nearest thumbnail is their own
    pictures: int


def looks_model(engine: InferenceEngine, model_id: str) -> LoadedModel:
    try:
        model = engine.get(model_id)
    except ApiError as error:
        raise ValueError(error.message) from None
    if model.card.input_kind != "labels" or not model.card.style_presets:
        raise ValueError(f"model {model_id!r} is not a label model with style presets")
    missing = [p.id for p in model.card.style_presets if p.id not in model.thumbnails]
    if missing:
        raise ValueError(f"model {model_id!r}: no thumbnail file for preset(s) {', '.join(missing)}")
    return model


def thumbnail_looks(model: LoadedModel) -> np.ndarray:
    """[P, 6]: the look of each preset's thumbnail, in the card's preset order."""
    looks = []
    for preset in model.card.style_presets:
        with Image.open(model.thumbnails[preset.id]) as thumbnail:
            looks.append(colour_style(np.asarray(thumbnail.convert("RGB"))))
    return np.stack(looks)


def picture_looks(engine: InferenceEngine, model: LoadedModel, code: np.ndarray,
                  layouts: list[np.ndarray]) -> np.ndarray:
    """[L, 6]: the look of the picture `code` paints on each layout."""
    return np.stack([colour_style(pipeline.render_labels(engine, model, labels, SEED, style=code, preset=True))
                     for labels in layouts])


def distances(pictures: np.ndarray, thumbnails: np.ndarray) -> np.ndarray:
    """[..., 6] looks of pictures, [P, 6] of thumbnails -> [..., P] L1 distances."""
    return np.abs(pictures[..., None, :] - thumbnails).sum(-1)


def summarise(preset_ids: list[str], table: np.ndarray) -> list[PresetLook]:
    """table [P, L, P]: distance of preset p's picture on layout l to preset q's thumbnail."""
    rows = []
    for p, preset in enumerate(preset_ids):
        mean = table[p].mean(0)
        others = [q for q in range(len(preset_ids)) if q != p]
        nearest = min(others, key=lambda q: mean[q]) if others else p
        rows.append(PresetLook(preset=preset, own=round(float(mean[p]), 4), nearest_other=preset_ids[nearest],
                               nearest_other_distance=round(float(mean[nearest]), 4),
                               pictures_nearest_own=int((table[p].argmin(1) == p).sum()),
                               pictures=table.shape[1]))
    return rows


def measure(engine: InferenceEngine, model: LoadedModel) -> list[PresetLook]:
    layouts = list(painted_layouts(model.card.size).values())
    thumbnails = thumbnail_looks(model)
    table = np.stack([distances(picture_looks(engine, model, np.asarray(p.code, np.float32), layouts), thumbnails)
                      for p in model.card.style_presets])
    return summarise([p.id for p in model.card.style_presets], table)


def format_table(rows: list[PresetLook]) -> list[str]:
    lines = ["preset | own thumbnail | nearest other thumbnail | pictures nearest their own",
             "--- | --- | --- | ---"]
    lines += [f"{r.preset} | {r.own:.3f} | {r.nearest_other} {r.nearest_other_distance:.3f} | "
              f"{r.pictures_nearest_own}/{r.pictures}" for r in rows]
    return lines


def misses(rows: list[PresetLook]) -> list[str]:
    """Presets with a picture nearer another preset's thumbnail than its own."""
    return [r.preset for r in rows if r.pictures_nearest_own < r.pictures]


def record(card_path: Path, rows: list[PresetLook], command: str) -> None:
    """Write the table into the card's metrics (nothing else of the card changes)."""
    card = load_card(card_path)
    metrics = {**card.metrics, "preset_looks": {
        "command": command,
        "what": "Each preset paints the six painted layouts of the sample sheets; a picture's look is the mean "
                "and std of its R, G, B in [0, 1], its distance to a thumbnail the L1 distance between looks. "
                "'own' and 'nearest other' are means over the six pictures.",
        "table": format_table(rows),
        "rows": [asdict(r) for r in rows],
        "misses": misses(rows)}}
    write_card(card.model_copy(update={"metrics": metrics}), card_path)


def measure_presets(weights: Path, model_id: str, write: bool) -> list[PresetLook]:
    engine = InferenceEngine.load(weights, intra_op_threads=1, max_concurrent_runs=1)
    rows = measure(engine, looks_model(engine, model_id))
    if write:
        command = shlex.join(["python", "-m", "model_training", "measure-presets", "--weights", str(weights),
                              "--model", model_id, "--write"])
        record(weights / f"{model_id}.json", rows, command)
    return rows
