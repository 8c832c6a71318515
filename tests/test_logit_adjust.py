"""Logit adjustment of an exported segmenter (model_training/logit_adjust.py): offsets fitted on the training
photos, folded into the graph's score bias, noted in the card."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

from backend.cards import load_card
from backend.engine import file_sha256
from model_training.logit_adjust import adjust_card, class_recall, fit_offsets, score_convolution
from tests.helpers.tiny_models import SEGMENTER_ID, SPADE_ID
from tests.helpers.tiny_runs import segmenter_config, write_toml

REPO = Path(__file__).resolve().parent.parent


def test_fitted_offsets_undo_a_rare_class_held_down():
    """Scores that rank every pixel right but for a rare class pushed 2 below the others: the fit raises that
    class by about as much, and every class's recall comes back."""
    rng = np.random.default_rng(0)
    labels = rng.choice(3, size=20_000, p=[0.6, 0.35, 0.05]).astype(np.uint8)
    scores = rng.normal(0, 0.5, (len(labels), 3)).astype(np.float32)
    scores[np.arange(len(labels)), labels] += 2.0
    scores[:, 2] -= 2.0
    held_down = class_recall(scores, labels, np.zeros(3, np.float32))
    offsets = fit_offsets(scores.astype(np.float16), labels)
    fitted = class_recall(scores, labels, offsets)
    assert held_down[2] < 0.5 and fitted[2] > 0.85
    assert offsets[2] - offsets[:2].mean() == pytest.approx(2.0, abs=0.5)
    assert np.nanmean(fitted) > np.nanmean(held_down) and fitted.min() > 0.85


def test_a_segmenter_graph_takes_the_offsets_in_its_score_bias_and_its_card_notes_them(tiny_weights, fixture_data,
                                                                                       tmp_path):
    weights = tmp_path / "weights"
    shutil.copytree(tiny_weights, weights)
    config = write_toml(segmenter_config(fixture_data, tmp_path / "run"), tmp_path / "segmenter.toml")
    card_path = weights / f"{SEGMENTER_ID}.json"
    graph_path = weights / f"{SEGMENTER_ID}.onnx"
    before = onnx.load(str(graph_path))
    _, bias_name = score_convolution(before)
    old_bias = next(numpy_helper.to_array(i) for i in before.graph.initializer if i.name == bias_name)

    note = adjust_card(card_path, config, "test", metrics_out=tmp_path / "evaluate" / "metrics.json")
    card = load_card(card_path)
    names = [c.name for c in card.label_set.classes]
    offsets = np.array([note["offsets"][name] for name in names], np.float32)
    after = onnx.load(str(graph_path))
    new_bias = next(numpy_helper.to_array(i) for i in after.graph.initializer if i.name == bias_name)
    np.testing.assert_allclose(new_bias, old_bias + offsets, atol=1e-4)
    assert card.onnx_sha256 == file_sha256(graph_path)
    assert card.metrics["logit_adjustment"] == note
    # The fit never lowers the training photos' mean class accuracy, the figure it maximises.
    assert note["training_mean_class_accuracy"][1] >= note["training_mean_class_accuracy"][0]
    session = ort.InferenceSession(str(graph_path), providers=["CPUExecutionProvider"])
    image = np.random.default_rng(0).uniform(-1, 1, (1, 3, 32, 32)).astype(np.float32)
    assert session.run(None, {"image": image})[0].shape == (1, 1, 32, 32)
    # The card's figures are the adjusted graph's on the validation photos, from the command it names.
    measured = json.loads((tmp_path / "evaluate" / "metrics.json").read_text())
    assert measured["graph"] == graph_path.name and card.metrics["validation"] == measured["validation"]
    assert card.evaluation_command == measured["command"] and "--onnx" in card.evaluation_command
    assert card.training.command.endswith(" && test")

    # Fitted again, the offsets add up in the card as they do in the graph.
    again = adjust_card(card_path, config, "test", metrics_out=tmp_path / "evaluate" / "metrics.json")
    total = numpy_helper.to_array(next(i for i in onnx.load(str(graph_path)).graph.initializer
                                       if i.name == bias_name))
    np.testing.assert_allclose(total, old_bias + np.array([again["offsets"][n] for n in names]), atol=1e-3)


def test_cli_adjusts_a_segmenter_and_refuses_any_other_model_with_a_message(tiny_weights, fixture_data, tmp_path):
    weights = tmp_path / "weights"
    shutil.copytree(tiny_weights, weights)
    config = write_toml(segmenter_config(fixture_data, tmp_path / "run"), tmp_path / "segmenter.toml")

    def cli(*args: object) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "model_training", "logit-adjust", *map(str, args)],
                              capture_output=True, text=True, cwd=REPO, timeout=240)

    done = cli(weights / f"{SEGMENTER_ID}.json", "--config", config, "--out", tmp_path / "metrics.json")
    assert done.returncode == 0, done.stderr[-2000:]
    card = load_card(weights / f"{SEGMENTER_ID}.json")
    assert set(card.metrics["logit_adjustment"]["offsets"]) == {c.name for c in card.label_set.classes}
    assert card.metrics["validation"] == json.loads((tmp_path / "metrics.json").read_text())["validation"]
    refused = cli(weights / f"{SPADE_ID}.json", "--config", config)
    assert refused.returncode != 0 and "not a segmenter" in refused.stderr and "Traceback" not in refused.stderr
    missing = cli(weights / "nothing.json", "--config", config)
    assert missing.returncode != 0 and "no model card" in missing.stderr
