"""The realism measures on fixtures: the C2ST, the dilated judge segmenter, the painted layouts and the
`evaluate-realism` command end to end with tiny models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from PIL import Image

from backend.cards import load_card
from model_training.c2st import C2stConfig, c2st, split_by_photo
from model_training.labelsets import LANDSCAPE
from model_training.painted_layouts import painted_layouts
from tests.helpers.tiny_models import SEGMENTER_ID, SIZES, SPADE_ID
from tests.helpers.tiny_runs import TERMS, segmenter_config
from tests.helpers.training import tiny_config

FAST_C2ST = C2stConfig(crop=32, width=8, fit_steps=60, batch_size=16, test_crops=4)


@pytest.fixture(autouse=True)
def one_thread():
    """A shared machine: tiny convolutions on several threads only fight the other jobs for the cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _textures(rng: np.random.Generator, count: int, side: int = 64) -> np.ndarray:
    """Pictures from one distribution: a random colour, a random-direction stripe texture and noise."""
    y, x = np.mgrid[:side, :side]
    pictures = []
    for _ in range(count):
        angle, frequency = rng.uniform(0, np.pi), rng.uniform(0.2, 0.6)
        stripes = 40 * np.sin(frequency * (x * np.cos(angle) + y * np.sin(angle)))
        picture = rng.uniform(60, 190, 3) + stripes[..., None] + rng.normal(0, 12, (side, side, 3))
        pictures.append(np.clip(picture, 0, 255).astype(np.uint8))
    return np.stack(pictures)


def test_split_by_photo_halves_the_pairs_without_overlap():
    fit, test = split_by_photo(11, seed=3)
    assert len(fit) == 5 and len(test) == 6
    assert sorted([*fit, *test]) == list(range(11))
    assert not np.array_equal(split_by_photo(11, seed=4)[0], fit)


def test_c2st_is_near_chance_on_one_distribution_and_near_one_against_flat_grey():
    rng = np.random.default_rng(0)
    real = _textures(rng, 40)
    same = c2st(real, _textures(rng, 40), seeds=2, cfg=FAST_C2ST)
    grey = c2st(real, np.full_like(real, 128), seeds=2, cfg=FAST_C2ST)
    assert abs(same["mean"] - 0.5) <= 0.2, same
    assert grey["mean"] >= 0.9, grey
    assert len(same["per_seed"]) == 2 and same["test_pictures"] == 40


def test_c2st_refuses_unpaired_sets():
    real = np.zeros((4, 64, 64, 3), np.uint8)
    with pytest.raises(ValueError, match="paired"):
        c2st(real, real[:3], seeds=1, cfg=FAST_C2ST)


def test_painted_layouts_are_deterministic_large_regions_of_landscape_classes():
    first, second = painted_layouts(96), painted_layouts(96)
    assert len(first) >= 5
    for name, labels in first.items():
        assert np.array_equal(labels, second[name])
        assert labels.shape == (96, 96) and labels.dtype == np.uint8
        ids, counts = np.unique(labels, return_counts=True)
        assert set(ids) <= {c.id for c in LANDSCAPE.classes}
        assert 2 <= len(ids) <= 5 and counts.max() < 0.75 * labels.size, name


def _judge_config(fixture_data: Path, out_dir: Path):
    config = segmenter_config(fixture_data, out_dir)
    data, optim = config.to_dict()["data"], config.to_dict()["optim"]
    return tiny_config("segmenter", out_dir, data,
                       {"architecture": "dilated", "width": 4, "dilations": [1, 2], "balance_classes": True},
                       {"id": "segmenter-judge-tiny", "title": "tiny judge", "description": "test",
                        "input_kind": "photo", "size": 64, "data": TERMS}, optim)


def test_dilated_judge_trains_and_exports_with_parity(fixture_data, tmp_path):
    from model_training import train_segmenter
    from model_training.export import export
    from model_training.models.dilated_segmenter import DilatedSegmenter

    config = _judge_config(fixture_data, tmp_path / "judge")
    config.run.max_steps = 1
    assert isinstance(train_segmenter.build_model(config), DilatedSegmenter)
    train_segmenter.train(config)
    card = load_card(export(tmp_path / "judge", tmp_path / "weights" / "judges"))  # export checks parity
    assert card.kind == "segmenter" and card.label_set == LANDSCAPE
    session = ort.InferenceSession(str(tmp_path / "weights" / "judges" / card.onnx), providers=["CPUExecutionProvider"])
    (labels,) = session.run(["labels"], {"image": np.zeros((1, 3, 64, 96), np.float32)})
    assert labels.shape == (1, 1, 64, 96) and set(np.unique(labels)) <= set(range(8))


