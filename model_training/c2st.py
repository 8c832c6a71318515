"""Classifier two-sample test (Lopez-Paz and Oquab, ICLR 2017): can a small CNN trained from scratch tell
real photos from generated pictures? Its accuracy on held-out pictures is the test statistic: 0.5 means
it cannot, 1.0 means every picture gives itself away.

The two sets are paired by photo (a real photo and the picture generated from its label map); the fit/test
split keeps both members of a pair on the same side, so the classifier is never tested on the label map
of a pair it fitted. It fits on random crops (local texture, not layout, is what it should judge) and
classifies a test picture by the mean logit of several fixed crops. The classifier lives only here: no
training loss may use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class C2stConfig:
    crop: int = 64
    width: int = 16  # channels of the first conv; doubled twice
    fit_steps: int = 1000  # a fixed budget (no early stopping on test data): under 1 CPU-min
    batch_size: int = 32
    lr: float = 1e-3
    test_crops: int = 8


class PatchClassifier(nn.Module):
    """Four stride-2 convs, global average pooling, one logit (real > 0)."""

    def __init__(self, width: int):
        super().__init__()
        widths = [3, width, 2 * width, 4 * width, 4 * width]
        layers: list[nn.Module] = []
        for cin, cout in zip(widths, widths[1:]):
            layers += [nn.Conv2d(cin, cout, 3, 2, 1), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, inplace=True)]
        self.features = nn.Sequential(*layers)
        self.logit = nn.Linear(widths[-1], 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.logit(self.features(images).mean(dim=(2, 3)))[:, 0]


def split_by_photo(pairs: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Pair indices for fitting and for testing, half each."""
    order = np.random.default_rng([seed, pairs]).permutation(pairs)
    return np.sort(order[: pairs // 2]), np.sort(order[pairs // 2:])


def _as_tensor(pictures: np.ndarray) -> torch.Tensor:
    """uint8 [N, H, W, 3] -> float [N, 3, H, W] in [-1, 1]."""
    return torch.from_numpy(pictures).permute(0, 3, 1, 2).float() / 127.5 - 1


def _crops(images: torch.Tensor, corners: np.ndarray, size: int, flips: np.ndarray | None = None) -> torch.Tensor:
    crops = torch.stack([images[i, :, y:y + size, x:x + size] for i, (y, x) in enumerate(corners)])
    if flips is not None:
        crops = torch.where(torch.from_numpy(flips).view(-1, 1, 1, 1), crops.flip(-1), crops)
    return crops


def c2st_accuracy(real: np.ndarray, generated: np.ndarray, seed: int, cfg: C2stConfig) -> float:
    """Test accuracy of a classifier fitted on half the pairs (real [N, H, W, 3] uint8 and generated, pair i
    = real[i] with generated[i]) and tested on the other half, per picture."""
    if real.shape != generated.shape:
        raise ValueError(f"real {real.shape} and generated {generated.shape} must be paired pictures of one size")
    height, width = real.shape[1:3]
    if min(height, width) < cfg.crop:
        raise ValueError(f"pictures of {height}x{width} are smaller than the {cfg.crop}-pixel crops")
    fit_pairs, test_pairs = split_by_photo(len(real), seed)
    images = torch.cat([_as_tensor(real), _as_tensor(generated)])
    is_real = torch.cat([torch.ones(len(real)), torch.zeros(len(generated))])
    fit = np.concatenate([fit_pairs, fit_pairs + len(real)])
    test = np.concatenate([test_pairs, test_pairs + len(real)])

    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    classifier = PatchClassifier(cfg.width)
    optimizer = torch.optim.Adam(classifier.parameters(), lr=cfg.lr)
    classifier.train()
    for _ in range(cfg.fit_steps):
        chosen = rng.choice(fit, cfg.batch_size)
        corners = np.stack([rng.integers(0, height - cfg.crop + 1, cfg.batch_size),
                            rng.integers(0, width - cfg.crop + 1, cfg.batch_size)], 1)
        batch = _crops(images[chosen], corners, cfg.crop, rng.random(cfg.batch_size) < 0.5)
        loss = F.binary_cross_entropy_with_logits(classifier(batch), is_real[chosen])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    classifier.eval()
    correct = 0
    with torch.no_grad():
        for index in test:
            corners = np.stack([rng.integers(0, height - cfg.crop + 1, cfg.test_crops),
                                rng.integers(0, width - cfg.crop + 1, cfg.test_crops)], 1)
            crops = _crops(images[index].expand(cfg.test_crops, -1, -1, -1), corners, cfg.crop)
            says_real = bool(classifier(crops).mean() > 0)
            correct += says_real == bool(is_real[index])
    return correct / len(test)


def c2st(real: np.ndarray, generated: np.ndarray, seeds: int, cfg: C2stConfig) -> dict:
    """Accuracy over `seeds` splits and classifier initialisations: mean, spread and each seed's."""
    accuracies = [c2st_accuracy(real, generated, seed, cfg) for seed in range(seeds)]
    return {"mean": round(float(np.mean(accuracies)), 4), "std": round(float(np.std(accuracies)), 4),
            "per_seed": [round(a, 4) for a in accuracies], "test_pictures": 2 * (len(real) - len(real) // 2)}
