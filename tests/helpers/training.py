"""Fixtures and tiny configs for the training tests: synthetic datasets, never ../shared."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

from model_training.config import REPO_ROOT, TrainConfig, config_from_dict, dump_toml


def tiny_config(family: str, out_dir: Path, data: dict, model: dict, export: dict | None = None,
                optim: dict | None = None, **run: object) -> TrainConfig:
    """A config that trains in a second: one thread, no workers, no periodic checkpoints."""
    run_section = {"out_dir": str(out_dir), "max_steps": 4, "batch_size": 2, "checkpoint_minutes": 60.0,
                   "sample_every": 1000, "log_every": 1, "num_workers": 0, "device": "cpu", "threads": 1, **run}
    return config_from_dict({"family": family, "run": run_section, "data": data, "model": model,
                             "optim": optim or {}, "export": export or {}})


def with_run(config: TrainConfig, **run: object) -> TrainConfig:
    """The same config with some [run] values changed (e.g. max_steps for a resumed leg)."""
    raw = config.to_dict()
    raw["run"].update(run)
    return config_from_dict(raw)


def checkpoint(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)


def run_cli(config: TrainConfig, path: Path) -> subprocess.CompletedProcess:
    """`python -m model_training train FAMILY --config PATH` in a child process, from the repo root."""
    path.write_text(dump_toml(config))
    command = [sys.executable, "-m", "model_training", "train", config.family, "--config", str(path)]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=240,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
