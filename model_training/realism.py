"""`python -m model_training evaluate-realism`: how photo-like are the pictures of label -> photo models?

On the Stanford Background validation maps, for each model served from a weights folder (rendered through
the server's own `backend.pipeline.render_labels`, so what is measured is what the painter shows) and for
each labels -> photo training run given as a baseline:

- C2ST (model_training.c2st): the real validation photos against the model's pictures of the same maps,
  with a real-vs-real sanity row (validation photos against as many training photos) that must be ≈ 0.5.
- FCN-score by two judges: the shipped segmenter, and the independent judge (a dilated segmenter trained on
  the real photos only, which no generator trains against); each with its oracle row on the real photos.
- Round trip of painted layouts (model_training.painted_layouts): how well the judges' reading of each
  model's picture agrees with what was painted.
- The checkerboard index of each model's pictures (model_training.checkerboard).
- Side-by-side sheets: labels | each model | real on validation maps, labels | each model for the layouts.

Writes OUT/realism.json (per model, for the model cards' metrics) and the sheets.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from model_training.c2st import C2stConfig, c2st
from model_training.checkerboard import REFERENCE_PHOTOS, measured_or_why_not
from model_training.checkpoints import load_run
from model_training.data.folders import LabelPhotoFolder
from model_training.data.transforms import Geometry, tensor_to_uint8
from model_training.evaluate import Confusion, _labels_to_photo, load_segmenter
from model_training.labelsets import LANDSCAPE, colourise
from model_training.painted_layouts import painted_layouts
from model_training.style_codes import training_code_distribution

SIDE = 256  # every picture is judged at this side
JPEG_QUALITY = 90
SEGMENT_BATCH = 8
SHEET_MAPS = 8
SHEET_TILE = 192
REFERENCE_SEED = 0  # which training photos stand in for the second real set


@dataclass(frozen=True)
class RealismConfig:
    data: Path  # a Stanford-Background-style root: images/, labels/, splits/{train,val}.txt
    judge: Path  # the independent judge's exported graph (next to its card)
    segmenter: Path  # the shipped segmenter's exported graph
    out: Path
    weights: Path = Path("weights")
    models: list[str] = field(default_factory=list)  # ids of served label -> photo models
    baseline_runs: list[Path] = field(default_factory=list)  # SPADE / pix2pix training runs, e.g. not shipped
    limit: int | None = None
    seeds: int = 3
    painted_styles: int = 2  # seeded random styles per painted layout
    c2st: C2stConfig = C2stConfig()
    checkerboard_reference: Path | None = Path(REFERENCE_PHOTOS)  # model_training.checkerboard


@dataclass(frozen=True)
class Painter:
    """A label -> photo model: `render(labels uint8 [size, size], seed)` -> uint8 [size, size, 3]."""

    name: str
    source: str
    size: int
    render: Callable[[np.ndarray, int], np.ndarray]

    def paint(self, labels: np.ndarray, seed: int) -> np.ndarray:
        """A picture of a label map of any size, at SIDE."""
        return resized(self.render(resized_labels(labels, self.size), seed), SIDE)


@dataclass(frozen=True)
class PhotoSet:
    photos: np.ndarray  # uint8 [N, SIDE, SIDE, 3]: centre squares resized as `evaluate` sees them
    labels: np.ndarray  # uint8 [N, SIDE, SIDE]
    source_sides: list[int]  # each photo file's shorter side (the square it was resized from)


def resized(rgb: np.ndarray, side: int) -> np.ndarray:
    if rgb.shape[:2] == (side, side):
        return rgb
    return np.asarray(Image.fromarray(rgb).resize((side, side), Image.Resampling.BICUBIC))


def resized_labels(labels: np.ndarray, side: int) -> np.ndarray:
    if labels.shape == (side, side):
        return labels
    return np.asarray(Image.fromarray(labels).resize((side, side), Image.Resampling.NEAREST))


def jpeg(rgb: np.ndarray) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return np.asarray(Image.open(buffer).convert("RGB"))


def judged(picture: np.ndarray) -> np.ndarray:
    """The last step every picture the C2ST sees goes through: resized to SIDE, JPEG-encoded."""
    return jpeg(resized(picture, SIDE))


def as_photo_file(picture: np.ndarray, source_side: int) -> np.ndarray:
    """A generated picture given the history a real photo had before `judged`: stored as a JPEG at its
    source side and resized to SIDE from there. Without this the classifier could tell real from generated
    by resampling and compression traces alone."""
    return resized(jpeg(resized(picture, source_side)), SIDE)


def load_photos(root: Path, split: str, limit: int | None = None, pick_seed: int | None = None) -> PhotoSet:
    """A split's photos and label maps at SIDE; the first `limit`, or `limit` picked at random by `pick_seed`."""
    folder = LabelPhotoFolder([root], split, Geometry(SIDE, SIDE, False))
    count = min(limit or len(folder), len(folder))
    if pick_seed is None:
        indices = list(range(count))
    else:
        indices = sorted(np.random.default_rng(pick_seed).choice(len(folder), count, replace=False).tolist())
    samples = [folder[i] for i in indices]
    return PhotoSet(photos=np.stack([tensor_to_uint8(s["image"]) for s in samples]),
                    labels=np.stack([s["labels"][0].numpy().astype(np.uint8) for s in samples]),
                    source_sides=[min(Image.open(folder.items[i][0]).size) for i in indices])


