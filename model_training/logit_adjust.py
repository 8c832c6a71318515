"""Logit adjustment of an exported segmenter: one offset per class added to its scores, fitted on the
training photos (Menon et al., Long-tail learning via logit adjustment, ICLR 2021, fitted rather than set
from the class priors).

A segmenter trained on Stanford Background sees mountain in 1.2 % of its training pixels and calls most
mountains something else. Its class scores are shifted by the offsets that maximise the *training* split's
mean class accuracy (coordinate ascent on a grid of `STEP`, within +-`LIMIT`), read from every other pixel
each way; the validation photos never enter the fit. The offsets are added to the bias of the convolution
that makes the scores: what follows it up to the graph's ArgMax (a bilinear resize) commutes with adding a
constant per class. `python -m model_training logit-adjust weights/segmenter-landscape.json --config ...`
rewrites the graph in place and records the offsets in the card's `metrics.logit_adjustment`; measure the
result with `evaluate CONFIG --onnx GRAPH`.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from backend.cards import ModelCard, write_card
from backend.engine import file_sha256
from model_training import runtime as rt
from model_training.config import load_config
from model_training.datasets import label_set_of, training_photos

STEP = 0.25
LIMIT = 2.0
PIXEL_STRIDE = 2  # every other pixel each way: a quarter of the scores, the same fit


def score_convolution(model: onnx.ModelProto) -> tuple[str, str]:
    """(the name of the tensor whose ArgMax is the graph's labels, the bias initializer of the convolution that
    makes it). Only resizes may lie between that convolution and the ArgMax."""
    producers = {output: node for node in model.graph.node for output in node.output}
    argmax = [node for node in model.graph.node if node.op_type == "ArgMax"]
    if len(argmax) != 1:
        raise ValueError(f"the graph has {len(argmax)} ArgMax nodes: not a segmenter graph")
    scores = argmax[0].input[0]
    node = producers.get(scores)
    while node is not None and node.op_type == "Resize":
        node = producers.get(node.input[0])
    if node is None or node.op_type != "Conv" or len(node.input) < 3:
        raise ValueError("the segmenter's scores do not come from a convolution with a bias")
    return scores, node.input[2]


def scoring_session(graph: onnx.ModelProto):
    """(an onnxruntime session of the graph that also outputs its class scores, the scores' name): the scores
    as the graph has them right before its ArgMax."""
    import onnxruntime as ort

    scores_name, _ = score_convolution(graph)
    exposed = onnx.ModelProto()
    exposed.CopyFrom(graph)
    exposed.graph.output.append(onnx.helper.make_tensor_value_info(scores_name, onnx.TensorProto.FLOAT, None))
    return ort.InferenceSession(exposed.SerializeToString(), providers=["CPUExecutionProvider"]), scores_name


def training_scores(graph: onnx.ModelProto, config_path: Path,
                    limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(scores float16 [P, C], labels uint8 [P]) of the training photos' labelled pixels, every
    PIXEL_STRIDE-th each way, as the graph scores them before its ArgMax."""
    config = load_config(config_path)
    if config.family != "segmenter":
        raise ValueError(f"{config_path} is a {config.family} config, not a segmenter's")
    session, scores_name = scoring_session(graph)
    classes = len(label_set_of(config).classes)
    all_scores, all_labels = [], []
    for batch in rt.in_order_batches(training_photos(config), 8, limit):
        scores = session.run([scores_name], {"image": batch["image"].numpy()})[0]
        scores = scores[:, :, ::PIXEL_STRIDE, ::PIXEL_STRIDE].transpose(0, 2, 3, 1).reshape(-1, scores.shape[1])
        labels = batch["labels"].numpy()[:, 0, ::PIXEL_STRIDE, ::PIXEL_STRIDE].reshape(-1)
        labelled = labels < classes
        all_scores.append(scores[labelled].astype(np.float16))
        all_labels.append(labels[labelled].astype(np.uint8))
    if not all_labels:
        raise ValueError(f"{config_path}: its training split has no photos")
    return np.concatenate(all_scores), np.concatenate(all_labels)


def class_recall(scores: np.ndarray, labels: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """[C]: each class's share of its pixels called it with `offsets` added (nan for a class with none)."""
    classes = len(offsets)
    predicted = np.concatenate([(chunk.astype(np.float32) + offsets).argmax(1)
                                for chunk in np.array_split(scores, max(1, len(scores) // 1_000_000))])
    right = np.bincount(labels[predicted == labels], minlength=classes)
    total = np.bincount(labels, minlength=classes)
    return np.where(total > 0, right / np.maximum(total, 1), np.nan)


def fit_offsets(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """[C]: offsets that maximise the mean class accuracy of `scores + offsets`, by coordinate ascent."""
    offsets = np.zeros(scores.shape[1], np.float32)
    best = np.nanmean(class_recall(scores, labels, offsets))
    improved = True
    while improved:
        improved = False
        for cls in range(len(offsets)):
            for step in (STEP, -STEP):
                trial = offsets.copy()
                trial[cls] += step
                if abs(trial[cls]) > LIMIT:
                    continue
                score = np.nanmean(class_recall(scores, labels, trial))
                if score > best + 1e-4:
                    offsets, best, improved = trial, score, True
                    break
    return offsets


def adjust_card(card_path: Path, config_path: Path, command: str, limit: int | None = None,
                metrics_out: Path | None = None) -> dict:
    """Fit offsets for the card's segmenter graph on the config's training photos, add them to the graph's
    score bias (in place), then measure the graph on the validation photos (`evaluate CONFIG --onnx GRAPH`,
    its JSON to `metrics_out`); the card takes the offsets, the figures, the command and the fit's CPU time.
    Returns the card's `logit_adjustment` note."""
    from model_training.evaluate import evaluate

    if not card_path.is_file():
        raise FileNotFoundError(f"no model card at {card_path}")
    card = ModelCard.model_validate_json(card_path.read_text())
    if card.kind != "segmenter" or card.onnx is None or card.label_set is None:
        raise ValueError(f"{card_path.name} is a {card.kind} model, not a segmenter")
    started = time.process_time()
    graph_path = card_path.parent / card.onnx
    graph = onnx.load(str(graph_path))
    scores, labels = training_scores(graph, config_path, limit)
    names = [c.name for c in sorted(card.label_set.classes, key=lambda c: c.id)]
    if scores.shape[1] != len(names):
        raise ValueError(f"the graph scores {scores.shape[1]} classes, its card lists {len(names)}")
    before = class_recall(scores, labels, np.zeros(len(names), np.float32))
    offsets = fit_offsets(scores, labels)
    after = class_recall(scores, labels, offsets)
    _, bias_name = score_convolution(graph)
    bias = next(init for init in graph.graph.initializer if init.name == bias_name)
    bias.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(bias) + offsets.astype(np.float32), bias_name))
    onnx.save(graph, str(graph_path))
    cpu_hours = (time.process_time() - started) / 3600
    earlier = card.metrics.get("logit_adjustment", {}).get("offsets", {})
    note = {
        "what": "per-class offsets added to the segmenter's scores (its last convolution's bias), fitted by "
                "coordinate ascent of the training photos' mean class accuracy (model_training/logit_adjust.py); "
                "validation photos are not used",
        "offsets": {name: round(float(earlier.get(name, 0.0) + offset), 4) for name, offset in zip(names, offsets)},
        "training_pixels": int(len(labels)),
        "training_mean_class_accuracy": [round(float(np.nanmean(before)), 4), round(float(np.nanmean(after)), 4)],
        "training_class_accuracy": {name: [round(float(b), 4), round(float(a), 4)]
                                    for name, b, a in zip(names, before, after)},
        "command": command,
    }
    measured = evaluate(config_path, metrics_out, onnx=graph_path)
    metrics = {**card.metrics, "images": measured["images"], "size": measured["size"],
               "validation": measured["validation"], "logit_adjustment": note}
    training = card.training.model_copy(update={"command": f"{card.training.command} && {command}",
                                                "cpu_hours": round(card.training.cpu_hours + cpu_hours, 2)})
    write_card(card.model_copy(update={"onnx_sha256": file_sha256(graph_path), "metrics": metrics,
                                       "training": training, "evaluation_command": measured["command"]}), card_path)
    return note
