"""The hybrid renderer's second stage (SIMS, Qi et al. CVPR 2018): a network that turns a canvas of pasted
real photo segments into a coherent photo, seeing the canvas, which of its pixels are real (`filled`) and
the label map.

A U-Net whose output is a correction added to the canvas, starting at zero: the real textures pass through
untouched unless the network learns to change them (seams, holes, colour mismatches between segments),
so an hour of CPU training only has to learn the fixing, not the painting.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from model_training.config import HybridModelConfig


def _norm_act(channels: int) -> list[nn.Module]:
    return [nn.InstanceNorm2d(channels, affine=True), nn.LeakyReLU(0.2)]


class DownBlock(nn.Module):
    """Halve the resolution: 4x4 stride-2 conv, norm, LeakyReLU."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(cin, cout, 4, 2, 1, bias=False), *_norm_act(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class UpBlock(nn.Module):
    """Merge the features below with the encoder's skip at their resolution (3x3 conv), then double the
    resolution bilinearly. Upsampling after the conv, not a transposed conv: a transposed conv's uneven
    overlap printed a checkerboard over the canvas in the first training run."""

    def __init__(self, cin: int, cskip: int, cout: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(cin + cskip, cout, 3, 1, 1, bias=False), *_norm_act(cout))

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return F.interpolate(self.body(torch.cat([x, skip], 1)), scale_factor=2.0, mode="bilinear",
                             align_corners=False)


class ResBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, 1, 1, bias=False), *_norm_act(channels),
                                  nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
                                  nn.InstanceNorm2d(channels, affine=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class RefinementNetwork(nn.Module):
    """(canvas [N,3,H,W] in [-1,1], filled [N,1,H,W] 0/1, one-hot labels [N,C,H,W]) -> image [N,3,H,W].

    Sides must be multiples of 2**len(widths - 1)."""

    def __init__(self, num_classes: int, cfg: HybridModelConfig):
        super().__init__()
        widths = list(cfg.widths)
        self.stem = nn.Sequential(nn.Conv2d(3 + 1 + num_classes, widths[0], 3, 1, 1), nn.LeakyReLU(0.2))
        self.down = nn.ModuleList(DownBlock(a, b) for a, b in zip(widths, widths[1:]))
        self.middle = nn.Sequential(*(ResBlock(widths[-1]) for _ in range(cfg.res_blocks)))
        # Going up, level i takes the level below (widths[i + 1] wide after its own up block) and its skip.
        ups = []
        below = widths[-1]
        for level in reversed(range(len(widths) - 1)):
            ups.append(UpBlock(below, widths[level + 1], widths[level]))
            below = widths[level]
        self.up = nn.ModuleList(ups)
        last = nn.Conv2d(widths[0], 3, 3, 1, 1)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)
        # Full-resolution detail (hole filling, seams) from the upsampled decoder and the stem's features.
        self.to_correction = nn.Sequential(nn.Conv2d(widths[0] * 2, widths[0], 3, 1, 1), nn.LeakyReLU(0.2), last)

    def forward(self, canvas: torch.Tensor, filled: torch.Tensor, segmap: torch.Tensor) -> torch.Tensor:
        x = self.stem(torch.cat([canvas, filled, segmap], 1))
        skips = [x]
        for down in self.down:
            x = down(x)
            skips.append(x)
        x = self.middle(x)
        for up, skip in zip(self.up, reversed(skips[1:])):
            x = up(x, skip)
        correction = self.to_correction(torch.cat([x, skips[0]], 1))
        return torch.clamp(canvas + correction, -1.0, 1.0)