def served_painters(weights: Path, model_ids: list[str]) -> list[Painter]:
    """The weights folder's models, rendered as the server renders them."""
    from backend import pipeline
    from backend.engine import InferenceEngine
    from backend.errors import ApiError

    if not model_ids:
        return []
    engine = InferenceEngine.load(weights, intra_op_threads=1, max_concurrent_runs=1)
    painters = []
    for model_id in model_ids:
        try:
            model = engine.get(model_id)
        except ApiError as error:
            raise ValueError(f"{weights}: {error.message}") from None
        card = model.card
        if card.input_kind != "labels" or card.label_set is None or card.label_set.name != LANDSCAPE.name:
            raise ValueError(f"model {model_id!r} does not paint {LANDSCAPE.name} label maps")
        render = lambda labels, seed, model=model: pipeline.render_labels(engine, model, labels, seed)
        painters.append(Painter(model_id, str(weights / f"{model_id}.json"), card.size, render))
    return painters


def run_painter(run_dir: Path) -> Painter:
    """A SPADE or pix2pix training run's torch generator; SPADE with seeded random styles as the painter
    draws them (the training codes' Gaussian at the config's truncation)."""
    config, modules, _ = load_run(run_dir)
    if (config.family not in ("spade", "pix2pix") or config.export.input_kind != "labels"
            or config.data.label_set != LANDSCAPE.name):
        raise ValueError(f"{run_dir} is not a labels -> photo run on {LANDSCAPE.name}")
    generate = _labels_to_photo(config, modules, None)
    codes = None
    if config.family == "spade":
        codes = training_code_distribution(config, modules["encoder"]).truncated(config.export.style_truncation)

    @torch.no_grad()
    def render(labels: np.ndarray, seed: int) -> np.ndarray:
        style = None if codes is None else codes.sample(1, torch.Generator().manual_seed(seed))
        return tensor_to_uint8(generate(torch.from_numpy(labels.astype(np.int64))[None, None], style)[0])

    return Painter(Path(run_dir).name, str(run_dir), config.export.size, render)


