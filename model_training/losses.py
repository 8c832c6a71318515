"""Every loss the four model families use, in one place."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


MAX_CLASS_WEIGHT = 5.0


def median_frequency_weights(class_pixels: np.ndarray, power: float = 1.0) -> torch.Tensor:
    """Median frequency balancing (Eigen and Fergus 2015): weight_c = median frequency / frequency_c, so
    rare classes (water, mountain) count as much as common ones (road, building). Absent classes get 1.
    Capped at MAX_CLASS_WEIGHT: a class in a handful of maps (mountain here: 25x) would rule the loss.
    `power` < 1 moves every weight towards 1: milder balancing that costs the common classes less."""
    freq = class_pixels / max(class_pixels.sum(), 1)
    present = freq > 0
    weights = np.ones_like(freq)
    weights[present] = np.minimum(np.median(freq[present]) / freq[present], MAX_CLASS_WEIGHT) ** power
    return torch.tensor(weights, dtype=torch.float32)


def class_weight_map(labels: torch.Tensor, class_weights: torch.Tensor) -> torch.Tensor:
    """int64 labels [N, 1, H, W] -> per-pixel weights [N, 1, H, W]; ids outside the classes (the ignore
    label) weigh 1."""
    inside = (labels >= 0) & (labels < len(class_weights))
    return torch.where(inside, class_weights.to(labels.device)[labels.clamp(0, len(class_weights) - 1)],
                       torch.ones((), device=labels.device))


def weighted_mean(values: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    """Mean of `values` [N, C, h, w], each pixel weighted by `weights` [N, 1, H, W] pooled to h x w."""
    if weights is None:
        return values.mean()
    pooled = F.adaptive_avg_pool2d(weights, values.shape[-2:])
    return (values * pooled).sum() / (pooled.sum() * values.shape[1])


def hinge_d(real_logits: list[torch.Tensor], fake_logits: list[torch.Tensor],
            weights: torch.Tensor | None = None) -> torch.Tensor:
    """SPADE's discriminator hinge loss, averaged over scales; `weights` weighs each patch's pixels."""
    loss = sum(weighted_mean(F.relu(1 - r), weights) + weighted_mean(F.relu(1 + f), weights)
               for r, f in zip(real_logits, fake_logits))
    return loss / len(real_logits)


def hinge_g(fake_logits: list[torch.Tensor], weights: torch.Tensor | None = None) -> torch.Tensor:
    return -sum(weighted_mean(f, weights) for f in fake_logits) / len(fake_logits)


def _patch_class_log_likelihoods(logits: torch.Tensor, segmap: torch.Tensor,
                                 class_weights: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """For a segmenting discriminator's logits [N, C+1, h, w] (C classes, then "fake") and the one-hot label
    map [N, C, H, W]: each patch's weighted log-likelihood of its true classes (the label map pooled to the
    patch grid gives each patch its class mix) and of "fake", both [N, h, w]. Ignore-label pixels count for
    neither."""
    log_p = F.log_softmax(logits.float(), dim=1)
    mix = F.adaptive_avg_pool2d(segmap, logits.shape[-2:])
    if class_weights is not None:
        mix = mix * class_weights.to(mix.device).view(1, -1, 1, 1)
    return (mix * log_p[:, :-1]).sum(1), mix.sum(1) * log_p[:, -1]


def segmenting_d(real_logits: list[torch.Tensor], fake_logits: list[torch.Tensor], segmap: torch.Tensor,
                 class_weights: torch.Tensor | None = None) -> torch.Tensor:
    """OASIS's discriminator loss, averaged over scales: real patches as their classes, fakes as "fake"."""
    loss = 0.0
    for real, fake in zip(real_logits, fake_logits):
        real_classes, _ = _patch_class_log_likelihoods(real, segmap, class_weights)
        _, fake_as_fake = _patch_class_log_likelihoods(fake, segmap, class_weights)
        loss = loss - real_classes.mean() - fake_as_fake.mean()
    return loss / len(real_logits)


def segmenting_g(fake_logits: list[torch.Tensor], segmap: torch.Tensor,
                 class_weights: torch.Tensor | None = None) -> torch.Tensor:
    """OASIS's generator loss: the discriminator should read each generated patch as its true classes."""
    return -sum(_patch_class_log_likelihoods(f, segmap, class_weights)[0].mean() for f in fake_logits) / len(fake_logits)


def weighted_l1(fake: torch.Tensor, real: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    return weighted_mean((fake - real).abs(), weights)


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


def segmentation_ce(logits: torch.Tensor, labels: torch.Tensor, ignore_id: int | None,
                    class_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy over classes, skipping the ignore label (and any other id outside the classes);
    `class_weights` [C] weighs each pixel by its true class (the mean is over the weights)."""
    target = labels[:, 0].clone()
    target[(target < 0) | (target >= logits.shape[1])] = -100
    if ignore_id is not None:
        target[target == ignore_id] = -100
    weight = None if class_weights is None else class_weights.to(logits.device, logits.dtype)
    return F.cross_entropy(logits, target, weight=weight, ignore_index=-100)
