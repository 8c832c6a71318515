"""The checkerboard index: a tiny U-Net with transposed convolutions prints one, the same U-Net with
resize + conv does not; evaluate measures an exported graph from its config alone, C2ST included."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from model_training.checkerboard import MIN_PICTURES, SIZE, checkerboard_index, stride_bins
from model_training.config import Pix2PixModelConfig, dump_toml
from model_training.evaluate import evaluate
from model_training.export import export
from model_training.models.pix2pix import UnetGenerator
from model_training.train_pix2pix import train
from tests.helpers.training import tiny_config


def smooth_pictures(count: int, seed: int) -> torch.Tensor:
    """Photo-like pictures in [-1, 1]: noise at every octave, weaker the finer (a 1/f spectrum), no peaks."""
    generator = torch.Generator().manual_seed(seed)
    octaves = [F.interpolate(torch.randn(count, 3, SIZE // side, SIZE // side, generator=generator), size=SIZE,
                             mode="bicubic", align_corners=False) * (side / 64) for side in (1, 2, 4, 8, 16, 32, 64)]
    return sum(octaves).clamp(-1, 1)


def test_the_stride_bins_are_periods_2_and_4_along_four_directions():
    bins = stride_bins(256)
    assert bins["period 2 along x"] == (0, 128) and bins["period 2 along diagonal"] == (128, 128)
    assert bins["period 4 along antidiagonal"] == (64, 192)
    assert len(bins) == 7, "period 2's diagonal and antidiagonal are one bin"


@pytest.mark.parametrize("seed", [0, 1])
def test_transposed_convolutions_print_a_checkerboard_that_resize_convolutions_do_not(seed):
    photos = smooth_pictures(MIN_PICTURES, seed)
    indices = {}
    for upsample in ("transposed", "resize"):
        torch.manual_seed(seed)
        unet = UnetGenerator(3, 3, Pix2PixModelConfig(ngf=4, depth=5, norm="instance", upsample=upsample)).eval()
        with torch.no_grad():
            indices[upsample] = checkerboard_index(unet(photos), photos)["index"]
    assert indices["transposed"] > 10, indices
    assert indices["resize"] < 3, indices
    assert checkerboard_index(photos, photos)["index"] == 1.0


def test_too_few_or_too_small_pictures_are_refused():
    photos = smooth_pictures(MIN_PICTURES, 0)
    with pytest.raises(ValueError, match="at least 25 pictures"):
        checkerboard_index(photos[:MIN_PICTURES - 1], photos)
    with pytest.raises(ValueError, match="reference photos of 256x256"):
        checkerboard_index(photos, photos[:, :, :128, :128])


def test_evaluate_measures_an_exported_graph_from_its_config(fixture_data, tmp_path):
    photos = str(fixture_data / "photos")
    data = {"dataset": "sketch_photos", "roots": [photos, photos], "load_size": 32, "crop_size": 32}
    config = tiny_config("pix2pix", tmp_path / "run", data, {"ngf": 4, "ndf": 4, "depth": 5, "norm": "instance"},
                         {"id": "tiny-sketch", "input_kind": "sketch", "size": 32}, max_steps=2)
    train(config)
    graph = export(tmp_path / "run", tmp_path / "weights").with_suffix(".onnx")
    config_file = tmp_path / "tiny.toml"
    config_file.write_text(dump_toml(config))

    from_run = evaluate(tmp_path / "run", out=tmp_path / "run.json", reference=tmp_path)
    from_graph = evaluate(config_file, out=tmp_path / "graph" / "metrics.json", onnx=graph, reference=tmp_path,
                          c2st_seeds=1)
    c2st = from_graph["c2st_against_the_photos"]
    assert 0.0 <= c2st["mean"] <= 1.0 and len(c2st["per_seed"]) == 1
    assert from_graph["l1"] == pytest.approx(from_run["l1"], abs=1e-3)
    assert from_graph["step"] is None and from_graph["cpu_minutes"] is None
    assert from_graph["graph"] == "tiny-sketch.onnx"
    # 32-pixel fixtures: the index is reported as not measured, with the reason.
    assert "needs 25+ pictures of 256x256" in from_graph["checkerboard"]["not_measured"]
    assert json.loads((tmp_path / "graph" / "metrics.json").read_text()) == from_graph
    assert (tmp_path / "graph" / "evaluation.png").exists()
    with pytest.raises(ValueError, match="pass the exported graph with --onnx"):
        evaluate(config_file, out=tmp_path / "x.json")
