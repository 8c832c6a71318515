"""Every loss the four model families use, in one place."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def hinge_d(real_logits: list[torch.Tensor], fake_logits: list[torch.Tensor]) -> torch.Tensor:
    """SPADE's discriminator hinge loss, averaged over scales."""
    loss = sum(F.relu(1 - r).mean() + F.relu(1 + f).mean() for r, f in zip(real_logits, fake_logits))
    return loss / len(real_logits)


def hinge_g(fake_logits: list[torch.Tensor]) -> torch.Tensor:
    return -sum(f.mean() for f in fake_logits) / len(fake_logits)


def lsgan(logits: torch.Tensor, target_is_real: bool) -> torch.Tensor:
    """Least-squares GAN loss (CycleGAN)."""
    return F.mse_loss(logits, torch.full_like(logits, 1.0 if target_is_real else 0.0))


def bce_gan(logits: torch.Tensor, target_is_real: bool) -> torch.Tensor:
    """The original cGAN loss (pix2pix)."""
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, 1.0 if target_is_real else 0.0))


def feature_matching(real_features: list[list[torch.Tensor]], fake_features: list[list[torch.Tensor]]) -> torch.Tensor:
    """L1 between the discriminators' intermediate features of real and fake (pix2pixHD, SPADE)."""
    loss = 0.0
    for real, fake in zip(real_features, fake_features):
        for r, f in zip(real[:-1], fake[:-1]):
            loss = loss + F.l1_loss(f, r.detach())
    return loss / len(real_features)


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma) || N(0, 1)), summed over the code and averaged over the batch (SPADE's VAE)."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / mu.shape[0]


def segmentation_ce(logits: torch.Tensor, labels: torch.Tensor, ignore_id: int | None) -> torch.Tensor:
    """Cross-entropy over classes, skipping the ignore label (and any other id outside the classes)."""
    target = labels[:, 0].clone()
    target[(target < 0) | (target >= logits.shape[1])] = -100
    if ignore_id is not None:
        target[target == ignore_id] = -100
    return F.cross_entropy(logits, target, ignore_index=-100)
