"""A dilated residual segmenter (in the spirit of Yu, Koltun and Funkhouser's DRN, CVPR 2017): three stride-2
convs to 1/8 resolution, then residual blocks whose dilation widens the context without downsampling
further, and a 1x1 classifier upsampled bilinearly. No decoder and no skip connections: a different network
from `Segmenter`, so as an FCN judge it does not share the shipped segmenter's blind spots."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from model_training.config import SegmenterModelConfig
from model_training.models.segmenter import conv_bn_relu


class DilatedResidualBlock(nn.Module):
    def __init__(self, channels: int, dilation: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, dilation, dilation=dilation, bias=False), nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, 1, dilation, dilation=dilation, bias=False), nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.body(x))


class DilatedSegmenter(nn.Module):
    """Input sides must be multiples of 8."""

    def __init__(self, num_classes: int, cfg: SegmenterModelConfig):
        super().__init__()
        w = cfg.width
        self.stem = nn.Sequential(conv_bn_relu(3, w, 2), conv_bn_relu(w, w), conv_bn_relu(w, 2 * w, 2),
                                  conv_bn_relu(2 * w, 4 * w, 2))
        self.blocks = nn.Sequential(*(DilatedResidualBlock(4 * w, d) for d in cfg.dilations))
        self.head = nn.Conv2d(4 * w, num_classes, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        logits = self.head(self.blocks(self.stem(image)))
        return F.interpolate(logits, size=image.shape[-2:], mode="bilinear", align_corners=False)
