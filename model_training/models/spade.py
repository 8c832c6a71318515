"""SPADE / GauGAN (Park et al., CVPR 2019): spatially-adaptive normalisation driven by the label map.

Two departures from the paper, both for a CPU-sized model that trains on crops:
- The generator always starts from the downsampled label map, and the style code enters every SPADE layer
  as a per-channel scale and shift (a linear map of z), so the same weights run at any input size.
- `separable=True` computes gamma/beta with a depthwise 3x3 then a pointwise 1x1 conv, and each residual
  block embeds the label map once and shares it between its SPADE layers: the gamma/beta convs are most
  of SPADE's cost, and this cuts them several times over.
- `modulation="clade"` replaces SPADE's gamma/beta convs by CLADE's per-class lookup (Tan et al., "Efficient
  Semantic Image Synthesis via Class-Adaptive Normalization", TPAMI 2021): no convs on the label map at all.

The generator resizes the label map once per scale and hands each block the map at its own size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

from model_training.config import SpadeModelConfig


def one_hot(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """int64 [N, 1, H, W] -> float [N, C, H, W]. Ids outside 0..C-1 (the ignore label) give all zeros.

    Built from a comparison, not F.one_hot, so it exports to ONNX and tolerates out-of-range ids."""
    classes = torch.arange(num_classes, device=labels.device).view(1, -1, 1, 1)
    return (labels == classes).float()


def with_no_class(segmap: torch.Tensor) -> torch.Tensor:
    """One-hot [N, C, H, W] -> [N, C + 1, H, W]: the extra channel marks pixels of no class (the ignore id),
    so CLADE gives them their own learned gamma/beta rather than zeros."""
    return torch.cat([segmap, 1 - segmap.sum(1, keepdim=True)], dim=1)


class LabelEmbedding(nn.Module):
    """The shared part of SPADE's MLP: label map (already at the features' size) -> nhidden channels."""

    def __init__(self, label_channels: int, nhidden: int):
        super().__init__()
        self.conv = nn.Conv2d(label_channels, nhidden, 3, padding=1)

    def forward(self, segmap: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv(segmap))


class GammaBetaConv(nn.Conv2d):
    """One conv's weights, run as two convs that return (gamma, beta). Slicing one full-resolution output
    in two costs two extra passes over memory in the exported graph (~13 % of SPADE's time here)."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        half = self.out_channels // 2
        return tuple(F.conv2d(x, self.weight[part], self.bias[part], padding=self.padding)
                     for part in (slice(None, half), slice(half, None)))


class SPADE(nn.Module):
    """Parameter-free instance norm, then x * (1 + gamma) + beta with per-pixel gamma/beta from the label
    embedding, plus a per-channel gamma/beta from the style code."""

    def __init__(self, channels: int, nhidden: int, z_dim: int, separable: bool):
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False)
        if separable:
            self.gamma_beta = nn.Sequential(
                nn.Conv2d(nhidden, nhidden, 3, padding=1, groups=nhidden),
                GammaBetaConv(nhidden, 2 * channels, 1),
            )
        else:
            self.gamma_beta = GammaBetaConv(nhidden, 2 * channels, 3, padding=1)
        self.style = nn.Linear(z_dim, 2 * channels)

    def forward(self, x: torch.Tensor, embedding: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.gamma_beta(embedding)
        style_gamma, style_beta = self.style(z)[:, :, None, None].chunk(2, dim=1)
        return self.norm(x) * (gamma + (1 + style_gamma)) + (beta + style_beta)


class CLADE(nn.Module):
    """Class-adaptive normalisation: parameter-free instance norm, then x * gamma + beta with gamma/beta one
    learned vector per class, looked up at each pixel, plus the style code's per-channel scale and shift.

    The lookup is a matmul of the (class table + style) by the flattened one-hot map, so the style is added
    to a [classes, channels] table rather than to a full-resolution map."""

    def __init__(self, channels: int, label_channels: int, z_dim: int):
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False)
        self.gamma = nn.Parameter(torch.zeros(label_channels, channels))
        self.beta = nn.Parameter(torch.zeros(label_channels, channels))
        self.style = nn.Linear(z_dim, 2 * channels)

    def forward(self, x: torch.Tensor, segmap: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        style_gamma, style_beta = self.style(z).chunk(2, dim=1)
        pixels = segmap.flatten(2)  # [N, classes, H * W]
        gamma = torch.matmul((self.gamma + (1 + style_gamma)[:, None]).transpose(1, 2), pixels)
        beta = torch.matmul((self.beta + style_beta[:, None]).transpose(1, 2), pixels)
        return self.norm(x) * gamma.view_as(x) + beta.view_as(x)


class SPADEResBlock(nn.Module):
    """SPADE-ReLU-conv twice, with a learned SPADE-conv shortcut when the width changes. Its label map
    arrives at the block's size; with CLADE modulation it carries the extra no-class channel."""

    def __init__(self, fin: int, fout: int, label_channels: int, cfg: SpadeModelConfig):
        super().__init__()
        fmiddle = min(fin, fout)
        self.learned_shortcut = fin != fout
        if cfg.modulation == "clade":
            self.embed = nn.ModuleList()
            norm = lambda channels: CLADE(channels, label_channels + 1, cfg.z_dim)
        else:
            embeddings = 1 if cfg.separable else (3 if self.learned_shortcut else 2)
            self.embed = nn.ModuleList(LabelEmbedding(label_channels, cfg.nhidden) for _ in range(embeddings))
            norm = lambda channels: SPADE(channels, cfg.nhidden, cfg.z_dim, cfg.separable)
        self.norm_0 = norm(fin)
        self.conv_0 = spectral_norm(nn.Conv2d(fin, fmiddle, 3, padding=1))
        self.norm_1 = norm(fmiddle)
        self.conv_1 = spectral_norm(nn.Conv2d(fmiddle, fout, 3, padding=1))
        if self.learned_shortcut:
            self.norm_s = norm(fin)
            self.conv_s = spectral_norm(nn.Conv2d(fin, fout, 1, bias=False))

    def forward(self, x: torch.Tensor, segmap: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        # SPADE: each layer's embedding of the label map (one shared by all when separable); CLADE: the map.
        embeddings = [e(segmap) for e in self.embed] or [segmap]
        if len(embeddings) == 1:
            embeddings = embeddings * 3
        shortcut = x
        if self.learned_shortcut:
            shortcut = self.conv_s(self.norm_s(x, embeddings[2], z))
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, embeddings[0], z), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, embeddings[1], z), 0.2))
        return shortcut + dx


