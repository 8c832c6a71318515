"""Train the hybrid renderer's refining network (SIMS, Qi et al. 2018): canvas of other photos' segments +
which pixels are real + label map -> the real photo.

Losses as pix2pixHD/SPADE minus the VGG term we cannot ship weights for: hinge GAN on a multi-scale
conditional PatchGAN, its feature matching, and L1 to the real photo. The network's output is a correction
to the canvas that starts at zero, so the run begins from the canvas itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from backend.hybrid import ExemplarBank, colour_style, compose
from model_training import runtime as rt
from model_training.config import TrainConfig
from model_training.data.canvases import ExemplarCanvases, canvas_sample
from model_training.data.folders import LabelPhotoFolder
from model_training.data.transforms import Geometry
from model_training.datasets import label_set_of
from model_training.distributed import unwrap
from model_training.exemplar_bank import scaled_pair
from model_training.labelsets import colourise, num_classes
from model_training.losses import feature_matching, hinge_d, hinge_g
from model_training.models.discriminators import MultiscaleDiscriminator
from model_training.models.sims import RefinementNetwork
from model_training.models.spade import one_hot

SAMPLE_MAPS = 4


def build_generator(config: TrainConfig) -> RefinementNetwork:
    return RefinementNetwork(num_classes(label_set_of(config)), config.model)


def validation_batch(config: TrainConfig) -> dict:
    """A few validation photos (not in the bank), each composed with its own colours as the style."""
    classes = num_classes(label_set_of(config))
    bank = ExemplarBank.load(Path(config.model.bank))
    val = LabelPhotoFolder(config.data.roots, config.data.val_split, Geometry(256, 256, False)).items
    samples = []
    for index, (image_path, label_path) in enumerate(val[:SAMPLE_MAPS]):
        photo, labels = scaled_pair(image_path, label_path, config.data.load_size)
        canvas = compose(bank, labels, colour_style(photo), index, classes)
        samples.append(canvas_sample(photo, labels, canvas.rgb, canvas.filled))
    # Stanford photos are mostly 256x192 at this scale: sample sheets crop them to one shape.
    h = min(s["labels"].shape[1] for s in samples) // 16 * 16
    w = min(s["labels"].shape[2] for s in samples) // 16 * 16
    return rt.collate([{k: v[:, :h, :w] for k, v in s.items()} for s in samples])


def train(config: TrainConfig, resume: bool = False) -> Path:
    run = rt.setup(config)
    m = config.model
    label_set = label_set_of(config)
    classes = num_classes(label_set)
    train_set = ExemplarCanvases(config.data.roots, Path(m.bank), Path(config.run.out_dir) / "canvases",
                                 m.canvases_per_photo, config.data.crop_size, classes, config.data.load_size)

    generator = run.wrap(build_generator(config))
    discriminator = run.wrap(MultiscaleDiscriminator(classes + 3, m.ndf, m.d_layers, m.num_d))
    betas = (config.optim.beta1, config.optim.beta2)
    opt_g = torch.optim.Adam(generator.parameters(), lr=config.optim.lr_g, betas=betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=config.optim.lr_d, betas=betas)
    ckpt = rt.Checkpointer(config, run, {"generator": generator, "discriminator": discriminator,
                                         "opt_g": opt_g, "opt_d": opt_d})
    counters = ckpt.resume() if resume else {"step": 0, "images_seen": 0}

    batches = rt.StepBatches(train_set, config.run.batch_size, config.run.seed, run.rank, run.world_size)
    loader = rt.batch_loader(train_set, batches, counters["step"], config.run.max_steps, config.run.num_workers)
    val_batch = validation_batch(config)
    with rt.TrainingLoop(config, run, ckpt, counters) as loop:
        for batch in loader:
            step = loop.step
            rt.linear_decay(opt_g, config.optim.lr_g, step, config.run.max_steps, config.optim.decay_from)
            rt.linear_decay(opt_d, config.optim.lr_d, step, config.run.max_steps, config.optim.decay_from)
            real, canvas = batch["image"].to(run.device), batch["canvas"].to(run.device)
            filled, segmap = batch["filled"].to(run.device), one_hot(batch["labels"].to(run.device), classes)
            generator.train(), discriminator.train()

            with run.autocast():
                fake = generator(canvas, filled, segmap)
                fake_out = discriminator(torch.cat([segmap, fake], 1))
                with torch.no_grad():
                    real_out = discriminator(torch.cat([segmap, real], 1))
                losses = {
                    "g_gan": hinge_g([o[-1] for o in fake_out]),
                    "g_feat": m.lambda_feat * feature_matching(real_out, fake_out),
                    "g_l1": m.lambda_l1 * F.l1_loss(fake, real),
                }
                loss_g = sum(losses.values())
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()

            with run.autocast():
                n = real.shape[0]
                both = discriminator(torch.cat([torch.cat([segmap, fake.detach()], 1), torch.cat([segmap, real], 1)]))
                loss_d = hinge_d([o[-1][n:] for o in both], [o[-1][:n] for o in both])
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()

            sample = lambda path: save_samples(unwrap(generator), val_batch, label_set, run, path)
            if loop.step_done(n, losses | {"d": loss_d}, sample):
                break
    return ckpt.path


@torch.no_grad()
def save_samples(generator, batch: dict, label_set, run: rt.Runtime, path: Path) -> None:
    """labels | canvas | refined | real photo."""
    generator.eval()
    classes = num_classes(label_set)
    segmap = one_hot(batch["labels"].to(run.device), classes)
    refined = generator(batch["canvas"].to(run.device), batch["filled"].to(run.device), segmap).cpu()
    rows = []
    for labels, canvas, out, photo in zip(batch["labels"], batch["canvas"], refined, batch["image"]):
        coloured = colourise(labels[0].numpy().astype(np.uint8), label_set)
        rows.append([torch.from_numpy(coloured).permute(2, 0, 1).float() / 127.5 - 1, canvas, out, photo])
    rt.save_sheet(rows, path)
