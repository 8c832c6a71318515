"""pix2pix: U-Net shapes, learning on fixtures, exact resume, and a command-line run."""

from __future__ import annotations

import pytest
import torch

from model_training.config import REPO_ROOT, Pix2PixModelConfig, load_config
from model_training.models.pix2pix import UnetGenerator
from model_training.profile import count_gmacs
from model_training.train_pix2pix import build_generator, train
from tests.helpers.tiny_runs import PIX2PIX_TINY, facades_config
from tests.helpers.training import checkpoint, run_cli, tiny_config, with_run


@pytest.mark.parametrize("norm", ["batch", "instance"])
@pytest.mark.parametrize("height, width", [(32, 32), (64, 96)])
def test_unet_shapes_and_deterministic_eval(norm, height, width):
    generator = UnetGenerator(12, 3, Pix2PixModelConfig(ngf=4, depth=5, norm=norm))
    x = torch.randn(2, 12, height, width)
    generator.train()
    y = generator(x)
    assert y.shape == (2, 3, height, width)
    assert y.abs().max() <= 1
    generator.eval()
    with torch.no_grad():
        assert torch.equal(generator(x), generator(x)), "eval() must turn dropout off"


def test_generator_input_channels_follow_the_input_kind(fixture_data, tmp_path):
    labels = facades_config(fixture_data, tmp_path)
    assert build_generator(labels).model.down[0].in_channels == 12
    sketch = tiny_config("pix2pix", tmp_path, {"dataset": "sketch_photos"}, PIX2PIX_TINY, {"input_kind": "sketch"})
    assert build_generator(sketch).model.down[0].in_channels == 1


def test_training_reduces_l1_and_saves_the_named_state(fixture_data, tmp_path):
    # A higher learning rate than the paper's, so a few dozen steps of a tiny net show the trend.
    config = facades_config(fixture_data, tmp_path / "run", {"lr_g": 2e-3, "lr_d": 2e-3}, max_steps=1,
                            batch_size=4)
    first = checkpoint(train(config))["counters"]["losses"]["l1"]
    saved = checkpoint(train(with_run(config, max_steps=60), resume=True))
    assert set(saved["state"]) == {"generator", "discriminator", "opt_g", "opt_d"}
    assert saved["counters"]["step"] == 60
    assert saved["counters"]["losses"]["l1"] < 0.7 * first


def test_resume_continues_exactly(fixture_data, tmp_path):
    straight = checkpoint(train(facades_config(fixture_data, tmp_path / "straight", max_steps=4)))
    interrupted = facades_config(fixture_data, tmp_path / "resumed", max_steps=2)
    train(interrupted)
    resumed = checkpoint(train(with_run(interrupted, max_steps=4), resume=True))
    assert resumed["counters"]["losses"] == straight["counters"]["losses"]
    for name, tensor in straight["state"]["generator"].items():
        assert torch.equal(tensor, resumed["state"]["generator"][name]), name


def test_cli_trains_sketch_to_photo(fixture_data, tmp_path):
    photos = str(fixture_data / "photos")
    data = {"dataset": "sketch_photos", "roots": [photos, photos], "load_size": 32, "crop_size": 32}
    config = tiny_config("pix2pix", tmp_path / "run", data, PIX2PIX_TINY, {"input_kind": "sketch"},
                         max_steps=3, sample_every=2)
    result = run_cli(config, tmp_path / "tiny.toml")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "run" / "checkpoint.pt").exists()
    assert (tmp_path / "run" / "samples" / "000002.png").exists()
    assert checkpoint(tmp_path / "run" / "checkpoint.pt")["counters"]["step"] == 3


@pytest.mark.parametrize("name", ["pix2pix-facades", "pix2pix-sketch"])
def test_shipped_configs_fit_the_budget_and_the_unet(name):
    config = load_config(REPO_ROOT / "model_training" / "configs" / f"{name}.toml")
    assert config.family == "pix2pix" and config.export.id == name and config.export.data
    multiple = 2 ** config.model.depth
    assert config.data.crop_size % multiple == 0 and config.data.load_size % multiple == 0
    generator = build_generator(config).eval()
    channels = generator.model.down[0].in_channels
    assert count_gmacs(generator, torch.zeros(1, channels, 256, 256)) <= 2.0, "30 ms budget on 2 cores"
