"""The class-balanced losses: median-frequency weights, per-pixel weight maps, weighted means."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model_training.losses import (MAX_CLASS_WEIGHT, class_weight_map, hinge_d, hinge_g, median_frequency_weights,
                                   weighted_l1, weighted_mean)


def test_median_frequency_weights_favour_rare_classes_and_are_capped():
    # Frequencies 0.5, 0.3, 0.15, 0.05, 0 (absent): median of the present ones is (0.3 + 0.15) / 2 = 0.225.
    weights = median_frequency_weights(np.array([500, 300, 150, 50, 0]))
    assert weights.tolist() == pytest.approx([0.45, 0.75, 1.5, 4.5, 1.0])
    capped = median_frequency_weights(np.array([1000, 1000, 1000, 1]))
    assert capped[-1].item() == MAX_CLASS_WEIGHT and capped[0].item() == pytest.approx(1.0)


def test_class_weight_map_gives_the_ignore_label_weight_one():
    labels = torch.tensor([[[[0, 1], [2, 15]]]])
    weights = class_weight_map(labels, torch.tensor([0.5, 2.0, 3.0]))
    assert weights.shape == labels.shape
    assert weights.flatten().tolist() == [0.5, 2.0, 3.0, 1.0]


def test_weighted_mean_is_the_mean_for_uniform_weights_and_follows_the_weights_otherwise():
    values = torch.rand(2, 3, 4, 4)
    assert weighted_mean(values, None) == pytest.approx(values.mean().item())
    assert weighted_mean(values, torch.full((2, 1, 16, 16), 7.0)).item() == pytest.approx(values.mean().item())
    # All the weight on the left half: the mean of the left half (weights pooled to the values' size).
    left = torch.zeros(2, 1, 16, 16)
    left[..., :8] = 1
    assert weighted_mean(values, left).item() == pytest.approx(values[..., :2].mean().item(), rel=1e-5)


def test_weighted_gan_and_l1_losses_reduce_to_the_plain_ones_without_weights():
    real, fake = [torch.randn(2, 1, 5, 5)], [torch.randn(2, 1, 5, 5)]
    ones = torch.ones(2, 1, 20, 20)
    assert hinge_d(real, fake, ones).item() == pytest.approx(hinge_d(real, fake).item(), rel=1e-5)
    assert hinge_g(fake, ones).item() == pytest.approx(-fake[0].mean().item(), rel=1e-5)
    a, b = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    assert weighted_l1(a, b, ones[..., :8, :8]).item() == pytest.approx((a - b).abs().mean().item(), rel=1e-5)
