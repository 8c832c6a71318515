"""Classifier two-sample test (Lopez-Paz and Oquab, ICLR 2017): can a small CNN trained from scratch tell
real photos from generated pictures? Its accuracy on held-out pictures is the test statistic: 0.5 means
it cannot, 1.0 means every picture gives itself away.

The two sets are paired by photo (a real photo and the picture generated from its label map); the fit/test
split keeps both members of a pair on the same side, so the classifier is never tested on the label map
of a pair it fitted. It fits on random flipped crops (local texture, not layout, is what it should judge)
and classifies a test picture by its centre crop, or by the mean logit of several random crops. The
classifier lives only here: no training loss may use it. How the pictures are prepared before they get
here is model_training.c2st_protocols.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class C2stConfig:
    """The classifier and its fitting. Defaults: the issue-25 protocol's (at S = 128)."""

    crop: int = 96
    widths: tuple[int, ...] = (32, 64, 64, 64)
    # "pooled": each 3x3 conv is followed by LeakyReLU 0.2 and 2x2 average pooling;
    # "strided": stride-2 3x3 convs with batch norm and LeakyReLU 0.2 (the earlier protocol's).
    design: str = "pooled"
    epochs: int = 40  # passes over the fitting pictures, in shuffled batches
    fit_steps: int | None = None  # instead of epochs: this many batches drawn at random (the earlier protocol)
    batch_size: int = 32
    lr: float = 1e-3
    test_crops: int = 0  # 0: the centre crop; n > 0: the mean logit of n random crops

    def __post_init__(self):
        if self.design not in ("pooled", "strided"):
            raise ValueError(f"unknown classifier design {self.design!r}: 'pooled' or 'strided'")


class PatchClassifier(nn.Module):
    """3x3 convs that halve the resolution each, global average pooling, one logit (real > 0)."""

    def __init__(self, widths: tuple[int, ...], design: str):
        super().__init__()
        layers: list[nn.Module] = []
        for cin, cout in zip((3, *widths), widths):
            if design == "pooled":
                layers += [nn.Conv2d(cin, cout, 3, 1, 1), nn.LeakyReLU(0.2, inplace=True), nn.AvgPool2d(2)]
            else:
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


def _fitting_batches(fit: np.ndarray, cfg: C2stConfig, rng: np.random.Generator):
    """Indices of each fitting batch: `epochs` shuffled passes, or `fit_steps` batches drawn at random."""
    if cfg.fit_steps is not None:
        for _ in range(cfg.fit_steps):
            yield rng.choice(fit, cfg.batch_size)
        return
    for _ in range(cfg.epochs):
        order = rng.permutation(fit)
        for start in range(0, len(order), cfg.batch_size):
            yield order[start:start + cfg.batch_size]


def fitting_steps(pictures: int, cfg: C2stConfig) -> int:
    """How many batches the classifier fits on for `pictures` fitting pictures."""
    return cfg.fit_steps if cfg.fit_steps is not None else cfg.epochs * math.ceil(pictures / cfg.batch_size)


