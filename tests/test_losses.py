"""The class-balanced losses (median-frequency weights, per-pixel weight maps, weighted means) and the
segmenting discriminator's losses."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from model_training.losses import (MAX_CLASS_WEIGHT, class_weight_map, hinge_d, hinge_g, median_frequency_weights,
                                   segmentation_ce, segmenting_d, segmenting_g, weighted_l1, weighted_mean)
from model_training.models.spade import one_hot


def test_median_frequency_weights_favour_rare_classes_and_are_capped():
    # Frequencies 0.5, 0.3, 0.15, 0.05, 0 (absent): median of the present ones is (0.3 + 0.15) / 2 = 0.225.
    weights = median_frequency_weights(np.array([500, 300, 150, 50, 0]))
    assert weights.tolist() == pytest.approx([0.45, 0.75, 1.5, 4.5, 1.0])
    capped = median_frequency_weights(np.array([1000, 1000, 1000, 1]))
    assert capped[-1].item() == MAX_CLASS_WEIGHT and capped[0].item() == pytest.approx(1.0)


def test_median_frequency_weights_power_moves_every_weight_towards_one():
    counts = np.array([500, 300, 150, 50, 0])
    full, mild = median_frequency_weights(counts), median_frequency_weights(counts, power=0.5)
    assert mild.tolist() == pytest.approx((full ** 0.5).tolist())
    assert torch.equal(median_frequency_weights(counts, power=0.0), torch.ones(5))
    # The order of the classes is kept: the rarest still weighs most.
    assert mild.argsort().tolist() == full.argsort().tolist()


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


def _confident_logits(ids: torch.Tensor, channels: int) -> torch.Tensor:
    """Logits [N, channels, h, w] that put each patch on the id in `ids` [N, 1, h, w] with near certainty."""
    return 20.0 * one_hot(ids, channels)


def test_segmenting_losses_reward_the_right_classes_and_fake():
    classes = 3
    labels = torch.tensor([[[[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 2, 2], [2, 2, 2, 2]]]])
    segmap = one_hot(labels, classes)
    patches = labels[..., ::2, ::2]  # the 2x2 patch grid of this map, one class per patch
    as_classes = _confident_logits(patches, classes + 1)
    as_fake = _confident_logits(torch.full_like(patches, classes), classes + 1)
    # A discriminator that reads real as its classes and fake as fake scores near zero; swapped, it pays.
    assert segmenting_d([as_classes], [as_fake], segmap).item() < 1e-3
    assert segmenting_d([as_fake], [as_classes], segmap).item() > 10
    # The generator wins when its patches are read as their classes.
    assert segmenting_g([as_classes], segmap).item() < 1e-3 < segmenting_g([as_fake], segmap).item()
    # Uniform logits: every patch's loss is log(C + 1), weighted by its class weight.
    uniform = torch.zeros(1, classes + 1, 2, 2)
    assert segmenting_g([uniform], segmap).item() == pytest.approx(np.log(classes + 1), rel=1e-5)
    weights = torch.tensor([1.0, 1.0, 3.0])  # class 2 fills half the patches
    assert segmenting_g([uniform], segmap, weights).item() == pytest.approx(2 * np.log(classes + 1), rel=1e-5)


def test_segmenting_losses_skip_the_ignore_label():
    classes = 3
    labels = torch.tensor([[[[0, 15], [15, 15]]]])  # one labelled pixel, three unknown
    logits = torch.randn(1, classes + 1, 2, 2)
    loss = segmenting_g([logits], one_hot(labels, classes))
    # Only the labelled patch counts (its loss over the four patches of the mean).
    assert loss.item() == pytest.approx(-F.log_softmax(logits, 1)[0, 0, 0, 0].item() / 4, rel=1e-5)


def test_class_weighted_segmentation_ce_is_the_weighted_mean_of_pixel_losses_without_the_ignore_label():
    logits = torch.randn(1, 3, 2, 2)
    labels = torch.tensor([[[[0, 1], [2, 15]]]])
    weights = torch.tensor([1.0, 4.0, 0.5])
    per_pixel = -F.log_softmax(logits, 1)[0, [0, 1, 2], [0, 0, 1], [0, 1, 0]]
    expected = (per_pixel * weights).sum() / weights.sum()
    assert segmentation_ce(logits, labels, 15, weights).item() == pytest.approx(expected.item(), rel=1e-5)
    assert segmentation_ce(logits, labels, 15).item() == pytest.approx(per_pixel.mean().item(), rel=1e-5)
