"""The realism measures on fixtures: the C2ST and its protocols, the dilated judge segmenter, the painted
layouts and the `evaluate-realism` command end to end with tiny models from two weights folders."""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from PIL import Image

from backend.cards import load_card
from model_training import c2st_protocols
from model_training.c2st import AccuracyCache, C2stConfig, PatchClassifier, c2st, fitting_steps, split_by_photo
from model_training.c2st_protocols import EARLIER, PROTOCOLS, fair, framed_labels
from model_training.labelsets import LANDSCAPE
from model_training.painted_layouts import painted_layouts
from tests.helpers.tiny_models import SEGMENTER_ID, SIZES, SPADE_ID
from tests.helpers.tiny_runs import TERMS, segmenter_config
from tests.helpers.training import tiny_config

FAST_C2ST = C2stConfig(crop=48, widths=(16, 32, 32, 32), epochs=20, batch_size=16)


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
    assert abs(same["mean"] - 0.5) <= 0.15, same
    assert grey["mean"] >= 0.95, grey
    assert len(same["per_seed"]) == 2 and same["test_pictures"] == 40


def test_the_earlier_classifier_with_random_test_crops_still_runs():
    rng = np.random.default_rng(1)
    real = _textures(rng, 12)
    cfg = C2stConfig(crop=32, widths=(8, 16, 32, 32), design="strided", fit_steps=40, test_crops=4)
    assert c2st(real, np.full_like(real, 128), seeds=1, cfg=cfg)["mean"] >= 0.9


def test_c2st_refuses_unpaired_sets_and_unknown_designs():
    real = np.zeros((4, 64, 64, 3), np.uint8)
    with pytest.raises(ValueError, match="paired"):
        c2st(real, real[:3], seeds=1, cfg=FAST_C2ST)
    with pytest.raises(ValueError, match="design"):
        C2stConfig(design="resnet")


def test_the_classifier_is_four_pooled_convs_a_global_pool_and_a_linear_layer():
    cfg = fair(128).classifier
    assert (cfg.crop, cfg.widths, cfg.epochs, cfg.batch_size, cfg.lr, cfg.test_crops) == (
        96, (32, 64, 64, 64), 40, 32, 1e-3, 0)
    assert fair(256).classifier.crop == 192
    classifier = PatchClassifier(cfg.widths, cfg.design)
    convs = [m for m in classifier.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride) for c in convs] == [
        (3, 32, (3, 3), (1, 1)), (32, 64, (3, 3), (1, 1)), (64, 64, (3, 3), (1, 1)), (64, 64, (3, 3), (1, 1))]
    assert {m.negative_slope for m in classifier.modules() if isinstance(m, torch.nn.LeakyReLU)} == {0.2}
    assert sum(isinstance(m, torch.nn.AvgPool2d) for m in classifier.modules()) == 4
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in classifier.modules())
    assert classifier.logit.in_features == 64 and classifier.logit.out_features == 1
    for crop in (96, 192):  # one logit per crop at either scale
        assert classifier(torch.zeros(2, 3, crop, crop)).shape == (2,)
    # 40 epochs over the fitting half (71 pairs of the 143 validation maps: 142 pictures, 5 batches each)
    assert fitting_steps(142, cfg) == 200 and fitting_steps(142, EARLIER.classifier) == 1000


def _stored_photo(width: int, height: int) -> np.ndarray:
    """A photo as a camera file gives it: a texture saved as JPEG q75 and decoded."""
    buffer = io.BytesIO()
    Image.fromarray(_textures(np.random.default_rng(5), 1, max(width, height))[0][:height, :width]).save(
        buffer, format="JPEG", quality=75)
    return np.asarray(Image.open(buffer).convert("RGB"))


@pytest.fixture
def saved_jpegs(monkeypatch) -> list:
    """(shape, quality) of each JPEG the protocols save."""
    saved = []
    encode = c2st_protocols.jpeg
    monkeypatch.setattr(c2st_protocols, "jpeg", lambda rgb, quality: saved.append((rgb.shape, quality))
                        or encode(rgb, quality))
    return saved


def test_fair_protocol_stores_a_picture_like_its_photo_then_resizes_both_alike(saved_jpegs):
    photo, saved = _stored_photo(80, 60), saved_jpegs
    protocol = fair(32)
    # The real photo is only resized (bicubic, squashed to S x S): it is already a JPEG.
    expected = np.asarray(Image.fromarray(photo).resize((32, 32), Image.Resampling.BICUBIC))
    assert np.array_equal(protocol.real(photo), expected) and saved == []
    # A model's square picture is saved at the photo's own width x height, at the photos' quality 75.
    copy = np.asarray(Image.fromarray(photo).resize((64, 64), Image.Resampling.BICUBIC))
    generated = protocol.generated(copy, (80, 60))
    assert saved == [((60, 80, 3), 75)] and generated.shape == (32, 32, 3)
    # A perfect picture of the photo's scene ends up next to the photo.
    assert np.abs(generated.astype(int) - expected).mean() < 6


