"""PatchGAN discriminators (pix2pix, CycleGAN) and the multi-scale version SPADE uses."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm


class NLayerDiscriminator(nn.Module):
    """PatchGAN: `n_layers` stride-2 4x4 convs then two stride-1 ones; 3 layers see 70x70 patches.

    Returns every intermediate feature map (the last is the patch logits) for feature matching.
    `out_channels` > 1 makes each patch's output a vector of logits (a segmenting discriminator)."""

    def __init__(self, in_channels: int, ndf: int = 64, n_layers: int = 3, use_spectral_norm: bool = False,
                 norm: str = "instance", out_channels: int = 1):
        super().__init__()
        wrap = spectral_norm if use_spectral_norm else (lambda m: m)
        make_norm = {"instance": lambda c: nn.InstanceNorm2d(c, affine=False),
                     "batch": nn.BatchNorm2d, "none": lambda c: nn.Identity()}[norm]
        layers = [nn.Sequential(nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2))]
        channels = ndf
        for i in range(1, n_layers + 1):
            out = ndf * min(2 ** i, 8)
            stride = 2 if i < n_layers else 1
            layers.append(nn.Sequential(wrap(nn.Conv2d(channels, out, 4, stride, 1, bias=norm == "none")),
                                        make_norm(out), nn.LeakyReLU(0.2)))
            channels = out
        layers.append(nn.Sequential(nn.Conv2d(channels, out_channels, 4, 1, 1)))
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for layer in self.layers:
            x = layer(x)
            features.append(x)
        return features


class MultiscaleDiscriminator(nn.Module):
    """`num_d` PatchGANs on the input at 1, 1/2, 1/4... scale (pix2pixHD, SPADE)."""

    def __init__(self, in_channels: int, ndf: int, n_layers: int, num_d: int, out_channels: int = 1):
        super().__init__()
        self.discriminators = nn.ModuleList(
            NLayerDiscriminator(in_channels, ndf, n_layers, use_spectral_norm=True, out_channels=out_channels)
            for _ in range(num_d))

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        outputs = []
        for d in self.discriminators:
            outputs.append(d(x))
            x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
        return outputs
