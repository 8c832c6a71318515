"""SPADE and the segmenter: shapes, learning on fixture_data, exact resumption; export and evaluation of all
four families: ONNX parity, cards, metrics and the command line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from PIL import Image

from backend.cards import load_card
from model_training.config import SegmenterModelConfig, SpadeModelConfig, load_config
from model_training.datasets import training_photos
from model_training.labelsets import LANDSCAPE
from model_training.models.segmenter import Segmenter
from model_training.models.spade import SPADEGenerator, StyleEncoder, one_hot
from model_training.profile import count_gmacs
from model_training.style_codes import fit
from tests.helpers.tiny_runs import segmenter_config, spade_config, write_toml
from tests.helpers.training import tiny_config

REPO = Path(__file__).resolve().parent.parent


def _losses(run_dir: Path) -> dict[int, dict]:
    lines = (run_dir / "losses.jsonl").read_text().splitlines()
    return {row["step"]: row for row in map(json.loads, lines)}


@pytest.mark.parametrize("size", [(64, 64), (96, 128)])
def test_spade_shapes_at_two_sizes(size):
    cfg = SpadeModelConfig(ngf=4, nhidden=8, z_dim=8, num_up=4, encoder_ndf=4, encoder_layers=4)
    generator, encoder = SPADEGenerator(8, cfg).eval(), StyleEncoder(cfg).eval()
    labels = torch.randint(0, 8, (2, 1, *size))
    image = generator(one_hot(labels, 8), torch.randn(2, 8))
    assert image.shape == (2, 3, *size)
    assert image.abs().max() <= 1
    mu, logvar = encoder(image)
    assert mu.shape == logvar.shape == (2, 8)


def test_one_hot_makes_ignore_label_all_zero():
    labels = torch.tensor([[[[0, 7], [15, 3]]]])
    encoded = one_hot(labels, 8)
    assert encoded.shape == (1, 8, 2, 2)
    assert encoded[0, :, 1, 0].sum() == 0  # 15 = unknown
    assert encoded[0, 7, 0, 1] == 1 and encoded[0, 0, 0, 0] == 1


def test_code_distribution_fit_reproduces_mean_and_covariance():
    rng = torch.Generator().manual_seed(0)
    mixing = torch.tensor([[1.0, 0.0, 0.0], [0.8, 0.3, 0.0], [-0.2, 0.1, 0.05]])
    codes = torch.randn(20000, 3, generator=rng) @ mixing.T + torch.tensor([0.5, -1.0, 2.0])
    fitted = fit(codes)
    assert torch.allclose(fitted.mean, torch.tensor([0.5, -1.0, 2.0]), atol=0.02)
    assert torch.allclose(fitted.scale @ fitted.scale.T, mixing @ mixing.T, atol=0.02)
    drawn = fitted.sample(20000, torch.Generator().manual_seed(1))
    assert torch.allclose(drawn.mean(0), fitted.mean, atol=0.02)
    assert torch.allclose(torch.cov(drawn.T), mixing @ mixing.T, atol=0.02)
    # Fewer codes than dimensions still give a usable (ridge-regularised) factor.
    assert torch.isfinite(fit(codes[:2]).scale).all()


def test_separable_gamma_beta_is_cheaper_than_paper_spade():
    segmap, z = one_hot(torch.zeros(1, 1, 256, 256, dtype=torch.long), 8), torch.zeros(1, 64)
    full = count_gmacs(SPADEGenerator(8, SpadeModelConfig(ngf=16, nhidden=32, z_dim=64)).eval(), segmap, z)
    cheap = count_gmacs(SPADEGenerator(8, SpadeModelConfig(ngf=16, nhidden=32, z_dim=64, separable=True)).eval(),
                        segmap, z)
    assert cheap < 0.5 * full


@pytest.mark.parametrize("size", [(64, 64), (64, 96)])
def test_segmenter_shapes(size):
    logits = Segmenter(8, SegmenterModelConfig(width=4, depth=2)).eval()(torch.randn(1, 3, *size))
    assert logits.shape == (1, 8, *size)


@pytest.mark.parametrize("balance,segmenting", [(False, False), (True, False), (True, True)],
                         ids=["plain", "class-balanced", "segmenting-discriminator"])
def test_spade_learns_on_an_overfit_batch(fixture_data, tmp_path, balance, segmenting):
    from model_training import train_spade

    config = spade_config(fixture_data, tmp_path / "run", lambda_feat=0.0, balance_l1=balance, balance_gan=balance,
                          segmenting_discriminator=segmenting)
    config.run.max_steps, config.run.batch_size = 40, 2
    config.data.train_split = "val"  # two images: an overfit batch
    config.optim.lr_g = 2e-3
    train_spade.train(config)
    losses = _losses(tmp_path / "run")
    first = np.mean([losses[s]["g_l1"] for s in range(0, 5)])
    last = np.mean([losses[s]["g_l1"] for s in range(35, 40)])
    assert last < 0.8 * first


def test_segmenter_learns_on_an_overfit_batch(fixture_data, tmp_path):
    from model_training import train_segmenter

    config = segmenter_config(fixture_data, tmp_path / "run")
    config.run.max_steps = 60
    config.data.train_split = "val"  # two images: an overfit batch
    train_segmenter.train(config)
    losses = _losses(tmp_path / "run")
    assert np.mean([losses[s]["ce"] for s in range(55, 60)]) < 0.7 * np.mean([losses[s]["ce"] for s in range(5)])


def test_a_segmenter_started_from_another_run_keeps_its_weights_and_its_card_counts_both(fixture_data, tmp_path):
    from model_training import train_segmenter
    from model_training.export import export

    first = segmenter_config(fixture_data, tmp_path / "first")
    train_segmenter.train(first)
    second = segmenter_config(fixture_data, tmp_path / "second")
    second.model.init_from = str(tmp_path / "first")
    second.optim.lr_g = 0.0  # no update: the second run's weights are exactly the first run's
    second.run.max_steps = 2
    train_segmenter.train(second)
    weights = {name: torch.load(tmp_path / run / "checkpoint.pt", weights_only=False)["state"]["model"]
               for name, run in (("first", "first"), ("second", "second"))}
    convs = [k for k in weights["first"] if k.endswith("weight")]
    assert convs and all(torch.equal(weights["first"][k], weights["second"][k]) for k in convs)

    card = load_card(export(tmp_path / "second", tmp_path / "weights"))
    assert card.training.steps == first.run.max_steps + 2
    assert len(card.training.command.split(" && ")) == 2
    second.model.init_from = str(tmp_path / "weights")
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        train_segmenter.train(second)


@pytest.mark.parametrize("family", ["spade", "segmenter"])
def test_interrupt_then_resume_gives_identical_next_step_losses(fixture_data, tmp_path, family, monkeypatch):
    import importlib

    from model_training import runtime

    trainer = importlib.import_module(f"model_training.train_{family}")
    make = spade_config if family == "spade" else segmenter_config
    trainer.train(make(fixture_data, tmp_path / "straight"))  # 4 steps

    real_loader = runtime.batch_loader

    def interrupted_in_the_second_step(*args, **kwargs):
        for i, batch in enumerate(real_loader(*args, **kwargs)):
            if i == 1:
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C: the trainer finishes the step, checkpoints, stops
            yield batch

    monkeypatch.setattr(runtime, "batch_loader", interrupted_in_the_second_step)
    trainer.train(make(fixture_data, tmp_path / "resumed"))
    monkeypatch.setattr(runtime, "batch_loader", real_loader)
    assert sorted(_losses(tmp_path / "resumed")) == [0, 1]
    trainer.train(make(fixture_data, tmp_path / "resumed"), resume=True)

    a, b = _losses(tmp_path / "straight"), _losses(tmp_path / "resumed")
    for step in (2, 3):
        assert a[step] == b[step], f"step {step}: {a[step]} != {b[step]}"


def test_export_checks_onnx_parity_and_writes_valid_cards(fixture_data, tmp_path):
    from model_training import train_segmenter, train_spade
    from model_training.export import export

    train_spade.train(spade_config(fixture_data, tmp_path / "spade"))
    train_segmenter.train(segmenter_config(fixture_data, tmp_path / "seg"))
    weights = tmp_path / "weights"
    spade_card = load_card(export(tmp_path / "spade", weights))
    seg_card = load_card(export(tmp_path / "seg", weights))

    assert spade_card.kind == "spade" and spade_card.style_encoder.z_dim == 8
    assert [p.id for p in spade_card.style_presets] == ["first", "second"]
    assert all((weights / p.thumbnail).exists() for p in spade_card.style_presets)
    assert spade_card.label_set == LANDSCAPE
    assert spade_card.training.steps == 4 and spade_card.gmacs > 0 and spade_card.params > 0
    assert "model_training" in spade_card.training.command

    session = ort.InferenceSession(str(weights / spade_card.onnx), providers=["CPUExecutionProvider"])
    labels = np.random.default_rng(0).integers(0, 8, (1, 1, 64, 96)).astype(np.int64)
    labels[0, 0, :4, :4] = 15  # the ignore label is a valid input
    image = session.run(["image"], {"labels": labels, "style": np.zeros((1, 8), np.float32)})[0]
    assert image.shape == (1, 3, 64, 96) and np.isfinite(image).all()

    encoder = ort.InferenceSession(str(weights / spade_card.style_encoder.onnx), providers=["CPUExecutionProvider"])
    mu, logvar = encoder.run(None, {"image": np.zeros((1, 3, 64, 64), np.float32)})
    assert mu.shape == logvar.shape == (1, 8)

    # Random styles come from the Gaussian of the training photos' codes, as the exported encoder gives them.
    config = load_config(tmp_path / "spade" / "config.toml")
    photos = training_photos(config)
    codes = np.concatenate([encoder.run(["mu"], {"image": photos[i]["image"][None].numpy()})[0]
                            for i in range(len(photos))])
    assert np.allclose(spade_card.style_encoder.code_mean, codes.mean(0), atol=2e-4)
    scale = np.asarray(spade_card.style_encoder.code_scale)
    assert np.allclose(scale, np.tril(scale))
    assert np.allclose(scale @ scale.T, np.cov(codes, rowvar=False), atol=2e-4)

    segmenter = ort.InferenceSession(str(weights / seg_card.onnx), providers=["CPUExecutionProvider"])
    predicted = segmenter.run(["labels"], {"image": np.zeros((2, 3, 64, 64), np.float32)})[0]
    assert predicted.shape == (2, 1, 64, 64) and predicted.dtype == np.int64
    assert set(np.unique(predicted)) <= set(range(8))


def test_export_refuses_a_graph_that_disagrees_with_torch(tmp_path):
    from model_training.export import check_parity, export_graph

    class Doubler(torch.nn.Module):
        def forward(self, image):
            return image * 2

    path = tmp_path / "doubler.onnx"
    export_graph(Doubler(), {"photo": torch.zeros(1, 3, 8, 8)}, ["image"], path)

    class Tripler(torch.nn.Module):
        def forward(self, image):
            return image * 3

    with pytest.raises(RuntimeError, match="differs from torch"):
        check_parity(Tripler(), path, {"photo": torch.zeros(1, 3, 8, 8)})


def test_cli_lists_commands():
    result = subprocess.run([sys.executable, "-m", "model_training", "--help"], capture_output=True, text=True,
                            cwd=REPO, check=True)
    for command in ("train", "evaluate", "export", "pseudo-label", "label-sheet", "fixtures"):
        assert command in result.stdout


@pytest.mark.timeout(900)  # nine child processes, each importing torch
def test_cli_train_evaluate_export_pseudo_label(fixture_data, tmp_path):
    def cli(*args: str) -> str:
        result = subprocess.run([sys.executable, "-m", "model_training", *map(str, args)], capture_output=True,
                                text=True, cwd=REPO, timeout=240)
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    seg_toml = write_toml(segmenter_config(fixture_data, tmp_path / "seg"), tmp_path / "seg.toml")
    spade_toml = write_toml(spade_config(fixture_data, tmp_path / "spade"), tmp_path / "spade.toml")
    cli("train", "segmenter", "--config", seg_toml, "run.max_steps=3")
    cli("train", "spade", "--config", spade_toml, "run.max_steps=2")
    cli("train", "spade", "--config", spade_toml, "--resume", "run.max_steps=3")
    assert load_config(tmp_path / "spade" / "config.toml").run.max_steps == 3
    assert len((tmp_path / "spade" / "commands.txt").read_text().splitlines()) == 2

    cli("evaluate", tmp_path / "seg")
    seg_metrics = json.loads((tmp_path / "seg" / "metrics.json").read_text())
    assert 0 <= seg_metrics["validation"]["pixel_accuracy"] <= 1
    cli("evaluate", tmp_path / "spade", "--segmenter", tmp_path / "seg")
    fcn = json.loads((tmp_path / "spade" / "metrics.json").read_text())["fcn_score"]
    assert set(fcn) >= {"generated", "real_photos_oracle", "generated_own_style", "generated_mean_style"}
    assert (tmp_path / "spade" / "evaluation.png").exists()

    cli("export", tmp_path / "spade", "--weights", tmp_path / "weights")
    card = load_card(tmp_path / "weights" / "spade-tiny.json")
    assert card.metrics["fcn_score"]["generated"]["pixel_accuracy"] == fcn["generated"]["pixel_accuracy"]
    assert card.evaluation_command.startswith("python -m model_training evaluate")
    assert card.samples == "samples/spade-tiny.jpg" and (tmp_path / "weights" / card.samples).exists()

    cli("pseudo-label", tmp_path / "seg", fixture_data / "photos", "--out", tmp_path / "pseudo", "--size", 64)
    assert len(list((tmp_path / "pseudo" / "labels").glob("*.png"))) == 6
    assert len(list((tmp_path / "pseudo" / "images").glob("*.jpg"))) == 6

    photos = sorted((fixture_data / "photos").glob("*.jpg"))[:5]
    cli("label-sheet", tmp_path / "seg", *photos, "--out", tmp_path / "sheet.png", "--size", 64)
    # Four photo | labels pairs to a row: two rows, then the legend.
    assert Image.open(tmp_path / "sheet.png").size == (4 * 2 * 160 + 3 * 6, 2 * 164 + 22)


def test_shipped_configs_parse():
    configs = sorted((REPO / "model_training" / "configs").glob("*.toml"))
    assert configs
    for path in configs:
        config = load_config(path)
        assert config.export.id == path.stem, path
        assert config.export.data, f"{path} must name its training data and terms"


EXPORT = {"title": "tiny", "description": "test", "size": 64,
          "data": [{"name": "fixtures", "citation": "synthetic", "terms": "none"}]}


@pytest.mark.parametrize("kind", ["labels", "sketch", "cyclegan"])
def test_pix2pix_and_cyclegan_evaluate_and_export(fixture_data, tmp_path, kind):
    from model_training import train_cyclegan, train_pix2pix
    from model_training.evaluate import evaluate
    from model_training.export import export

    unet = {"ngf": 4, "ndf": 4, "depth": 5, "norm": "instance"}
    if kind == "labels":
        data = {"dataset": "facades", "roots": [str(fixture_data / "facades")], "label_set": "cmp-facades",
                "load_size": 64, "crop_size": 32, "val_limit": 2}
        config = tiny_config("pix2pix", tmp_path / "run", data, unet, EXPORT | {"id": "p2p-labels", "input_kind": "labels"})
        trainer, feeds = train_pix2pix, {"labels": np.zeros((1, 1, 64, 64), np.int64)}
    elif kind == "sketch":
        photos = str(fixture_data / "photos")
        data = {"dataset": "sketch_photos", "roots": [photos, photos], "load_size": 64, "crop_size": 32, "val_limit": 2}
        config = tiny_config("pix2pix", tmp_path / "run", data, unet, EXPORT | {"id": "p2p-sketch", "input_kind": "sketch"})
        trainer, feeds = train_pix2pix, {"sketch": np.ones((1, 1, 64, 64), np.float32)}
    else:
        data = {"dataset": "unpaired", "roots": [str(fixture_data / "unpaired")], "load_size": 64, "crop_size": 32,
                "val_limit": 2}
        config = tiny_config("cyclegan", tmp_path / "run", data, {"ngf": 4, "ndf": 4, "n_blocks": 2, "pool_size": 3},
                             EXPORT | {"id": "cyclegan-tiny", "input_kind": "photo"})
        trainer, feeds = train_cyclegan, {"photo": np.zeros((1, 3, 64, 64), np.float32)}
    trainer.train(config)
    metrics = evaluate(tmp_path / "run")
    expected = {"labels": "l1", "sketch": "psnr_db", "cyclegan": "cycle_l1_a_b_a"}[kind]
    assert expected in metrics and np.isfinite(metrics[expected])

    card = load_card(export(tmp_path / "run", tmp_path / "weights"))
    assert card.metrics[expected] == metrics[expected]
    session = ort.InferenceSession(str(tmp_path / "weights" / card.onnx), providers=["CPUExecutionProvider"])
    (image,) = session.run(["image"], feeds)
    assert image.shape == (1, 3, 64, 64) and np.isfinite(image).all()


def test_evaluate_with_a_segmenter_graph_a_baseline_and_an_exported_generator(fixture_data, tmp_path):
    """What a fresh clone can run: the FCN-score judged by an exported segmenter graph, a baseline run
    compared at equal CPU time, and the exported generator scored like its torch original."""
    from model_training import train_pix2pix, train_segmenter, train_spade
    from model_training.evaluate import evaluate
    from model_training.export import export

    train_segmenter.train(segmenter_config(fixture_data, tmp_path / "seg"))
    export(tmp_path / "seg", tmp_path / "weights")
    segmenter_graph = str(tmp_path / "weights" / "segmenter-tiny.onnx")
    train_spade.train(spade_config(fixture_data, tmp_path / "spade"))
    baseline_data = {"dataset": "label_folders", "roots": [str(fixture_data / "landscape")],
                     "label_set": "stanford-background", "load_size": 48, "crop_size": 32, "val_limit": 2}
    train_pix2pix.train(tiny_config("pix2pix", tmp_path / "baseline", baseline_data,
                                    {"ngf": 4, "ndf": 4, "depth": 4, "norm": "instance"},
                                    EXPORT | {"id": "p2p-baseline", "input_kind": "labels"}))

    with_torch_judge = evaluate(tmp_path / "spade", segmenter_run=str(tmp_path / "seg"))
    metrics = evaluate(tmp_path / "spade", segmenter_run=segmenter_graph, baseline_run=str(tmp_path / "baseline"))
    # The graph's argmax may flip near-ties, nothing more.
    assert metrics["fcn_score"]["real_photos_oracle"]["pixel_accuracy"] == pytest.approx(
        with_torch_judge["fcn_score"]["real_photos_oracle"]["pixel_accuracy"], abs=0.01)
    per_class = metrics["fcn_score"]["real_photos_oracle"]["class_accuracy"]
    assert set(per_class) <= {c.name for c in LANDSCAPE.classes}
    assert np.mean(list(per_class.values())) == pytest.approx(
        metrics["fcn_score"]["real_photos_oracle"]["mean_class_accuracy"], abs=1e-3)
    # The truncation sweep scores the painter's truncation too, with the same draws as the main row.
    sweep = metrics["fcn_score"]["random_styles_by_truncation"]
    painter = str(spade_config(fixture_data, tmp_path).export.style_truncation)
    assert set(sweep) == {"0.5", "0.7", "1.0", painter}
    assert {k: sweep[painter][k] for k in metrics["fcn_score"]["generated"] if k != "style"} == {
        k: v for k, v in metrics["fcn_score"]["generated"].items() if k != "style"}
    assert sweep[painter]["diversity_l1"] == metrics["style"]["diversity_l1_between_random_codes"]
    comparison = metrics["equal_cpu_time_comparison"]
    assert comparison["model"]["fcn_score"] == metrics["fcn_score"] and comparison["model"]["step"] == 4
    assert comparison["baseline"]["step"] == 4 and "generated" in comparison["baseline"]["fcn_score"]
    assert comparison["model"]["cpu_minutes"] >= 0 and comparison["baseline"]["cpu_minutes"] >= 0
    assert metrics["command"].endswith(f"--segmenter {segmenter_graph} --baseline {tmp_path / 'baseline'}")

    card = load_card(export(tmp_path / "spade", tmp_path / "weights"))
    from_graph = evaluate(tmp_path / "spade", segmenter_run=segmenter_graph, onnx=tmp_path / "weights" / card.onnx)
    assert from_graph["graph"] == "spade-tiny.onnx"
    assert from_graph["l1_with_own_style"] == pytest.approx(metrics["l1_with_own_style"], abs=1e-3)
    assert from_graph["fcn_score"]["real_photos_oracle"] == metrics["fcn_score"]["real_photos_oracle"]

    # A segmenter's exported graph is measured as its torch network is (the argmax may flip near-ties).
    seg_torch = evaluate(tmp_path / "seg", tmp_path / "seg-torch.json")
    seg_graph = evaluate(tmp_path / "seg", tmp_path / "seg-graph.json",
                         onnx=tmp_path / "weights" / "segmenter-tiny.onnx")
    assert seg_graph["graph"] == "segmenter-tiny.onnx"
    assert seg_graph["validation"]["pixel_accuracy"] == pytest.approx(seg_torch["validation"]["pixel_accuracy"],
                                                                      abs=0.01)
    with pytest.raises(ValueError, match="label -> photo"):
        evaluate(tmp_path / "seg", baseline_run=str(tmp_path / "baseline"))
    with pytest.raises(ValueError, match="not a segmenter"):
        evaluate(tmp_path / "spade", segmenter_run=str(tmp_path / "weights" / card.onnx))
