"""Train the segmenter (photo -> label map) with cross-entropy that skips the ignore label, optionally
weighted by median class frequency, from scratch or from an earlier segmenter run's weights."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

from model_training import runtime as rt
from model_training.checkpoints import load_run
from model_training.config import TrainConfig
from model_training.datasets import build_dataset, label_set_of
from model_training.distributed import unwrap
from model_training.labelsets import colourise, num_classes
from model_training.losses import median_frequency_weights, segmentation_ce
from model_training.models.dilated_segmenter import DilatedSegmenter
from model_training.models.segmenter import Segmenter


ARCHITECTURES = {"encoder_decoder": Segmenter, "dilated": DilatedSegmenter}


def build_model(config: TrainConfig) -> nn.Module:
    if config.model.architecture not in ARCHITECTURES:
        raise ValueError(f"model.architecture must be one of {sorted(ARCHITECTURES)}, "
                         f"got {config.model.architecture!r}")
    return ARCHITECTURES[config.model.architecture](num_classes(label_set_of(config)), config.model)


def train(config: TrainConfig, resume: bool = False) -> Path:
    run = rt.setup(config)
    label_set = label_set_of(config)
    train_set = build_dataset(config, train=True)
    val_set = build_dataset(config, train=False)
    class_weights = None
    if config.model.balance_classes:
        if not hasattr(train_set, "class_pixel_counts"):
            raise ValueError("model.balance_classes needs label-folder data (data.dataset = 'label_folders')")
        class_weights = median_frequency_weights(train_set.class_pixel_counts(num_classes(label_set)),
                                                 config.model.class_weight_power)
        print("class weights:", [round(w, 2) for w in class_weights.tolist()])

    model = build_model(config)
    if config.model.init_from:
        start_config, start_modules, _ = load_run(config.model.init_from)
        if start_config.family != "segmenter":
            raise ValueError(f"model.init_from: {config.model.init_from} is a {start_config.family} run")
        model.load_state_dict(start_modules["model"].state_dict())
    model = run.wrap(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.optim.lr_g, weight_decay=1e-4)
    ckpt = rt.Checkpointer(config, run, {"model": model, "optimizer": optimizer})
    counters = ckpt.resume() if resume else {"step": 0, "images_seen": 0}

    batches = rt.StepBatches(train_set, config.run.batch_size, config.run.seed, run.rank, run.world_size)
    loader = rt.batch_loader(train_set, batches, counters["step"], config.run.max_steps, config.run.num_workers)
    val_batch = rt.collate([val_set[i] for i in range(min(4, len(val_set)))])
    with rt.TrainingLoop(config, run, ckpt, counters) as loop:
        for batch in loader:
            # Cosine decay: the segmenter is a plain supervised model, no GAN balance to keep.
            lr = config.optim.lr_g * 0.5 * (1 + math.cos(math.pi * loop.step / config.run.max_steps))
            for group in optimizer.param_groups:
                group["lr"] = lr
            images = batch["image"].to(run.device)
            labels = batch["labels"].to(run.device)
            model.train()
            with run.autocast():
                loss = segmentation_ce(model(images), labels, label_set.ignore_id, class_weights)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

            sample = lambda path: save_samples(unwrap(model), val_batch, label_set, run, path)
            if loop.step_done(len(images), {"ce": loss}, sample):
                break
    return ckpt.path


@torch.no_grad()
def save_samples(model, batch: dict, label_set, run: rt.Runtime, path: Path) -> None:
    """photo | predicted labels | true labels."""
    model.eval()
    predicted = model(batch["image"].to(run.device)).argmax(1, keepdim=True).cpu()

    def as_image(labels: torch.Tensor) -> torch.Tensor:
        rgb = torch.from_numpy(colourise(labels[0].numpy(), label_set)).permute(2, 0, 1).float()
        return rgb / 127.5 - 1

    rows = [[image, as_image(p), as_image(t)] for image, p, t in zip(batch["image"], predicted, batch["labels"])]
    rt.save_sheet(rows, path)
