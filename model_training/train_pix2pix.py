"""Train pix2pix (Isola et al. 2017): a U-Net from a label map or a sketch to a photo, against a 70x70
PatchGAN that judges (input, output) pairs, with cGAN + lambda * L1 and Adam(2e-4, 0.5, 0.999)."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from model_training import runtime as rt
from model_training.config import TrainConfig
from model_training.datasets import build_dataset, label_set_of
from model_training.distributed import unwrap
from model_training.labelsets import colourise, num_classes
from model_training.losses import bce_gan
from model_training.models.discriminators import NLayerDiscriminator
from model_training.models.pix2pix import UnetGenerator
from model_training.models.spade import one_hot


def input_channels(config: TrainConfig) -> int:
    if config.export.input_kind == "labels":
        return num_classes(label_set_of(config))
    if config.export.input_kind == "sketch":
        return 1
    raise ValueError(f"pix2pix export.input_kind must be labels or sketch, got {config.export.input_kind!r}")


def build_generator(config: TrainConfig) -> UnetGenerator:
    """Takes the one-hot label map (labels) or the sketch (sketch); export adds the one-hot in the graph."""
    return UnetGenerator(input_channels(config), 3, config.model)


def generator_input(batch: dict, config: TrainConfig, device: torch.device) -> torch.Tensor:
    if config.export.input_kind == "labels":
        return one_hot(batch["labels"].to(device), input_channels(config))
    return batch["sketch"].to(device)


def train(config: TrainConfig, resume: bool = False) -> Path:
    run = rt.setup(config)
    m = config.model
    train_set = build_dataset(config, train=True)
    val_set = build_dataset(config, train=False)

    generator = run.wrap(build_generator(config))
    # Unwrapped under DDP on purpose: see the generator step.
    discriminator = NLayerDiscriminator(input_channels(config) + 3, m.ndf, m.d_layers).to(run.device)
    d_train = run.wrap(discriminator)
    betas = (config.optim.beta1, config.optim.beta2)
    opt_g = torch.optim.Adam(generator.parameters(), lr=config.optim.lr_g, betas=betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=config.optim.lr_d, betas=betas)
    ckpt = rt.Checkpointer(config, run, {"generator": generator, "discriminator": discriminator,
                                         "opt_g": opt_g, "opt_d": opt_d})
    counters = ckpt.resume() if resume else {"step": 0, "images_seen": 0}

    batches = rt.StepBatches(train_set, config.run.batch_size, config.run.seed, run.rank, run.world_size)
    loader = rt.batch_loader(train_set, batches, counters["step"], config.run.max_steps, config.run.num_workers)
    val_batch = rt.collate([val_set[i] for i in range(min(4, len(val_set)))])
    with rt.TrainingLoop(config, run, ckpt, counters) as loop:
        for batch in loader:
            step = loop.step
            # Dropout masks are a pure function of the step, like the batches, so a resumed run draws
            # the masks an uninterrupted one would have drawn.
            torch.manual_seed((config.run.seed * 1_000_003 + step) * run.world_size + run.rank)
            rt.linear_decay(opt_g, config.optim.lr_g, step, config.run.max_steps, config.optim.decay_from)
            rt.linear_decay(opt_d, config.optim.lr_d, step, config.run.max_steps, config.optim.decay_from)
            condition = generator_input(batch, config, run.device)
            real = batch["image"].to(run.device)
            generator.train()
            discriminator.train()

            with run.autocast():
                fake = generator(condition)
                real_logits = d_train(torch.cat([condition, real], 1))[-1]
                fake_logits = d_train(torch.cat([condition, fake.detach()], 1))[-1]
                loss_d = 0.5 * (bce_gan(real_logits, True) + bce_gan(fake_logits, False))
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()

            # The generator step needs gradients through D, not of D's weights: freeze D and call it
            # unwrapped, so DDP neither computes nor waits for D's gradients.
            discriminator.requires_grad_(False)
            with run.autocast():
                loss_gan = bce_gan(discriminator(torch.cat([condition, fake], 1))[-1], True)
                loss_l1 = F.l1_loss(fake, real)
                loss_g = loss_gan + m.lambda_l1 * loss_l1
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            discriminator.requires_grad_(True)

            losses = {"d": loss_d, "g_gan": loss_gan, "l1": loss_l1}
            sample = lambda path: save_samples(unwrap(generator), val_batch, config, run, path)
            if loop.step_done(len(real), losses, sample):
                break
    return ckpt.path


@torch.no_grad()
def save_samples(generator, batch: dict, config: TrainConfig, run: rt.Runtime, path: Path) -> None:
    """input (coloured labels or sketch) | output | real photo."""
    generator.eval()
    fakes = generator(generator_input(batch, config, run.device)).cpu()
    if config.export.input_kind == "labels":
        label_set = label_set_of(config)
        inputs = [torch.from_numpy(colourise(labels[0].numpy(), label_set)).permute(2, 0, 1).float() / 127.5 - 1
                  for labels in batch["labels"]]
    else:
        inputs = list(batch["sketch"])
    rt.save_sheet([[i, f, r] for i, f, r in zip(inputs, fakes, batch["image"])], path)
