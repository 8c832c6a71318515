"""Load a finished (or running) training run: its resolved config and its trained networks."""

from __future__ import annotations

import importlib
from pathlib import Path

import torch
from torch import nn

from model_training.config import TrainConfig, config_from_dict

# The networks each family exports or evaluates, by their checkpoint names.
INFERENCE_MODULES = {
    "spade": ("generator", "encoder"),
    "hybrid": ("generator",),
    "pix2pix": ("generator",),
    "cyclegan": ("G_AB", "G_BA"),
    "segmenter": ("model",),
}


def build_inference_module(config: TrainConfig, name: str) -> nn.Module:
    trainer = importlib.import_module(f"model_training.train_{config.family}")
    if config.family == "spade" and name == "encoder":
        return trainer.build_encoder(config)
    if config.family == "segmenter":
        return trainer.build_model(config)
    return trainer.build_generator(config)


def load_run(run_dir: str | Path) -> tuple[TrainConfig, dict[str, nn.Module], dict]:
    path = Path(run_dir) / "checkpoint.pt"
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}: train first")
    saved = torch.load(path, map_location="cpu", weights_only=False)
    if saved["config"]["family"] in ("pix2pix", "cyclegan"):
        # Runs saved before `model.upsample` existed used the transposed convolutions.
        saved["config"]["model"].setdefault("upsample", "transposed")
    config = config_from_dict(saved["config"])
    modules = {}
    for name in INFERENCE_MODULES[config.family]:
        module = build_inference_module(config, name)
        state = saved["state"][name]
        if getattr(config.model, "teacher", None):
            # A distilled student and its teacher's encoder are saved with spectral norm already folded.
            from model_training.distill_spade import copy_parameters
            from model_training.export import strip_spectral_norm

            strip_spectral_norm(module)
            copy_parameters(module, state)
        else:
            module.load_state_dict(state)
        modules[name] = module.eval()
    return config, modules, saved["counters"]