def test_earlier_protocol_crops_centre_squares_and_compresses_twice(saved_jpegs):
    photo, saved = _stored_photo(80, 60), saved_jpegs
    assert EARLIER.real(photo).shape == (256, 256, 3) and saved == [((256, 256, 3), 90)]
    saved.clear()
    EARLIER.generated(np.zeros((64, 64, 3), np.uint8), (80, 60))
    assert saved == [((60, 60, 3), 90), ((256, 256, 3), 90)]  # at the photo's shorter side, then at S


def test_label_maps_are_framed_as_the_photos_are():
    labels = np.zeros((60, 80), np.uint8)
    labels[:, :5] = 1  # a strip at the left edge, outside the centre square
    whole, square = framed_labels(labels, "whole", 16), framed_labels(labels, "centre-square", 16)
    assert whole.shape == square.shape == (16, 16)
    assert (whole[:, :1] == 1).all() and (whole[:, 1:] == 0).all()  # squashed like the photo
    assert (square == 0).all()
    assert PROTOCOLS["fair-128"].framing == "whole" and EARLIER.framing == "centre-square"


def test_the_accuracy_cache_resumes_without_refitting(tmp_path, monkeypatch):
    from model_training import c2st as c2st_module

    rng = np.random.default_rng(2)
    real, generated = _textures(rng, 8), _textures(rng, 8)
    cfg = replace(FAST_C2ST, epochs=1)
    first = c2st(real, generated, seeds=2, cfg=cfg, cache=AccuracyCache(tmp_path / "cache.json"))
    monkeypatch.setattr(c2st_module, "c2st_accuracy", lambda *args: pytest.fail("refitted a cached seed"))
    again = c2st(real, generated, seeds=2, cfg=cfg, cache=AccuracyCache(tmp_path / "cache.json"))
    assert again == first
    with pytest.raises(pytest.fail.Exception):  # other pictures are not in the cache
        c2st(real, generated[::-1].copy(), seeds=1, cfg=cfg, cache=AccuracyCache(tmp_path / "cache.json"))


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


def test_evaluate_realism_end_to_end_with_models_from_two_weights_folders(fixture_data, tiny_weights, tmp_path,
                                                                       monkeypatch):
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
    other = tmp_path / "other-weights"  # a second weights folder, served by its own engine
    shutil.copytree(tiny_weights, other)

    # Served models must be rendered by the server's own code, at their card's size, each by its folder's engine.
    calls = []
    served = pipeline.render_labels

    def spy(engine, model, labels, seed, aspect):
        calls.append((id(engine), model.id, labels.shape, seed))
        return served(engine, model, labels, seed, aspect=aspect)

    monkeypatch.setattr(pipeline, "render_labels", spy)
    out = tmp_path / "realism"
    main(["evaluate-realism", "--weights", str(tiny_weights), "--models", SPADE_ID,
          "--other-weights", f"shifted={other}:{SPADE_ID}",
          "--baseline-run", str(tmp_path / "pix2pix-tiny"), "--judge", str(judge),
          "--segmenter", str(tiny_weights / f"{SEGMENTER_ID}.onnx"), "--data", str(fixture_data / "landscape"),
          "--out", str(out), "--seeds", "2", "--c2st-steps", "2"])

    size = SIZES[SPADE_ID]
    layouts = len(painted_layouts(8, weather=True))
    assert {c[2] for c in calls} == {(size, size)}
    engines = {c[0] for c in calls}
    assert len(engines) == 2
    for engine in engines:  # two validation maps in two framings, two styles per painted layout
        assert sum(c[0] == engine for c in calls) == 2 * 2 + 2 * layouts
    report = json.loads((out / "realism.json").read_text())
    assert list(report["models"]) == [SPADE_ID, "shifted", "pix2pix-tiny"]
    assert report["models"]["shifted"]["source"] == str(other / f"{SPADE_ID}.json")
    protocols = ["fair-128", "fair-256", "earlier"]
    assert list(report["c2st_protocols"]) == protocols
    assert report["c2st_protocols"]["fair-256"]["classifier"]["crop"] == 192
    assert report["c2st_protocols"]["earlier"]["final_jpeg_quality"] == 90
    assert list(report["real_vs_real"]["c2st"]) == protocols
    assert set(report["oracles"]) == {"fcn_shipped_segmenter", "fcn_judge"}
    for entry in report["models"].values():
        assert list(entry["c2st"]) == protocols
        for result in entry["c2st"].values():
            assert 0 <= result["mean"] <= 1 and len(result["per_seed"]) == 2 and result["cpu_seconds_per_seed"] >= 0
        for judge_name in ("fcn_shipped_segmenter", "fcn_judge"):
            assert {"pixel_accuracy", "mean_class_accuracy", "miou", "class_accuracy",
                    "over_oracle_pixel_accuracy"} <= set(entry[judge_name])
        trip = entry["painted_round_trip"]
        assert set(trip) == {"shipped_segmenter", "judge"}
        assert 0 <= trip["judge"]["pixel_agreement"] <= 1
        assert len(trip["judge"]["per_layout_pixel_agreement"]) == layouts
    assert report["command"].startswith("python -m model_training evaluate-realism --weights")
    assert f"--other-weights shifted={other}:{SPADE_ID}" in report["command"]
    assert (out / "c2st-cache.json").exists()
    validation = Image.open(out / report["sheets"]["validation"])
    painted = Image.open(out / report["sheets"]["painted"])
    assert validation.width > painted.width  # labels | 3 models | real against labels | 3 models
    assert painted.height > validation.height  # one row per layout against one per validation map
    columns = validation.width // 190  # tiles of 192 px with 4-px gaps
    assert columns == 5 and painted.width // 190 == 4


