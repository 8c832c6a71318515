"""Train SPADE: label map + style code -> photo, with a VAE style encoder and a multi-scale discriminator.

Losses (Park et al. 2019): hinge GAN + discriminator feature matching + KL on the style code. The paper's
VGG perceptual loss needs ImageNet weights we cannot ship; in its place an optional L1 reconstruction with
the photo's own style code (`lambda_l1`) gets colours and layout right early, as L1 does in pix2pix.
`segmenting_discriminator` swaps the conditional hinge discriminator for OASIS's (Schoenfeld et al. 2021): it
sees only the image and labels each patch with a class or "fake"; the landscape model trains with it (README:
FCN mIoU 0.456 -> 0.613). `balance_l1` / `balance_gan` weigh the L1 and GAN losses by median-frequency class
weights.
"""

from __future__ import annotations

from pathlib import Path

import torch

from model_training import runtime as rt
from model_training.config import TrainConfig
from model_training.distributed import unwrap
from model_training.datasets import build_dataset, label_set_of
from model_training.labelsets import colourise, num_classes
from model_training.losses import (class_weight_map, feature_matching, hinge_d, hinge_g, kl_divergence,
                                   median_frequency_weights, segmenting_d, segmenting_g, weighted_l1)
from model_training.models.discriminators import MultiscaleDiscriminator
from model_training.models.spade import SPADEGenerator, StyleEncoder, one_hot, reparameterize


def build_generator(config: TrainConfig) -> SPADEGenerator:
    return SPADEGenerator(num_classes(label_set_of(config)), config.model)


def build_encoder(config: TrainConfig) -> StyleEncoder:
    return StyleEncoder(config.model)


def train(config: TrainConfig, resume: bool = False) -> Path:
    if config.model.teacher:
        from model_training import distill_spade

        return distill_spade.train(config, resume)
    run = rt.setup(config)
    m = config.model
    label_set = label_set_of(config)
    classes = num_classes(label_set)
    train_set = build_dataset(config, train=True)
    val_set = build_dataset(config, train=False)
    class_weights = None
    if m.balance_l1 or m.balance_gan:
        if not hasattr(train_set, "class_pixel_counts"):
            raise ValueError("model.balance_l1 / balance_gan need label-folder data (data.dataset = 'label_folders')")
        class_weights = median_frequency_weights(train_set.class_pixel_counts(classes))
        print("class weights:", [round(w, 2) for w in class_weights.tolist()])
    gan_class_weights = class_weights if m.balance_gan else None
    # Per-pixel weight maps only for the losses that take them: L1 and the hinge patches.
    pixel_weighted = m.balance_l1 or (m.balance_gan and not m.segmenting_discriminator)

    generator = run.wrap(build_generator(config))
    encoder = run.wrap(build_encoder(config))
    if m.segmenting_discriminator:
        discriminator = run.wrap(MultiscaleDiscriminator(3, m.ndf, m.d_layers, m.num_d, out_channels=classes + 1))
        d_input = lambda segmap, image: image
    else:
        discriminator = run.wrap(MultiscaleDiscriminator(classes + 3, m.ndf, m.d_layers, m.num_d))
        d_input = lambda segmap, image: torch.cat([segmap, image], 1)
    # Two time-scale update rule as in the paper: beta1 = 0, beta2 = 0.9, D learns faster than G.
    betas = (config.optim.beta1, config.optim.beta2)
    opt_g = torch.optim.Adam([*generator.parameters(), *encoder.parameters()], lr=config.optim.lr_g, betas=betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=config.optim.lr_d, betas=betas)
    ckpt = rt.Checkpointer(config, run, {"generator": generator, "encoder": encoder, "discriminator": discriminator,
                                         "opt_g": opt_g, "opt_d": opt_d})
    counters = ckpt.resume() if resume else {"step": 0, "images_seen": 0}

    batches = rt.StepBatches(train_set, config.run.batch_size, config.run.seed, run.rank, run.world_size)
    loader = rt.batch_loader(train_set, batches, counters["step"], config.run.max_steps, config.run.num_workers)
    val_batch = rt.collate([val_set[i] for i in range(min(4, len(val_set)))])
    l1_steps = m.l1_until * config.run.max_steps
    with rt.TrainingLoop(config, run, ckpt, counters) as loop:
        for batch in loader:
            step = loop.step
            rt.linear_decay(opt_g, config.optim.lr_g, step, config.run.max_steps, config.optim.decay_from)
            rt.linear_decay(opt_d, config.optim.lr_d, step, config.run.max_steps, config.optim.decay_from)
            real, labels = batch["image"].to(run.device), batch["labels"].to(run.device)
            segmap = one_hot(labels, classes)
            pixel_weights = class_weight_map(labels, class_weights) if pixel_weighted else None
            l1_weights = pixel_weights if m.balance_l1 else None
            gan_weights = pixel_weights if m.balance_gan else None
            generator.train(), encoder.train(), discriminator.train()

            # Generator and style encoder.
            with run.autocast():
                mu, logvar = encoder(real)
                fake = generator(segmap, reparameterize(mu, logvar))
                fake_out = discriminator(d_input(segmap, fake))
                with torch.no_grad():
                    real_out = discriminator(d_input(segmap, real))
                fake_logits = [o[-1] for o in fake_out]
                losses = {
                    "g_gan": (segmenting_g(fake_logits, segmap, gan_class_weights)
                              if m.segmenting_discriminator else hinge_g(fake_logits, gan_weights)),
                    "g_feat": m.lambda_feat * feature_matching(real_out, fake_out),
                    "g_kl": m.lambda_kl * kl_divergence(mu.float(), logvar.float()),
                }
                if m.lambda_l1 > 0 and step < l1_steps:
                    losses["g_l1"] = m.lambda_l1 * weighted_l1(fake, real, l1_weights)
                loss_g = sum(losses.values())
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()

            # Discriminator: real and fake in one pass.
            with run.autocast():
                both = discriminator(torch.cat([d_input(segmap, fake.detach()), d_input(segmap, real)], 0))
                n = real.shape[0]
                real_logits, fake_logits = [o[-1][n:] for o in both], [o[-1][:n] for o in both]
                if m.segmenting_discriminator:
                    loss_d = segmenting_d(real_logits, fake_logits, segmap, gan_class_weights)
                else:
                    loss_d = hinge_d(real_logits, fake_logits, gan_weights)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()

            sample = lambda path: save_samples(unwrap(generator), unwrap(encoder), val_batch, label_set, run, path)
            if loop.step_done(n, losses | {"d": loss_d}, sample):
                break
    return ckpt.path


@torch.no_grad()
def save_samples(generator, encoder, batch: dict, label_set, run: rt.Runtime, path: Path) -> None:
    """labels | output with the photo's own style | output with the next photo's style | real photo.
    (Not a random code: where random codes come from is only known after training, see style_codes.)"""
    generator.eval(), encoder.eval()
    classes = num_classes(label_set)
    real = batch["image"].to(run.device)
    segmap = one_hot(batch["labels"].to(run.device), classes)
    own, _ = encoder(real)
    with_own, with_other = generator(segmap, own).cpu(), generator(segmap, own.roll(1, 0)).cpu()
    rows = []
    for labels, a, b, photo in zip(batch["labels"], with_own, with_other, batch["image"]):
        coloured = torch.from_numpy(colourise(labels[0].numpy(), label_set)).permute(2, 0, 1).float() / 127.5 - 1
        rows.append([coloured, a, b, photo])
    rt.save_sheet(rows, path)
