"""Parameter and multiply-accumulate counts, measured with forward hooks on a real forward pass."""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def count_gmacs(model: nn.Module, *inputs: torch.Tensor) -> float:
    """GMACs of one forward pass: convolutions and linear layers (everything else is noise next to them)."""
    total = 0

    def conv_hook(module: nn.Conv2d, args, output: torch.Tensor | tuple[torch.Tensor, ...]) -> None:
        nonlocal total
        kernel = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
        outputs = output if isinstance(output, tuple) else (output,)  # a conv may return its output in parts
        total += sum(o.numel() for o in outputs) * kernel

    def conv_transpose_hook(module: nn.ConvTranspose2d, args, output: torch.Tensor) -> None:
        nonlocal total
        kernel = module.kernel_size[0] * module.kernel_size[1] * module.out_channels // module.groups
        total += args[0].numel() * kernel

    def linear_hook(module: nn.Linear, args, output: torch.Tensor) -> None:
        nonlocal total
        total += output.numel() * module.in_features

    hooks = []
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            hooks.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, nn.ConvTranspose2d):
            hooks.append(module.register_forward_hook(conv_transpose_hook))
        elif isinstance(module, nn.Linear):
            hooks.append(module.register_forward_hook(linear_hook))
    try:
        model(*inputs)
    finally:
        for hook in hooks:
            hook.remove()
    return total / 1e9


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