def c2st_accuracy(real: np.ndarray, generated: np.ndarray, seed: int, cfg: C2stConfig) -> float:
    """Test accuracy of a classifier fitted on half the pairs (real [N, S, S, 3] uint8 and generated, pair i
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
    classifier = PatchClassifier(cfg.widths, cfg.design)
    optimizer = torch.optim.Adam(classifier.parameters(), lr=cfg.lr)
    classifier.train()
    for chosen in _fitting_batches(fit, cfg, rng):
        corners = np.stack([rng.integers(0, height - cfg.crop + 1, len(chosen)),
                            rng.integers(0, width - cfg.crop + 1, len(chosen))], 1)
        batch = _crops(images[chosen], corners, cfg.crop, rng.random(len(chosen)) < 0.5)
        loss = F.binary_cross_entropy_with_logits(classifier(batch), is_real[chosen])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    classifier.eval()
    with torch.no_grad():
        if cfg.test_crops == 0:
            centre = np.array([[(height - cfg.crop) // 2, (width - cfg.crop) // 2]] * len(test))
            says_real = (classifier(_crops(images[test], centre, cfg.crop)) > 0).numpy()
        else:
            says_real = np.array([bool(classifier(_crops(
                images[index].expand(cfg.test_crops, -1, -1, -1),
                np.stack([rng.integers(0, height - cfg.crop + 1, cfg.test_crops),
                          rng.integers(0, width - cfg.crop + 1, cfg.test_crops)], 1), cfg.crop)).mean() > 0)
                for index in test])
    return float(np.mean(says_real == is_real[test].numpy().astype(bool)))


class AccuracyCache:
    """Each seed's accuracy and fitting time on disk, keyed by the pictures' bytes, the config and the seed:
    an interrupted run resumes where it stopped, a rerun on the same pictures costs nothing, and runs at
    the same time may share one file (each merges what the others wrote before it writes). A cache without
    a path only keeps the times."""

    def __init__(self, path: Path | None):
        self.path = path
        self.entries: dict[str, dict] = {}
        self._merge_file()

    def _merge_file(self) -> None:
        if self.path is not None and self.path.exists():
            self.entries = json.loads(self.path.read_text()) | self.entries

    @staticmethod
    def key(real: np.ndarray, generated: np.ndarray, seed: int, cfg: C2stConfig) -> str:
        digest = hashlib.sha256(json.dumps(asdict(cfg), sort_keys=True).encode())
        for pictures in (real, generated):
            digest.update(str(pictures.shape).encode())
            digest.update(np.ascontiguousarray(pictures).tobytes())
        return f"{digest.hexdigest()}:{seed}"

    def result(self, real: np.ndarray, generated: np.ndarray, seed: int, cfg: C2stConfig) -> dict:
        """{"accuracy", "seconds", "cpu_seconds"} of one seed, fitted now or earlier on the same pictures."""
        key = self.key(real, generated, seed, cfg)
        if key not in self.entries:
            self._merge_file()
        if key not in self.entries:
            wall, cpu = time.perf_counter(), time.process_time()
            accuracy = c2st_accuracy(real, generated, seed, cfg)
            self.entries[key] = {"accuracy": accuracy, "seconds": round(time.perf_counter() - wall, 1),
                                 "cpu_seconds": round(time.process_time() - cpu, 1)}
            if self.path is not None:
                self._merge_file()
                self.path.parent.mkdir(parents=True, exist_ok=True)
                written = self.path.with_suffix(f".{os.getpid()}.tmp")
                written.write_text(json.dumps(self.entries, indent=0))
                written.replace(self.path)
        return self.entries[key]


def summary(results: list[dict], pairs: int) -> dict:
    """Seeds' results of one comparison of `pairs` pairs: mean accuracy, spread, each seed's, and the mean
    fitting time per seed (wall and CPU, as measured when each was fitted)."""
    accuracies = [r["accuracy"] for r in results]
    return {"mean": round(float(np.mean(accuracies)), 4), "std": round(float(np.std(accuracies)), 4),
            "per_seed": [round(a, 4) for a in accuracies], "test_pictures": 2 * (pairs - pairs // 2),
            "seconds_per_seed": round(float(np.mean([r["seconds"] for r in results])), 1),
            "cpu_seconds_per_seed": _mean_or_none([r["cpu_seconds"] for r in results if "cpu_seconds" in r])}


def _mean_or_none(values: list[float]) -> float | None:
    """None where the cache holds no fitting time for any seed."""
    return round(float(np.mean(values)), 1) if values else None


def c2st(real: np.ndarray, generated: np.ndarray, seeds: int, cfg: C2stConfig,
         cache: AccuracyCache | None = None) -> dict:
    """Accuracy over `seeds` splits and classifier initialisations (see `summary`)."""
    cache = cache or AccuracyCache(None)
    return summary([cache.result(real, generated, seed, cfg) for seed in range(seeds)], len(real))
