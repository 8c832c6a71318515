"""pix2pix's U-Net generator (Isola et al., CVPR 2017).

Encoder: 4x4 stride-2 convs, LeakyReLU 0.2, doubling the width up to 8 * ngf. Decoder: ReLU and a stride-2
upsampling layer (`upsample`: the paper's 4x4 transposed conv, or bilinear resize + 3x3 conv, which prints
no checkerboard; models.upsampling), each taking the mirrored encoder features as a skip connection. Dropout 0.5 in
the innermost decoder layers is the generator's only noise; `eval()` turns it off, so export is
deterministic (the paper keeps it on at test time).

Departure from the paper: `norm = "instance"` is offered next to batch norm. With the small batches of
CPU training, batch-norm running statistics drift from the training-time batch statistics, and export
must use the former; instance norm is the same in training and at export.
"""

from __future__ import annotations

import torch
from torch import nn

from model_training.config import Pix2PixModelConfig
from model_training.models.upsampling import upsample_conv

DROPOUT_LEVELS = 3  # the paper's decoder: CD512-CD512-CD512-C512-C256-C128-C64


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    raise ValueError(f"pix2pix norm must be batch or instance, got {kind!r}")


class UnetSkipConnectionBlock(nn.Module):
    """One level of the U-Net: downsample, the levels inside, upsample, then concatenate with the input.

    The outermost level maps the input image to the output image (no skip, tanh); the innermost has no
    levels inside and no norm at its 1x1-at-paper-size bottleneck."""

    def __init__(self, outer_channels: int, inner_channels: int, inner: nn.Module | None = None, *,
                 in_channels: int | None = None, outermost: bool = False, norm: str = "batch",
                 dropout: float = 0.0, upsample: str = "transposed"):
        super().__init__()
        self.outermost = outermost
        in_channels = in_channels or outer_channels
        # A norm right after a conv makes its bias redundant.
        down_conv = nn.Conv2d(in_channels, inner_channels, 4, 2, 1, bias=outermost or inner is None)
        # The innermost level has no skip concatenated inside it.
        up_in = inner_channels if inner is None else inner_channels * 2
        up_conv = upsample_conv(up_in, outer_channels, upsample, bias=outermost)
        if outermost:
            down = [down_conv]
            up = [nn.ReLU(), *up_conv, nn.Tanh()]
        elif inner is None:
            down = [nn.LeakyReLU(0.2), down_conv]
            up = [nn.ReLU(), *up_conv, _norm(norm, outer_channels)]
        else:
            down = [nn.LeakyReLU(0.2), down_conv, _norm(norm, inner_channels)]
            up = [nn.ReLU(), *up_conv, _norm(norm, outer_channels)]
        if dropout > 0:
            up.append(nn.Dropout(dropout))
        self.down = nn.Sequential(*down)
        self.inner = inner if inner is not None else nn.Identity()
        self.up = nn.Sequential(*up)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.up(self.inner(self.down(x)))
        return y if self.outermost else torch.cat([x, y], dim=1)


class UnetGenerator(nn.Module):
    """`depth` levels with widths ngf, 2ngf, 4ngf, 8ngf, 8ngf...; the input sides must be multiples of
    2**depth (paper: depth 8 at 256x256, a 1x1 bottleneck). Dropout sits in the decoders of the three
    levels just outside the innermost one."""

    def __init__(self, in_channels: int, out_channels: int, cfg: Pix2PixModelConfig):
        super().__init__()
        if cfg.depth < 2:
            raise ValueError("pix2pix depth must be at least 2")
        self.depth = cfg.depth
        widths = [cfg.ngf * min(2 ** level, 8) for level in range(cfg.depth)]
        block = UnetSkipConnectionBlock(widths[-2], widths[-1], norm=cfg.norm, upsample=cfg.upsample)
        for level in reversed(range(cfg.depth - 2)):
            with_dropout = cfg.depth - 2 - level <= DROPOUT_LEVELS
            block = UnetSkipConnectionBlock(widths[level], widths[level + 1], block, norm=cfg.norm,
                                            dropout=cfg.dropout if with_dropout else 0.0, upsample=cfg.upsample)
        self.model = UnetSkipConnectionBlock(out_channels, widths[0], block, in_channels=in_channels,
                                             outermost=True, norm=cfg.norm, upsample=cfg.upsample)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