class SPADEGenerator(nn.Module):
    """Label map (one-hot) + style code -> image in [-1, 1]. Input sides must be multiples of 2**num_up."""

    def __init__(self, num_classes: int, cfg: SpadeModelConfig):
        super().__init__()
        self.num_classes, self.num_up, self.z_dim = num_classes, cfg.num_up, cfg.z_dim
        # Paper widths: 16nf at the grid and the next scale, then halving at each upsampling.
        widths = [16 * cfg.ngf // 2 ** i for i in range(cfg.num_up)]
        self.fc = nn.Conv2d(num_classes, widths[0], 3, padding=1)
        self.clade = cfg.modulation == "clade"
        block = lambda fin, fout: SPADEResBlock(fin, fout, num_classes, cfg)
        self.head_0 = block(widths[0], widths[0])
        self.middle = nn.ModuleList([block(widths[0], widths[0]), block(widths[0], widths[0])])
        self.up_blocks = nn.ModuleList(block(widths[i], widths[i + 1]) for i in range(cfg.num_up - 1))
        self.conv_img = nn.Conv2d(widths[-1], 3, 3, padding=1)

    def forward(self, segmap: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        h, w = segmap.shape[-2:]
        # The label map at each block's scale, resized once (nearest, straight from the full map).
        scales = [(h // 2 ** (self.num_up - i), w // 2 ** (self.num_up - i)) for i in range(self.num_up + 1)]
        block_maps = with_no_class(segmap) if self.clade else segmap
        maps = [F.interpolate(block_maps, size=size, mode="nearest") for size in scales[:-1]] + [block_maps]
        grid_map = maps[0][:, :self.num_classes] if self.clade else maps[0]
        x = self.fc(grid_map)
        x = self.head_0(x, maps[0], z)
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        for blk in self.middle:
            x = blk(x, maps[1], z)
        for blk, scale_map in zip(self.up_blocks, maps[2:]):
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = blk(x, scale_map, z)
        return torch.tanh(self.conv_img(F.leaky_relu(x, 0.2)))


class StyleEncoder(nn.Module):
    """VAE encoder: image -> (mu, logvar). Global average pooling makes it size-independent.

    No instance norm, unlike the paper's encoder: it removes each channel's mean and scale, which is the
    style itself, and after global pooling nothing of the look was left (every photo encoded to nearly the
    same code, so style images and presets changed nothing)."""

    def __init__(self, cfg: SpadeModelConfig):
        super().__init__()
        ndf = cfg.encoder_ndf
        blocks, cin = [], 3
        for i in range(cfg.encoder_layers):
            cout = ndf * min(2 ** i, 8)
            blocks += [spectral_norm(nn.Conv2d(cin, cout, 3, stride=2, padding=1)), nn.LeakyReLU(0.2)]
            cin = cout
        self.features = nn.Sequential(*blocks)
        self.fc_mu = nn.Linear(cin, cfg.z_dim)
        self.fc_logvar = nn.Linear(cin, cfg.z_dim)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = self.features(image).mean(dim=(2, 3))
        return self.fc_mu(pooled), self.fc_logvar(pooled)


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