def test_unknown_segmenter_architecture_is_refused(fixture_data, tmp_path):
    from model_training import train_segmenter

    config = _judge_config(fixture_data, tmp_path / "judge")
    config.model.architecture = "transformer"
    with pytest.raises(ValueError, match="architecture"):
        train_segmenter.build_model(config)


def test_evaluate_realism_end_to_end(fixture_data, tiny_weights, tmp_path, monkeypatch):
    from backend import pipeline
    from model_training import train_pix2pix, train_segmenter
    from model_training.__main__ import main
    from model_training.export import export

    train_segmenter.train(_judge_config(fixture_data, tmp_path / "judge"))
    judge = export(tmp_path / "judge", tmp_path / "judges").with_suffix(".onnx")
    baseline_data = segmenter_config(fixture_data, tmp_path).to_dict()["data"]
    train_pix2pix.train(tiny_config("pix2pix", tmp_path / "pix2pix-tiny", baseline_data,
                                    {"ngf": 4, "ndf": 4, "depth": 4, "norm": "instance"},
                                    {"id": "p2p-tiny", "title": "tiny", "description": "test", "input_kind": "labels",
                                     "size": 64, "data": TERMS}))

    # Served models must be rendered by the server's own code, at their card's size.
    calls = []
    served = pipeline.render_labels

    def spy(engine, model, labels, seed):
        calls.append((model.id, labels.shape, seed))
        return served(engine, model, labels, seed)

    monkeypatch.setattr(pipeline, "render_labels", spy)
    out = tmp_path / "realism"
    main(["evaluate-realism", "--weights", str(tiny_weights), "--models", SPADE_ID,
          "--baseline-run", str(tmp_path / "pix2pix-tiny"), "--judge", str(judge),
          "--segmenter", str(tiny_weights / f"{SEGMENTER_ID}.onnx"), "--data", str(fixture_data / "landscape"),
          "--out", str(out), "--seeds", "2", "--c2st-steps", "3"])

    size = SIZES[SPADE_ID]
    layouts = len(painted_layouts(8))
    assert {c[1] for c in calls} == {(size, size)}
    assert len(calls) == 2 + 2 * layouts  # two validation maps, two styles per painted layout
    report = json.loads((out / "realism.json").read_text())
    assert set(report["models"]) == {SPADE_ID, "pix2pix-tiny"}
    assert len(report["real_vs_real"]["c2st"]["per_seed"]) == 2
    assert set(report["oracles"]) == {"fcn_shipped_segmenter", "fcn_judge"}
    for entry in report["models"].values():
        assert 0 <= entry["c2st"]["mean"] <= 1 and len(entry["c2st"]["per_seed"]) == 2
        for judge_name in ("fcn_shipped_segmenter", "fcn_judge"):
            assert {"pixel_accuracy", "mean_class_accuracy", "miou", "class_accuracy",
                    "over_oracle_pixel_accuracy"} <= set(entry[judge_name])
        trip = entry["painted_round_trip"]
        assert set(trip) == {"shipped_segmenter", "judge"}
        assert 0 <= trip["judge"]["pixel_agreement"] <= 1
        assert len(trip["judge"]["per_layout_pixel_agreement"]) == layouts
    assert report["command"].startswith("python -m model_training evaluate-realism --weights")
    validation = Image.open(out / report["sheets"]["validation"])
    painted = Image.open(out / report["sheets"]["painted"])
    assert validation.width > painted.width  # labels | 2 models | real against labels | 2 models
    assert painted.height > validation.height  # one row per layout against one per validation map


def test_evaluate_realism_needs_a_model(fixture_data, tiny_weights, tmp_path):
    from model_training.realism import RealismConfig, evaluate_realism

    config = RealismConfig(data=fixture_data / "landscape", judge=tiny_weights / f"{SEGMENTER_ID}.onnx",
                           segmenter=tiny_weights / f"{SEGMENTER_ID}.onnx", out=tmp_path, weights=tiny_weights)
    with pytest.raises(ValueError, match="at least one model"):
        evaluate_realism(config, "test")
    with pytest.raises(ValueError, match="does not paint"):
        evaluate_realism(RealismConfig(**{**config.__dict__, "models": ["pix2pix-facades-test"]}), "test")
