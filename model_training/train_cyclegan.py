"""Train CycleGAN (Zhu et al. 2017) between unpaired domains A and B: generators G_AB and G_BA, PatchGAN
discriminators D_A (judges domain A) and D_B (domain B), least-squares GAN loss, cycle loss lambda = 10,
identity loss 0.5 * lambda, pools of 50 past fakes for the discriminators, and linear lr decay.

G_AB is the direction export ships (A = photo or summer, B = Monet or winter)."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from model_training import runtime as rt
from model_training.config import TrainConfig
from model_training.datasets import build_dataset
from model_training.distributed import unwrap
from model_training.losses import lsgan
from model_training.models.cyclegan import ImagePool, ResnetGenerator
from model_training.models.discriminators import NLayerDiscriminator


def build_generator(config: TrainConfig) -> ResnetGenerator:
    return ResnetGenerator(3, 3, config.model)


def train(config: TrainConfig, resume: bool = False) -> Path:
    run = rt.setup(config)
    m = config.model
    train_set = build_dataset(config, train=True)
    val_set = build_dataset(config, train=False)

    g_ab, g_ba = run.wrap(build_generator(config)), run.wrap(build_generator(config))
    # Kept unwrapped for the generator step (see there); wrapped for the discriminator step.
    d_a, d_b = (NLayerDiscriminator(3, m.ndf, m.d_layers).to(run.device) for _ in range(2))
    d_a_train, d_b_train = run.wrap(d_a), run.wrap(d_b)
    betas = (config.optim.beta1, config.optim.beta2)
    opt_g = torch.optim.Adam([*g_ab.parameters(), *g_ba.parameters()], lr=config.optim.lr_g, betas=betas)
    opt_d = torch.optim.Adam([*d_a.parameters(), *d_b.parameters()], lr=config.optim.lr_d, betas=betas)
    pool_a = ImagePool(m.pool_size, seed=config.run.seed * 2 + run.rank * 1_000_003)
    pool_b = ImagePool(m.pool_size, seed=config.run.seed * 2 + 1 + run.rank * 1_000_003)
    # Each rank keeps its own history of fakes.
    ckpt = rt.Checkpointer(config, run, {"G_AB": g_ab, "G_BA": g_ba, "D_A": d_a, "D_B": d_b,
                                         "opt_g": opt_g, "opt_d": opt_d}, per_rank={"pool_A": pool_a, "pool_B": pool_b})
    counters = ckpt.resume() if resume else {"step": 0, "images_seen": 0}

    batches = rt.StepBatches(train_set, config.run.batch_size, config.run.seed, run.rank, run.world_size)
    loader = rt.batch_loader(train_set, batches, counters["step"], config.run.max_steps, config.run.num_workers)
    val_batch = rt.collate([val_set[i] for i in range(min(4, len(val_set)))])
    with rt.TrainingLoop(config, run, ckpt, counters) as loop:
        for batch in loader:
            step = loop.step
            rt.linear_decay(opt_g, config.optim.lr_g, step, config.run.max_steps, config.optim.decay_from)
            rt.linear_decay(opt_d, config.optim.lr_d, step, config.run.max_steps, config.optim.decay_from)
            real_a, real_b = batch["A"].to(run.device), batch["B"].to(run.device)
            g_ab.train()
            g_ba.train()

            # Generators. The discriminators are frozen and called unwrapped: the step needs gradients
            # through them, not of their weights, and DDP must not wait for those.
            d_a.requires_grad_(False)
            d_b.requires_grad_(False)
            with run.autocast():
                fake_b, fake_a = g_ab(real_a), g_ba(real_b)
                loss_gan = lsgan(d_b(fake_b)[-1], True) + lsgan(d_a(fake_a)[-1], True)
                loss_cycle = F.l1_loss(g_ba(fake_b), real_a) + F.l1_loss(g_ab(fake_a), real_b)
                # Identity: a generator fed its own target domain should leave the image alone
                # (keeps the colours of paintings and photos from drifting).
                loss_identity = F.l1_loss(g_ab(real_b), real_b) + F.l1_loss(g_ba(real_a), real_a)
                loss_g = (loss_gan + m.lambda_cycle * loss_cycle
                          + m.lambda_cycle * m.lambda_identity * loss_identity)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            d_a.requires_grad_(True)
            d_b.requires_grad_(True)

            # Discriminators: real images against fakes drawn from the history pools.
            with run.autocast():
                loss_d_a = 0.5 * (lsgan(d_a_train(real_a)[-1], True)
                                  + lsgan(d_a_train(pool_a.query(fake_a))[-1], False))
                loss_d_b = 0.5 * (lsgan(d_b_train(real_b)[-1], True)
                                  + lsgan(d_b_train(pool_b.query(fake_b))[-1], False))
            opt_d.zero_grad(set_to_none=True)
            (loss_d_a + loss_d_b).backward()
            opt_d.step()

            losses = {"d_a": loss_d_a, "d_b": loss_d_b, "g_gan": loss_gan, "cycle": loss_cycle, "idt": loss_identity}
            sample = lambda path: save_samples(unwrap(g_ab), unwrap(g_ba), val_batch, run, path)
            if loop.step_done(len(real_a), losses, sample):
                break
    return ckpt.path


@torch.no_grad()
def save_samples(g_ab, g_ba, batch: dict, run: rt.Runtime, path: Path) -> None:
    """Rows A | G_AB(A) | G_BA(G_AB(A)), then B | G_BA(B) | G_AB(G_BA(B)): there is no target, so the
    third column is the cycle's reconstruction."""
    g_ab.eval()
    g_ba.eval()
    rows = []
    for source, forward, backward in ((batch["A"], g_ab, g_ba), (batch["B"], g_ba, g_ab)):
        translated = forward(source.to(run.device))
        reconstructed = backward(translated).cpu()
        rows += [[s, t, r] for s, t, r in zip(source, translated.cpu(), reconstructed)]
    rt.save_sheet(rows, path)
