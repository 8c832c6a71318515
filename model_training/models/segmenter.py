"""A small fully convolutional segmenter (photo -> class logits): an encoder-decoder with skip connections
and a global-context branch, sized for ~20 ms at 256x256 on two CPU cores."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from model_training.config import SegmenterModelConfig


def conv_bn_relu(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Segmenter(nn.Module):
    """Input sides must be multiples of 2**(depth + 1)."""

    def __init__(self, num_classes: int, cfg: SegmenterModelConfig):
        super().__init__()
        w = cfg.width
        widths = [w * min(2 ** i, 8) for i in range(cfg.depth + 1)]
        self.stem = nn.Sequential(conv_bn_relu(3, widths[0], 2), conv_bn_relu(widths[0], widths[0]))
        self.down = nn.ModuleList(
            nn.Sequential(conv_bn_relu(widths[i], widths[i + 1], 2), conv_bn_relu(widths[i + 1], widths[i + 1]))
            for i in range(cfg.depth))
        # Scene-level context (is this a beach or a street?) decides many ambiguous pixels.
        self.context = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(widths[-1], widths[-1], 1), nn.ReLU())
        self.up = nn.ModuleList(
            conv_bn_relu(widths[i + 1] + widths[i], widths[i]) for i in reversed(range(cfg.depth)))
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.stem(image)
        skips = [x]
        for down in self.down:
            x = down(x)
            skips.append(x)
        x = x + self.context(x)
        for up, skip in zip(self.up, reversed(skips[:-1])):
            x = up(torch.cat([F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False), skip], 1))
        return F.interpolate(self.head(x), size=image.shape[-2:], mode="bilinear", align_corners=False)
