"""Training under torchrun: two CPU processes talking gloo, launched with the README's commands on the tiny
fixture configs. Every family trains with sample sheets on and ends with equal weights on both ranks; two
ranks of batch b make the update one process makes with batch 2b; Ctrl-C stops every rank with a checkpoint
that resumes exactly; a killed rank stops the other with a message; two "nodes" meet on loopback."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import torch

from model_training import train_spade
from model_training.runtime import StepBatches
from tests.helpers import torchrun
from tests.helpers.tiny_runs import (facades_config, hybrid_config, segmenter_config, spade_config, student_config,
                                     tiny_bank, tiny_teacher, unpaired_config)
from tests.helpers.training import checkpoint, with_run

STEPS, SAMPLE_EVERY = 4, 2


@pytest.fixture(scope="module")
def teacher_card(fixture_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_teacher(fixture_data, tmp_path_factory.mktemp("teacher"))


@pytest.fixture(scope="module")
def bank(fixture_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_bank(fixture_data, tmp_path_factory.mktemp("bank") / "bank.npz")


def per_rank(config, batch: int = 1, **run):
    """`batch` examples per rank, a short run with sample sheets."""
    return with_run(config, **({"batch_size": batch, "max_steps": STEPS, "sample_every": SAMPLE_EVERY} | run))


def assert_trained_on_two_ranks(run_dir: Path) -> dict:
    saved = checkpoint(run_dir / "checkpoint.pt")
    run = saved["config"]["run"]
    assert saved["counters"]["step"] == run["max_steps"]
    assert saved["counters"]["images_seen"] == run["max_steps"] * run["batch_size"] * 2
    # Each rank hashed its own weights when the checkpoint was taken.
    digests = [r["weights_sha256"] for r in saved["ranks"]]
    assert len(digests) == 2 and digests[0] == digests[1]
    sheets = sorted(p.name for p in (run_dir / "samples").glob("*.png"))
    assert sheets == [f"{s:06d}.png" for s in range(run["sample_every"], run["max_steps"] + 1, run["sample_every"])]
    return saved


def test_ranks_draw_disjoint_shares_of_the_one_process_batch():
    class Sized:
        def __len__(self):
            return 7

    one = StepBatches(Sized(), 4, seed=3)
    ranks = [StepBatches(Sized(), 2, seed=3, rank=r, world_size=2) for r in (0, 1)]
    for step in range(5):  # across epoch boundaries (7 examples, 4 a step)
        shares = [r.keys(step) for r in ranks]
        assert shares[0] + shares[1] == one.keys(step)
        assert not {seed for _, seed in shares[0]} & {seed for _, seed in shares[1]}


@pytest.mark.parametrize("family", ["pix2pix", "cyclegan", "segmenter", "hybrid"])
def test_family_trains_on_two_ranks_with_sample_sheets_and_equal_weights(family, fixture_data, bank, tmp_path):
    out = tmp_path / "run"
    config = {"pix2pix": lambda: facades_config(fixture_data, out),
              "cyclegan": lambda: unpaired_config(fixture_data, out),
              "segmenter": lambda: segmenter_config(fixture_data, out),
              "hybrid": lambda: hybrid_config(fixture_data, out, bank)}[family]()
    torchrun.train(per_rank(config), tmp_path / "config.toml")
    assert_trained_on_two_ranks(out)


def test_distillation_on_two_ranks_makes_the_update_of_one_process_with_twice_the_batch(fixture_data, teacher_card,
                                                                                       tmp_path):
    """The CLADE student is deterministic: L1 to a fixed teacher, each example's style from its own seed.

    After one step Adam's first moment is (1 - beta1) x the gradient, the one DDP averaged over the ranks: it
    must equal the gradient of the double batch to float precision. So must the weights, except where the
    gradient is float noise (biases right before an instance norm, which removes them: their true gradient is
    zero) or near Adam's eps, where a step of g / (|g| + eps) turns rounding into a different step size."""
    student = student_config(fixture_data, tmp_path / "two", teacher_card)
    torchrun.train(per_rank(student, batch=1, max_steps=1, sample_every=1), tmp_path / "two.toml")
    two_ranks = assert_trained_on_two_ranks(tmp_path / "two")
    train_spade.train(per_rank(with_run(student, out_dir=str(tmp_path / "one")), batch=2, max_steps=1))
    one_process = checkpoint(tmp_path / "one" / "checkpoint.pt")

    names = list(one_process["state"]["generator"])
    gradients = [[saved["state"]["opt_g"]["state"][i]["exp_avg"] / (1 - student.optim.beta1)
                  for i in range(len(names))] for saved in (two_ranks, one_process)]
    largest = max(g.abs().max() for g in gradients[1])
    clear = []
    for name, two, one in zip(names, *gradients):
        torch.testing.assert_close(two, one, rtol=1e-5, atol=1e-6 * largest, msg=name)
        clear.append(one.abs() > 100 * 1e-8)  # 100 x Adam's eps
    assert sum(int(c.sum()) for c in clear) > 0.9 * sum(c.numel() for c in clear)
    for name, where in zip(names, clear):
        two, one = (saved["state"]["generator"][name][where] for saved in (two_ranks, one_process))
        torch.testing.assert_close(two, one, rtol=0, atol=1e-7, msg=name)