def test_evaluate_realism_needs_a_model(fixture_data, tiny_weights, tmp_path):
    from model_training.realism import RealismConfig, ServedModel, evaluate_realism

    config = RealismConfig(data=fixture_data / "landscape", judge=tiny_weights / f"{SEGMENTER_ID}.onnx",
                           segmenter=tiny_weights / f"{SEGMENTER_ID}.onnx", out=tmp_path)
    with pytest.raises(ValueError, match="at least one model"):
        evaluate_realism(config, "test")
    facades = ServedModel("facades", tiny_weights, "pix2pix-facades-test")
    with pytest.raises(ValueError, match="does not paint"):
        evaluate_realism(replace(config, models=[facades]), "test")
    with pytest.raises(ValueError, match="no such weights folder"):
        evaluate_realism(replace(config, models=[ServedModel("gone", tmp_path / "nowhere", SPADE_ID)]), "test")


def test_other_weights_are_named_dir_and_id_and_names_must_differ(tiny_weights, tmp_path, capsys):
    from model_training.__main__ import main
    from model_training.realism import RealismConfig, ServedModel

    assert ServedModel.parse("new=../main/weights:hybrid-landscape") == ServedModel(
        "new", Path("../main/weights"), "hybrid-landscape")
    assert ServedModel.parse("w=C:/weights:m").weights == Path("C:/weights")  # the last colon splits
    for spec in ("../main/weights:hybrid", "new=../main/weights", "=w:m", "new=:m", "new=w:"):
        with pytest.raises(ValueError, match="NAME=DIR:MODEL_ID"):
            ServedModel.parse(spec)
    with pytest.raises(SystemExit):
        main(["evaluate-realism", "--other-weights", "no-name-here"])
    assert "NAME=DIR:MODEL_ID" in capsys.readouterr().err
    spade = ServedModel(SPADE_ID, tiny_weights, SPADE_ID)
    with pytest.raises(ValueError, match="two models named"):
        RealismConfig(data=tmp_path, judge=tmp_path, segmenter=tmp_path, out=tmp_path, models=[spade, spade])


def test_painted_cloud_and_snow_are_read_back_as_what_they_count_as():
    import torch

    from model_training.realism import WEATHER, judged_truth, readable_labels
    from model_training.labelsets import LANDSCAPE

    sky, tree, road, grass, water, cloud, snow = 0, 1, 2, 3, 4, 8, 9
    truth = torch.tensor([cloud, cloud, snow, snow, snow, snow, water])
    predicted = torch.tensor([sky, water, tree, road, water, sky, water])
    assert judged_truth(truth, predicted).tolist() == [sky, sky, tree, road, grass, grass, water]
    painted = np.array([[cloud, snow, water]], np.uint8)
    assert readable_labels(painted, LANDSCAPE).tolist() == [[sky, grass, water]], "an 8-class model's reading"
    assert readable_labels(painted, WEATHER).tolist() == painted.tolist()
