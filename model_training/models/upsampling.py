"""Stride-2 upsampling layers for the image generators.

A stride-2 transposed convolution whose kernel size is not a multiple of its stride covers the output
pixels unevenly, so every output pixel of one parity gets a different sum of weights than its neighbour:
a checkerboard at periods 2 (and 4, 8 when such layers stack) that training rarely removes (Odena, Dumoulin
and Olah, "Deconvolution and Checkerboard Artifacts", Distill 2016). Resizing first and then convolving
at the output resolution gives every output pixel the same kernel, so the pattern cannot arise.
"""

from __future__ import annotations

from torch import nn

UPSAMPLE_KINDS = ("resize", "transposed")


def upsample_conv(cin: int, cout: int, kind: str, *, bias: bool, transposed_kernel: int = 4,
                  reflect: bool = False) -> list[nn.Module]:
    """Layers that double the height and width and map `cin` to `cout` channels.

    `transposed`: the paper's layer (kernel 4, padding 1; or kernel 3 with output padding 1, CycleGAN's).
    `resize`: bilinear x2 then a 3x3 convolution, zero-padded or (`reflect`) reflection-padded."""
    if kind == "transposed":
        if transposed_kernel == 4:
            return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=bias)]
        return [nn.ConvTranspose2d(cin, cout, 3, 2, padding=1, output_padding=1, bias=bias)]
    if kind == "resize":
        pad = [nn.ReflectionPad2d(1)] if reflect else []
        return [nn.Upsample(scale_factor=2.0, mode="bilinear", align_corners=False), *pad,
                nn.Conv2d(cin, cout, 3, 1, 0 if reflect else 1, bias=bias)]
    raise ValueError(f"upsample must be one of {', '.join(UPSAMPLE_KINDS)}, got {kind!r}")