def test_ctrl_c_stops_every_rank_with_a_checkpoint_that_resumes_exactly(fixture_data, tmp_path):
    """SPADE draws its style noise from each rank's own generator: the checkpoint must keep both."""
    config = per_rank(spade_config(fixture_data, tmp_path / "straight"), max_steps=8)
    torchrun.train(config, tmp_path / "straight.toml")
    straight = assert_trained_on_two_ranks(tmp_path / "straight")

    interrupted = with_run(config, out_dir=str(tmp_path / "resumed"))
    process = torchrun.start(interrupted, tmp_path / "resumed.toml")
    torchrun.wait_for_logged_step(tmp_path / "resumed", 1, process)
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
    output = torchrun.finish(process, timeout=90)
    stopped_at = checkpoint(tmp_path / "resumed" / "checkpoint.pt")["counters"]["step"]
    assert 2 <= stopped_at < 8, output[-4000:]
    assert "SIGINT: stopping after this step with a checkpoint" in output
    assert f"stopped after step {stopped_at}: checkpoint saved" in output

    torchrun.train(interrupted, tmp_path / "resumed.toml", resume=True)
    resumed = assert_trained_on_two_ranks(tmp_path / "resumed")
    for module, state in straight["state"].items():
        for name, tensor in state.items():
            if isinstance(tensor, torch.Tensor):
                assert torch.equal(resumed["state"][module][name], tensor), f"{module}.{name}"
    assert [r["weights_sha256"] for r in resumed["ranks"]] == [r["weights_sha256"] for r in straight["ranks"]]


def test_a_killed_rank_stops_the_other_with_a_message(fixture_data, tmp_path):
    config = with_run(segmenter_config(fixture_data, tmp_path / "run"), batch_size=1, max_steps=100_000)
    process = torchrun.start(config, tmp_path / "config.toml")
    torchrun.wait_for_logged_step(tmp_path / "run", 1, process)
    os.kill(torchrun.rank_pid(process, 1), signal.SIGKILL)
    output = torchrun.finish(process, timeout=90)
    assert process.returncode != 0
    assert "rank 0: another rank stopped during step" in output, output[-4000:]


def test_two_nodes_meet_at_a_rendezvous_on_loopback(fixture_data, tmp_path):
    """Two launchers, one rank each, as on two machines: every node reads the data from the same path, and
    only global rank 0 (on the node of rank 0) writes the run folder."""
    config = per_rank(segmenter_config(fixture_data, tmp_path / "run"))
    launchers = torchrun.two_node_launchers(torchrun.free_port())
    nodes = [torchrun.start(config, tmp_path / f"node{rank}.toml", launcher) for rank, launcher in enumerate(launchers)]
    outputs = [torchrun.finish(node) for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], "\n".join(o[-3000:] for o in outputs)
    assert_trained_on_two_ranks(tmp_path / "run")
