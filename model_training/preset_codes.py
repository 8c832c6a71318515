"""Style codes that make a SPADE preset paint its thumbnail's look.

A preset's code used to be the style encoder's code of its photo, and the generator does not paint every
such code in the photo's colours (a green forest came out peach and orange). Here the code is searched
instead: an elitist evolution strategy (no gradients; the shipped graph is int8 ONNX) over the whitened
codes `mean + scale @ e` of the card's random-style Gaussian, so a code stays in the region the training
photos' codes fill. It minimises the mean distance (model_training.preset_looks) of the preset's pictures on
the painted layouts to its thumbnail, plus a penalty for every picture not clearly nearer its own thumbnail
than any other. It starts from the better of the stored code and the code of the thumbnail itself.

`python -m model_training match-presets --model ID` rewrites the card's preset codes, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from backend.cards import ModelCard, load_card, write_card
from backend.engine import InferenceEngine, LoadedModel
from backend.imaging import photo_tensor
from model_training.painted_layouts import painted_layouts
from model_training.preset_looks import distances, looks_model, picture_looks, thumbnail_looks


RECORD_NOTE = ("Preset codes searched by model_training.preset_codes from the photo's encoder code; objective: "
               "mean L1 distance of the colour look of the preset's pictures on the painted layouts to its "
               "thumbnail's, plus a penalty for pictures not clearly nearer their own thumbnail.")


@dataclass(frozen=True)
class SearchConfig:
    generations: int = 12
    offspring: int = 6
    step: float = 0.6  # initial mutation size, in standard deviations of the code Gaussian
    margin: float = 0.03  # how much nearer its own thumbnail than any other a picture should be
    miss_weight: float = 2.0
    radius: float = 1.5  # a code stays within radius * sqrt(z_dim) of the Gaussian's mean (whitened)
    seed: int = 0


@dataclass(frozen=True)
class Match:
    preset: str
    before: float  # the objective of the stored code
    after: float
    code: list[float]


class Objective:
    """How far one preset's pictures are from its thumbnail's look, misses penalised."""

    def __init__(self, engine: InferenceEngine, model: LoadedModel, preset_index: int, config: SearchConfig):
        self.engine, self.model, self.config = engine, model, config
        self.layouts = list(painted_layouts(model.card.size).values())
        self.thumbnails = thumbnail_looks(model)
        self.own = preset_index

    def __call__(self, code: np.ndarray) -> float:
        table = distances(picture_looks(self.engine, self.model, code.astype(np.float32), self.layouts),
                          self.thumbnails)  # [L, P]
        own = table[:, self.own]
        others = np.delete(table, self.own, axis=1).min(1) if table.shape[1] > 1 else own + 1
        return float(own.mean() + self.config.miss_weight * np.maximum(0, own - others + self.config.margin).mean())


class CodeSpace:
    """Codes as whitened coordinates e of the card's Gaussian: code = mean + scale @ e."""

    def __init__(self, model: LoadedModel, radius: float):
        self.mean, self.scale = (np.asarray(a, np.float64) for a in model.style_code_gaussian)
        self.limit = radius * np.sqrt(len(self.mean))

    def whiten(self, code: np.ndarray) -> np.ndarray:
        return np.linalg.lstsq(self.scale, np.asarray(code, np.float64) - self.mean, rcond=None)[0]

    def code(self, e: np.ndarray) -> np.ndarray:
        norm = np.linalg.norm(e)
        if norm > self.limit:
            e = e * (self.limit / norm)
        return self.mean + self.scale @ e


def thumbnail_code(engine: InferenceEngine, model: LoadedModel, preset_id: str) -> np.ndarray:
    with Image.open(model.thumbnails[preset_id]) as thumbnail:
        return engine.encode_style(model, photo_tensor(thumbnail.convert("RGB"), model.card.size))[0]


def search(objective: Objective, space: CodeSpace, starts: list[np.ndarray], config: SearchConfig,
           rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """(1+λ) evolution strategy: keep the best code found; the step grows after a success, shrinks after none."""
    scored = [(objective(space.code(e)), e) for e in (space.whiten(code) for code in starts)]
    best_score, best = min(scored, key=lambda pair: pair[0])
    step = config.step
    for _ in range(config.generations):
        children = [best + step * rng.standard_normal(best.shape) for _ in range(config.offspring)]
        score, child = min(((objective(space.code(c)), c) for c in children), key=lambda pair: pair[0])
        if score < best_score:
            best_score, best, step = score, child, step * 1.3
        else:
            step *= 0.7
    return space.code(best), best_score


def record(card: ModelCard, matches: list[Match], command: str) -> ModelCard:
    """The card with the searched codes, and the run (command, objective before and after per preset)
    appended to `metrics.preset_codes.runs`, so the card says how its preset codes were made."""
    codes = {m.preset: m.code for m in matches}
    presets = [p.model_copy(update={"code": codes.get(p.id, p.code)}) for p in card.style_presets]
    history = card.metrics.get("preset_codes", {"what": RECORD_NOTE, "runs": []})
    run = {"command": command, "objective": {m.preset: {"before": m.before, "after": m.after} for m in matches}}
    history = {**history, "runs": [*history["runs"], run]}
    return card.model_copy(update={"style_presets": presets, "metrics": {**card.metrics, "preset_codes": history}})


def match_presets(weights: Path, model_id: str, config: SearchConfig = SearchConfig(),
                  only: list[str] | None = None, command: str = "") -> list[Match]:
    """Search each preset's code (or only the named ones) and write the better codes into the card."""
    card_path = weights / f"{model_id}.json"
    if card_path.is_file() and (kind := load_card(card_path).kind) != "spade":
        raise ValueError(f"model {model_id!r} is a {kind} model; codes are searched for SPADE only")
    engine = InferenceEngine.load(weights, intra_op_threads=1, max_concurrent_runs=1)
    model = looks_model(engine, model_id)
    space, rng, matches = CodeSpace(model, config.radius), np.random.default_rng(config.seed), []
    for index, preset in enumerate(model.card.style_presets):
        if only and preset.id not in only:
            continue
        objective = Objective(engine, model, index, config)
        stored = np.asarray(preset.code, np.float64)
        before = objective(stored)
        code, after = search(objective, space, [stored, thumbnail_code(engine, model, preset.id)], config, rng)
        keep = after < before
        matches.append(Match(preset.id, round(before, 4), round(min(before, after), 4),
                             [round(float(v), 5) for v in (code if keep else stored)]))
        print(f"{preset.id}: {before:.4f} -> {min(before, after):.4f}", flush=True)
    write_card(record(load_card(card_path), matches, command), card_path)
    return matches