def _as_images(pictures: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(pictures).permute(0, 3, 1, 2).float() / 127.5 - 1


def confusion_of(segment, pictures: np.ndarray, labels: np.ndarray) -> Confusion:
    confusion = Confusion(LANDSCAPE)
    for start in range(0, len(pictures), SEGMENT_BATCH):
        truth = torch.from_numpy(labels[start:start + SEGMENT_BATCH].astype(np.int64))[:, None]
        confusion.add(truth, segment(_as_images(pictures[start:start + SEGMENT_BATCH])))
    return confusion


def painted_round_trip(painter: Painter, segmenters: dict, layouts: dict[str, np.ndarray],
                       styles: int) -> tuple[dict, list[np.ndarray]]:
    """Each judge's agreement with the painted layouts (over `styles` random styles each), overall and per
    layout; and the first style's pictures for the sheet."""
    pictures = {name: np.stack([painter.paint(layout, seed) for seed in range(styles)])
                for name, layout in layouts.items()}
    result = {}
    for judge, segment in segmenters.items():
        overall = Confusion(LANDSCAPE)
        per_layout = {}
        for name, layout in layouts.items():
            confusion = confusion_of(segment, pictures[name], np.stack([layout] * styles))
            overall.matrix += confusion.matrix
            per_layout[name] = confusion.scores()["pixel_accuracy"]
        scores = overall.scores()
        result[judge] = {"pixel_agreement": scores["pixel_accuracy"],
                         "mean_class_agreement": scores["mean_class_accuracy"], "miou": scores["miou"],
                         "per_layout_pixel_agreement": per_layout}
    return result, [p[0] for p in pictures.values()]


def save_sheet(columns: list[str], rows: list[list[np.ndarray]], path: Path) -> None:
    """A grid of SHEET_TILE tiles under a header naming each column."""
    gap, header = 4, 18
    sheet = Image.new("RGB", (len(columns) * (SHEET_TILE + gap) - gap, header + len(rows) * (SHEET_TILE + gap)),
                      "white")
    draw = ImageDraw.Draw(sheet)
    for j, name in enumerate(columns):
        draw.text((j * (SHEET_TILE + gap) + 4, 3), name, fill="black")
    for i, row in enumerate(rows):
        for j, tile in enumerate(row):
            corner = (j * (SHEET_TILE + gap), header + i * (SHEET_TILE + gap))
            sheet.paste(Image.fromarray(resized(tile, SHEET_TILE)), corner)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


def evaluate_realism(cfg: RealismConfig, command: str) -> dict:
    torch.set_num_threads(1)  # a shared machine: one core, like the trainings
    painters = served_painters(cfg.weights, cfg.models) + [run_painter(run) for run in cfg.baseline_runs]
    if not painters:
        raise ValueError("name at least one model (--models) or training run (--baseline-run)")
    segmenters = {"shipped_segmenter": load_segmenter(cfg.segmenter, LANDSCAPE.name),
                  "judge": load_segmenter(cfg.judge, LANDSCAPE.name)}
    val = load_photos(cfg.data, "val", cfg.limit)
    reference = load_photos(cfg.data, "train", len(val.photos), pick_seed=REFERENCE_SEED)
    real = np.stack([judged(p) for p in val.photos])
    pairs = min(len(real), len(reference.photos))
    other_real = np.stack([judged(p) for p in reference.photos[:pairs]])
    oracles = {name: confusion_of(segment, val.photos, val.labels).scores() for name, segment in segmenters.items()}
    print(f"oracles: {json.dumps(oracles)}", flush=True)
    report: dict = {
        "command": command, "data": str(cfg.data), "images": len(real),
        "judge": str(cfg.judge), "shipped_segmenter": str(cfg.segmenter),
        "pipeline": (f"real photos: centre squares resized to {SIDE}, JPEG q{JPEG_QUALITY}; generated pictures: "
                     f"resized to their photo's source side, JPEG q{JPEG_QUALITY}, then the same"),
        "c2st_config": asdict(cfg.c2st) | {"seeds": cfg.seeds},
        "real_vs_real": {"c2st": c2st(real[:pairs], other_real, cfg.seeds, cfg.c2st),
                         "reference": f"{pairs} Stanford train photos picked with seed {REFERENCE_SEED}"},
        "oracles": {f"fcn_{name}": scores for name, scores in oracles.items()},
        "models": {},
    }
    print(f"real vs real: {report['real_vs_real']['c2st']}", flush=True)

    layouts = painted_layouts(SIDE)
    sheet_maps = sorted(set(np.linspace(0, len(real) - 1, min(SHEET_MAPS, len(real))).round().astype(int).tolist()))
    val_rows = [[colourise(val.labels[i], LANDSCAPE)] for i in sheet_maps]
    painted_rows = [[colourise(layout, LANDSCAPE)] for layout in layouts.values()]
    for painter in painters:
        # Seed i for map i: a random style per map, as the painter draws them, the same for every run.
        pictures = np.stack([painter.paint(labels, seed) for seed, labels in enumerate(val.labels)])
        generated = np.stack([judged(as_photo_file(p, side)) for p, side in zip(pictures, val.source_sides)])
        entry: dict = {"source": painter.source, "c2st": c2st(real, generated, cfg.seeds, cfg.c2st),
                       "checkerboard": measured_or_why_not(pictures, cfg.checkerboard_reference)}
        for name, segment in segmenters.items():
            scores = confusion_of(segment, pictures, val.labels).scores()
            scores["over_oracle_pixel_accuracy"] = round(
                scores["pixel_accuracy"] / max(oracles[name]["pixel_accuracy"], 1e-9), 3)
            entry[f"fcn_{name}"] = scores
        entry["painted_round_trip"], painted = painted_round_trip(painter, segmenters, layouts, cfg.painted_styles)
        report["models"][painter.name] = entry
        for row, i in zip(val_rows, sheet_maps):
            row.append(pictures[i])
        for row, picture in zip(painted_rows, painted):
            row.append(picture)
        print(f"{painter.name}: {json.dumps(entry)}", flush=True)

    names = [p.name for p in painters]
    save_sheet(["labels", *names, "real photo"], [row + [val.photos[i]] for row, i in zip(val_rows, sheet_maps)],
               cfg.out / "realism-validation.png")
    save_sheet(["painted labels", *names], painted_rows, cfg.out / "realism-painted.png")
    report["sheets"] = {"validation": "realism-validation.png", "painted": "realism-painted.png",
                        "painted_layouts": list(layouts)}
    cfg.out.mkdir(parents=True, exist_ok=True)
    (cfg.out / "realism.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
