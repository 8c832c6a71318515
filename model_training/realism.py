"""`python -m model_training evaluate-realism`: how photo-like are the pictures of label -> photo models?

On the Stanford Background validation maps, for each model served from a weights folder (rendered through
the server's own `backend.pipeline.render_labels`, so what is measured is what the painter shows; models
may come from several weights folders, so that one run compares, say, the shipped models with a new one)
and for each labels -> photo training run given as a baseline:

- C2ST (model_training.c2st) under each protocol of model_training.c2st_protocols: the real validation
  photos against the model's pictures of the same maps, with a real-vs-real sanity row (validation photos
  against as many training photos) that must be ≈ 0.5.
- FCN-score by two judges: the shipped segmenter, and the independent judge (a dilated segmenter trained on
  the real photos only, which no generator trains against); each with its oracle row on the real photos.
  Judged on centre squares at 256 px, as the segmenters were trained.
- Round trip of painted layouts (model_training.painted_layouts): how well the judges' reading of each
  model's picture agrees with what was painted.
- The checkerboard index of each model's pictures (model_training.checkerboard).
- Side-by-side sheets: labels | each model | real on validation maps, labels | each model for the layouts.

Writes OUT/realism.json (per model, for the model cards' metrics), the sheets, and OUT/c2st-cache.json
(each classifier's accuracy, so an interrupted run resumes).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from backend.cards import LabelSet
from backend.cloud_snow import cloud_snow_ids, with_cloud_and_snow

from model_training.c2st import AccuracyCache, C2stConfig, fitting_steps, summary
from model_training.c2st_protocols import PROTOCOLS, C2stProtocol, centre_square, framed_labels, resized
from model_training.checkerboard import REFERENCE_PHOTOS, measured_or_why_not
from model_training.checkpoints import load_run
from model_training.data.folders import LabelPhotoFolder
from model_training.data.transforms import tensor_to_uint8
from model_training.evaluate import Confusion, _labels_to_photo, load_segmenter
from model_training.labelsets import LANDSCAPE, colourise
from model_training.painted_layouts import painted_layouts
from model_training.style_codes import training_code_distribution

SIDE = 256  # the judges' FCN-scores and the sheets take centre squares of this side
SEGMENT_BATCH = 8
SHEET_MAPS = 8
SHEET_TILE = 192
REFERENCE_SEED = 0  # which training photos stand in for the second real set
REAL_VS_REAL = "real vs real"
WEATHER = with_cloud_and_snow(LANDSCAPE)  # the painted layouts' ids: the landscape renderer's label set
GRASS_ID = next(c.id for c in LANDSCAPE.classes if c.name == "grass")


@dataclass(frozen=True)
class ServedModel:
    """A model served from a weights folder, under the name the report and the sheets give it."""

    name: str
    weights: Path
    model_id: str

    @classmethod
    def parse(cls, spec: str) -> "ServedModel":
        """`NAME=DIR:MODEL_ID`, e.g. `new-renderer=../main/weights:hybrid-landscape`."""
        name, equals, rest = spec.partition("=")
        directory, colon, model_id = rest.rpartition(":")
        if not (equals and colon and name and directory and model_id):
            raise ValueError(f"{spec!r} is not NAME=DIR:MODEL_ID (e.g. new=../main/weights:hybrid-landscape)")
        return cls(name, Path(directory), model_id)


@dataclass(frozen=True)
class RealismConfig:
    data: Path  # a Stanford-Background-style root: images/, labels/, splits/{train,val}.txt
    judge: Path  # the independent judge's exported graph (next to its card)
    segmenter: Path  # the shipped segmenter's exported graph
    out: Path
    models: list[ServedModel] = field(default_factory=list)  # served label -> photo models, in sheet order
    baseline_runs: list[Path] = field(default_factory=list)  # SPADE / pix2pix training runs, e.g. not shipped
    limit: int | None = None
    seeds: int = 5
    painted_styles: int = 2  # seeded random styles per painted layout
    protocols: list[C2stProtocol] = field(default_factory=lambda: list(PROTOCOLS.values()))
    fit_steps: int | None = None  # a smoke run: every classifier fits for this many batches instead
    checkerboard_reference: Path | None = Path(REFERENCE_PHOTOS)  # model_training.checkerboard

    def __post_init__(self):
        names = [m.name for m in self.models] + [Path(r).name for r in self.baseline_runs]
        repeated = sorted({n for n in names if names.count(n) > 1 or n == REAL_VS_REAL})
        if repeated:
            raise ValueError(f"two models named {', '.join(repeated)}: give each --other-weights its own NAME")


@dataclass(frozen=True)
class Painter:
    """A label -> photo model: `render(labels uint8 [size, size], seed, aspect)` -> uint8 [size, size, 3],
    `aspect` being the width / height the picture is shown at (as `/translate` knows an upload's)."""

    name: str
    source: str
    size: int
    render: Callable[[np.ndarray, int, float], np.ndarray]


@dataclass(frozen=True)
class PhotoFile:
    photo: np.ndarray  # uint8 [H, W, 3] as decoded from the photo's file
    labels: np.ndarray  # uint8 [H, W], the label map at the photo's size

    @property
    def size(self) -> tuple[int, int]:
        return self.photo.shape[1], self.photo.shape[0]


def load_photo_files(root: Path, split: str, limit: int | None = None,
                     pick_seed: int | None = None) -> list[PhotoFile]:
    """A split's photos and label maps as stored; the first `limit`, or `limit` picked at random by `pick_seed`."""
    items = LabelPhotoFolder([root], split, None).items
    count = min(limit or len(items), len(items))
    if pick_seed is None:
        indices = list(range(count))
    else:
        indices = sorted(np.random.default_rng(pick_seed).choice(len(items), count, replace=False).tolist())
    files = []
    for index in indices:
        photo_path, label_path = items[index]
        photo = np.asarray(Image.open(photo_path).convert("RGB"))
        labels = np.asarray(Image.open(label_path))
        files.append(PhotoFile(photo, resized(labels, photo.shape[1::-1], Image.Resampling.NEAREST)))
    return files


def served_painters(models: list[ServedModel]) -> list[Painter]:
    """The models, rendered as the server renders them: one engine per weights folder."""
    from backend import pipeline
    from backend.engine import InferenceEngine
    from backend.errors import ApiError

    engines: dict[Path, InferenceEngine] = {}
    painters = []
    for served in models:
        if served.weights not in engines:
            if not served.weights.is_dir():
                raise ValueError(f"{served.weights}: no such weights folder (model {served.name!r})")
            engines[served.weights] = InferenceEngine.load(served.weights, intra_op_threads=1, max_concurrent_runs=1)
        engine = engines[served.weights]
        try:
            model = engine.get(served.model_id)
        except ApiError as error:
            raise ValueError(f"{served.weights}: {error.message}") from None
        card = model.card
        if card.input_kind != "labels" or card.label_set is None or card.label_set.name != LANDSCAPE.name:
            raise ValueError(f"model {served.model_id!r} does not paint {LANDSCAPE.name} label maps")
        render = (lambda labels, seed, aspect, engine=engine, model=model:
                  pipeline.render_labels(engine, model, readable_labels(labels, model.card.label_set), seed, aspect))
        painters.append(Painter(served.name, str(served.weights / f"{served.model_id}.json"), card.size, render))
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
    def render(labels: np.ndarray, seed: int, aspect: float) -> np.ndarray:  # a network ignores the aspect
        style = None if codes is None else codes.sample(1, torch.Generator().manual_seed(seed))
        labels = readable_labels(labels, LANDSCAPE)
        return tensor_to_uint8(generate(torch.from_numpy(labels.astype(np.int64))[None, None], style)[0])

    return Painter(Path(run_dir).name, str(run_dir), config.export.size, render)


def rendered_pictures(painters: list[Painter], photos: list[PhotoFile],
                      framings: set[str]) -> dict[str, dict[str, list[np.ndarray]]]:
    """Each painter's picture of each photo's label map under each framing, at the painter's size, to be
    shown at the photo's aspect ("whole") or square. Seed i for map i: a random style per map, as the painter
    draws them, the same in every run."""
    return {painter.name: {framing: [painter.render(framed_labels(f.labels, framing, painter.size), seed,
                                                    f.size[0] / f.size[1] if framing == "whole" else 1.0)
                                     for seed, f in enumerate(photos)] for framing in sorted(framings)}
            for painter in painters}


def paint_square(painter: Painter, labels: np.ndarray, seed: int) -> np.ndarray:
    """A picture of a square label map of any side, at that side."""
    side = labels.shape[0]
    picture = painter.render(resized(labels, (painter.size, painter.size), Image.Resampling.NEAREST), seed, 1.0)
    return resized(picture, (side, side))


def _as_images(pictures: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(pictures).permute(0, 3, 1, 2).float() / 127.5 - 1


def readable_labels(labels: np.ndarray, label_set: LabelSet) -> np.ndarray:
    """A painted map for a model of `label_set`: cloud and snow, where it lacks them, become the classes
    they count as (as the painter maps a drawing it carries to such a model)."""
    known = [c.id for c in label_set.classes]
    out = labels.copy()
    for c in WEATHER.classes:
        if c.id not in known:
            out[labels == c.id] = c.counts_as
    return out


def judged_truth(truth: torch.Tensor, predicted: torch.Tensor) -> torch.Tensor:
    """The 8-class truth a judge is scored against: painted cloud counts as sky, and painted snow as whichever
    of grass, road, mountain or tree the judge read there (else grass)."""
    ids = cloud_snow_ids(WEATHER)
    snow_read = torch.isin(predicted, torch.tensor(ids.snow_ground))
    truth = torch.where(truth == ids.cloud, ids.sky, truth)
    return torch.where(truth == ids.snow, torch.where(snow_read, predicted, GRASS_ID), truth)


def confusion_of(segment, pictures: np.ndarray, labels: np.ndarray) -> Confusion:
    confusion = Confusion(LANDSCAPE)
    for start in range(0, len(pictures), SEGMENT_BATCH):
        truth = torch.from_numpy(labels[start:start + SEGMENT_BATCH].astype(np.int64))[:, None]
        predicted = segment(_as_images(pictures[start:start + SEGMENT_BATCH]))
        confusion.add(judged_truth(truth, predicted), predicted)
    return confusion


def winter_photos(models: list[ServedModel]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(photo, snowfield mask) of the winter photos in the served models' exemplar banks: real snow, as the
    landscape renderer reads it (`bank_labels`), each photo's centre square at SIDE."""
    from backend.cards import load_card
    from backend.engine import weights_file
    from backend.hybrid import ExemplarBank
    from backend.landscape import Weather, bank_labels

    banks = {weights_file(m.weights, card.exemplar_bank.file) for m in models
             if (card := load_card(m.weights / f"{m.model_id}.json")).exemplar_bank is not None}
    ids = cloud_snow_ids(WEATHER)
    photos = []
    for path in sorted(banks):
        bank = ExemplarBank.load(path)
        for index in np.flatnonzero(bank.snow_only):
            photo, labels = bank_labels(bank, int(index), ids, Weather(snow=True), keep=False)
            snow = labels == ids.snow
            photos.append((centre_square(photo, SIDE, Image.Resampling.BICUBIC),
                           centre_square(snow.astype(np.uint8), SIDE, Image.Resampling.NEAREST) > 0))
    return photos


def real_snow_reading(segment, photos: list[tuple[np.ndarray, np.ndarray]]) -> dict:
    """What a judge reads real snow as (share of the snowfields' pixels per class), and the share the painted
    read-back would count right (any of grass, road, mountain or tree): the most painted snow can score."""
    ids = cloud_snow_ids(WEATHER)
    counts = np.zeros(len(LANDSCAPE.classes))
    for start in range(0, len(photos), SEGMENT_BATCH):
        batch = photos[start:start + SEGMENT_BATCH]
        predicted = segment(_as_images(np.stack([p for p, _ in batch])))[:, 0].numpy()
        masks = np.stack([m for _, m in batch])
        counts += np.bincount(predicted[masks].ravel(), minlength=len(counts))[:len(counts)]
    shares = counts / max(counts.sum(), 1)
    return {"photos": len(photos), "read_as": {c.name: round(float(shares[c.id]), 3) for c in LANDSCAPE.classes},
            "counted_right": round(float(shares[list(ids.snow_ground)].sum()), 3)}


def painted_round_trip(painter: Painter, segmenters: dict, layouts: dict[str, np.ndarray],
                       styles: int) -> tuple[dict, list[np.ndarray]]:
    """Each judge's agreement with the painted layouts (over `styles` random styles each), overall and per
    layout; and the first style's pictures for the sheet."""
    pictures = {name: np.stack([paint_square(painter, layout, seed) for seed in range(styles)])
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
            sheet.paste(Image.fromarray(resized(tile, (SHEET_TILE, SHEET_TILE))), corner)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


def _classifier(protocol: C2stProtocol, fit_steps: int | None) -> C2stConfig:
    return protocol.classifier if fit_steps is None else replace(protocol.classifier, fit_steps=fit_steps)


def _describe(protocol: C2stProtocol, fitting_pictures: int, fit_steps: int | None) -> dict:
    classifier = _classifier(protocol, fit_steps)
    return {"side": protocol.side, "framing": protocol.framing,
            "generated_file_jpeg_quality": protocol.file_quality, "final_jpeg_quality": protocol.final_quality,
            "classifier": asdict(classifier), "fitting_steps": fitting_steps(fitting_pictures, classifier)}


def c2st_rows(cfg: RealismConfig, protocol: C2stProtocol, val: list[PhotoFile], reference: list[PhotoFile],
              rendered: dict[str, dict[str, list[np.ndarray]]], cache: AccuracyCache) -> tuple[dict, dict]:
    """One protocol's C2ST: real vs real, and each painter's pictures (`rendered[painter][framing]`, map i
    with seed i) against the photos of the same maps. Seed by seed across the rows, so that a run stopped
    early has every row's first seeds."""
    classifier = _classifier(protocol, cfg.fit_steps)
    real = np.stack([protocol.real(f.photo) for f in val])
    other_real = np.stack([protocol.real(f.photo) for f in reference])
    pairs = {REAL_VS_REAL: (real[:len(other_real)], other_real)}
    for name, framings in rendered.items():
        pairs[name] = (real, np.stack([protocol.generated(picture, f.size)
                                       for picture, f in zip(framings[protocol.framing], val)]))
    results: dict[str, list[dict]] = {name: [] for name in pairs}
    for seed in range(cfg.seeds):
        for name, (first, second) in pairs.items():
            results[name].append(cache.result(first, second, seed, classifier))
            print(f"{protocol.name} seed {seed}: {name} {json.dumps(results[name][-1])}", flush=True)
    rows = {name: summary(seeds, len(pairs[name][0])) for name, seeds in results.items()}
    print(f"{protocol.name}: {json.dumps(rows)}", flush=True)
    return rows.pop(REAL_VS_REAL), rows


def evaluate_realism(cfg: RealismConfig, command: str) -> dict:
    torch.set_num_threads(1)  # a shared machine: one core, like the trainings
    painters = served_painters(cfg.models) + [run_painter(run) for run in cfg.baseline_runs]
    if not painters:
        raise ValueError("name at least one model (--models, --other-weights) or training run (--baseline-run)")
    segmenters = {"shipped_segmenter": load_segmenter(cfg.segmenter, LANDSCAPE.name),
                  "judge": load_segmenter(cfg.judge, LANDSCAPE.name)}
    val = load_photo_files(cfg.data, "val", cfg.limit)
    reference = load_photo_files(cfg.data, "train", len(val), pick_seed=REFERENCE_SEED)
    val_photos = np.stack([centre_square(f.photo, SIDE, Image.Resampling.BICUBIC) for f in val])
    val_labels = np.stack([centre_square(f.labels, SIDE, Image.Resampling.NEAREST) for f in val])
    oracles = {name: confusion_of(segment, val_photos, val_labels).scores() for name, segment in segmenters.items()}
    print(f"oracles: {json.dumps(oracles)}", flush=True)
    snow_photos = winter_photos(cfg.models)
    real_snow = ({name: real_snow_reading(segment, snow_photos) for name, segment in segmenters.items()}
                 if snow_photos else {})

    # The judges read centre squares.
    rendered = rendered_pictures(painters, val, {p.framing for p in cfg.protocols} | {"centre-square"})

    cache = AccuracyCache(cfg.out / "c2st-cache.json")
    report: dict = {
        "command": command, "data": str(cfg.data), "images": len(val),
        "judge": str(cfg.judge), "shipped_segmenter": str(cfg.segmenter), "seeds": cfg.seeds,
        "c2st_protocols": {p.name: _describe(p, 2 * (len(val) // 2), cfg.fit_steps) for p in cfg.protocols},
        "real_vs_real": {"reference": f"{len(reference)} Stanford train photos picked with seed {REFERENCE_SEED}",
                         "c2st": {}},
        "oracles": {f"fcn_{name}": scores for name, scores in oracles.items()}
                   | ({"real_snow": real_snow} if real_snow else {}),
        "models": {painter.name: {"source": painter.source, "c2st": {}} for painter in painters},
    }
    for protocol in cfg.protocols:
        real_vs_real, models = c2st_rows(cfg, protocol, val, reference, rendered, cache)
        report["real_vs_real"]["c2st"][protocol.name] = real_vs_real
        for name, result in models.items():
            report["models"][name]["c2st"][protocol.name] = result

    layouts = painted_layouts(SIDE, weather=True)
    sheet_maps = sorted(set(np.linspace(0, len(val) - 1, min(SHEET_MAPS, len(val))).round().astype(int).tolist()))
    val_rows = [[colourise(val_labels[i], LANDSCAPE)] for i in sheet_maps]
    painted_rows = [[colourise(layout, WEATHER)] for layout in layouts.values()]
    for painter in painters:
        pictures = np.stack([resized(p, (SIDE, SIDE)) for p in rendered[painter.name]["centre-square"]])
        entry = report["models"][painter.name]
        entry["checkerboard"] = measured_or_why_not(pictures, cfg.checkerboard_reference)
        for name, segment in segmenters.items():
            scores = confusion_of(segment, pictures, val_labels).scores()
            scores["over_oracle_pixel_accuracy"] = round(
                scores["pixel_accuracy"] / max(oracles[name]["pixel_accuracy"], 1e-9), 3)
            entry[f"fcn_{name}"] = scores
        entry["painted_round_trip"], painted = painted_round_trip(painter, segmenters, layouts, cfg.painted_styles)
        for row, i in zip(val_rows, sheet_maps):
            row.append(pictures[i])
        for row, picture in zip(painted_rows, painted):
            row.append(picture)
        print(f"{painter.name}: {json.dumps(entry)}", flush=True)

    names = [p.name for p in painters]
    save_sheet(["labels", *names, "real photo"], [row + [val_photos[i]] for row, i in zip(val_rows, sheet_maps)],
               cfg.out / "realism-validation.png")
    save_sheet(["painted labels", *names], painted_rows, cfg.out / "realism-painted.png")
    report["sheets"] = {"validation": "realism-validation.png", "painted": "realism-painted.png",
                        "painted_layouts": list(layouts)}
    cfg.out.mkdir(parents=True, exist_ok=True)
    (cfg.out / "realism.json").write_text(json.dumps(report, indent=2) + "\n")
    return report
