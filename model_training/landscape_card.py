"""`python -m model_training landscape-card`: the model card of the patch-synthesis landscape renderer.

It has no network: the card names the exemplar bank it paints from (built by `build-bank`), the label set
and the style presets (taken from the hybrid card that shares the bank), and, once `evaluate-realism` has
measured it, that run's figures for this model.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from backend.cards import DataSource, ModelCard, Training, load_card, write_card
from backend.engine import file_sha256, num_classes, weights_file
from backend.hybrid import ExemplarBank
from backend.landscape import INDEX_ARRAYS, SceneIndex, SynthesisSettings, index_arrays

MODEL_ID = "photo-landscape"


def index_bank(source_card: Path, reindex: bool = False) -> ModelCard:
    """Store retrieval's index in the card's bank (rewritten in place) and the bank's new hash in the card;
    returns the updated card. Prints how many photos the label-agreement rule leaves out."""
    source = load_card(source_card)
    if source.kind != "hybrid" or source.exemplar_bank is None:
        raise ValueError(f"{source_card} is not a hybrid card with an exemplar bank")
    path = weights_file(Path(source_card).parent, source.exemplar_bank.file)
    bank = ExemplarBank.load(path)
    if reindex or not all(name in bank.arrays for name in INDEX_ARRAYS):
        # Rewritten only when asked or missing: every rewrite is a new 30 MB file in the repository's history.
        arrays = {name: value for name, value in bank.arrays.items()}
        arrays |= index_arrays(bank, num_classes(source))
        arrays["photo_layout"] = arrays["photo_layout"].astype(np.float16)
        np.savez(path, **arrays)
        bank = ExemplarBank.load(path)
    index = SceneIndex(bank, num_classes(source), SynthesisSettings.min_label_agreement)
    left_out = int((~index.trusted).sum())
    print(f"{path}: {left_out} of {int((~index.human_labelled).sum())} segmenter-labelled photos left out "
          f"(label agreement < {SynthesisSettings.min_label_agreement})")
    bank_spec = source.exemplar_bank.model_copy(update={"sha256": file_sha256(path)})
    source = source.model_copy(update={"exemplar_bank": bank_spec})
    write_card(source, source_card)
    return source


def write_landscape_card(source_card: Path, out: Path, realism: Path | None, command: str,
                         reindex: bool = False) -> ModelCard:
    """A card for the renderer beside `source_card` (a hybrid card whose bank and presets it shares), after
    indexing the bank if it has no index yet, or again with `reindex` (`index_bank`)."""
    source = index_bank(source_card, reindex)
    metrics: dict = {}
    evaluation = None
    if realism is not None:
        report = json.loads(Path(realism).read_text())
        if out.stem not in report.get("models", {}):
            raise ValueError(f"{realism} has no figures for {out.stem}; run evaluate-realism with --models {out.stem}")
        metrics = {"realism": report["models"][out.stem] | {"images": report["images"]}}
        evaluation = report["command"]
    training = Training(
        data=[DataSource(name=d.name.replace("; exemplar bank only", "").replace(": exemplar bank and training pairs", ""),
                         citation=d.citation, terms=d.terms) for d in source.training.data],
        command=f"{source.training.command.split(' && ')[0].replace('train hybrid', 'build-bank')}; {command}",
        steps=0, images_seen=0, cpu_hours=0.0, device="cpu")
    card = source.model_copy(update={
        "id": out.stem, "title": "Landscape painter (real photo pixels)",
        "description": ("Paint sky, trees, water, mountains and more: the picture is copied, pixel by pixel, from "
                        "real photos chosen for your painting (label-guided patch synthesis), objects are pasted "
                        "whole. Server only."),
        "onnx": None, "onnx_sha256": None, "renderer": "patch-synthesis", "params": 0, "gmacs": 0.0,
        "training": training, "metrics": metrics, "evaluation_command": evaluation,
        "samples": f"samples/{out.stem}.png",
        "server_only": "Paints by patch synthesis over a 30 MB bank of photos, in compiled code the page does not have.",
    })
    card = ModelCard.model_validate(card.model_dump())
    write_card(card, out)
    return card
