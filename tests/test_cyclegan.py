"""CycleGAN: ResNet generator shapes, the image pool, learning on fixtures, exact resume, a CLI run."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from model_training.config import REPO_ROOT, CycleGanModelConfig, load_config
from model_training.models.cyclegan import ImagePool, ResnetGenerator
from model_training.profile import count_gmacs
from model_training.train_cyclegan import build_generator, train
from tests.helpers.tiny_runs import unpaired_config
from tests.helpers.training import checkpoint, run_cli, with_run


@pytest.mark.parametrize("height, width", [(32, 32), (48, 64)])
def test_resnet_generator_shapes(height, width):
    generator = ResnetGenerator(3, 3, CycleGanModelConfig(ngf=4, n_blocks=2))
    y = generator(torch.randn(2, 3, height, width))
    assert y.shape == (2, 3, height, width)
    assert y.abs().max() <= 1


def test_build_generator_maps_photos_to_photos(fixture_data, tmp_path):
    generator = build_generator(unpaired_config(fixture_data, tmp_path))
    assert generator(torch.zeros(1, 3, 32, 32)).shape == (1, 3, 32, 32)


def test_image_pool_fills_then_mixes_history_and_restores_exactly():
    pool = ImagePool(size=4, seed=1)
    first = torch.arange(4.0).view(4, 1, 1, 1)
    assert torch.equal(pool.query(first), first), "a filling pool returns its inputs"
    saved = pool.state_dict()
    drawn = [pool.query(torch.full((2, 1, 1, 1), 10.0 + i)) for i in range(8)]
    values = {float(v) for batch in drawn for v in batch.flatten()}
    assert values & {0.0, 1.0, 2.0, 3.0} and values & {10.0 + i for i in range(8)}, "both old and new images"

    restored = ImagePool(size=4, seed=99)
    restored.load_state_dict(saved)
    again = [restored.query(torch.full((2, 1, 1, 1), 10.0 + i)) for i in range(8)]
    assert all(torch.equal(a, b) for a, b in zip(drawn, again))
    assert torch.equal(ImagePool(size=0).query(first), first)


def test_training_reduces_cycle_loss_and_saves_the_named_state(fixture_data, tmp_path):
    config = unpaired_config(fixture_data, tmp_path / "run", {"lr_g": 2e-3, "lr_d": 2e-3}, max_steps=1)
    first = checkpoint(train(config))["counters"]["losses"]["cycle"]
    saved = checkpoint(train(with_run(config, max_steps=40), resume=True))
    assert {"G_AB", "G_BA", "D_A", "D_B", "opt_g", "opt_d"} <= set(saved["state"])
    assert saved["counters"]["losses"]["cycle"] < 0.7 * first


def as_written_before_per_rank_state(path: Path) -> None:
    """Rewrite a checkpoint as runs before torchrun support saved it: one RNG state, the pools among the state."""
    saved = checkpoint(path)
    (own,) = saved.pop("ranks")
    saved["rng"] = own["rng"]
    saved["state"] |= {"pool_A": own["pool_A"], "pool_B": own["pool_B"]}
    torch.save(saved, path)


@pytest.mark.parametrize("layout", ["current", "before per-rank state"])
def test_resume_continues_exactly(fixture_data, tmp_path, layout):
    # Pools of 3 with batches of 2 fill during the first leg, so the resumed leg draws from a full pool.
    straight = checkpoint(train(unpaired_config(fixture_data, tmp_path / "straight", max_steps=4)))
    interrupted = unpaired_config(fixture_data, tmp_path / "resumed", max_steps=2)
    path = train(interrupted)
    if layout != "current":
        as_written_before_per_rank_state(path)
    resumed = checkpoint(train(with_run(interrupted, max_steps=4), resume=True))
    assert resumed["counters"]["losses"] == straight["counters"]["losses"]
    for name in ("G_AB", "G_BA", "D_A", "D_B"):
        for key, tensor in straight["state"][name].items():
            assert torch.equal(tensor, resumed["state"][name][key]), f"{name}.{key}"


def test_cli_trains(fixture_data, tmp_path):
    config = unpaired_config(fixture_data, tmp_path / "run", max_steps=3, sample_every=2)
    result = run_cli(config, tmp_path / "tiny.toml")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "run" / "samples" / "000002.png").exists()
    assert checkpoint(tmp_path / "run" / "checkpoint.pt")["counters"]["step"] == 3


def test_evaluate_judges_the_filter_against_held_out_targets(fixture_data, tmp_path):
    from model_training.evaluate import DOMAIN_C2ST_SIDE, evaluate

    config = unpaired_config(fixture_data, tmp_path / "run", max_steps=1)
    config.data.hold_out_every = 3
    train(config)
    metrics = evaluate(tmp_path / "run", out=tmp_path / "metrics.json", c2st_seeds=1)
    domain = metrics["domain_c2st_against_held_out_targets"]
    assert domain["judged_side"] == DOMAIN_C2ST_SIDE
    for side in ("filtered", "unfiltered"):
        assert 0.0 <= domain[side]["mean"] <= 1.0 and len(domain[side]["per_seed"]) == 1
    assert metrics["colour_stats_distance_to_domain_b"]["input"] >= 0


@pytest.mark.parametrize("name", ["cyclegan-monet", "cyclegan-winter"])
def test_shipped_configs_fit_the_budget(name):
    config = load_config(REPO_ROOT / "model_training" / "configs" / f"{name}.toml")
    assert config.family == "cyclegan" and config.export.id == name and config.export.data
    assert config.data.crop_size % 2 ** config.model.n_downsampling == 0
    generator = build_generator(config).eval()
    assert count_gmacs(generator, torch.zeros(1, 3, 256, 256)) <= 6.0, "100 ms budget on 2 cores"
