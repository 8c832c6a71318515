"""Geometric transforms applied identically to a photo and its label map (or sketch).

Training: shorter side to `load_size`, random `crop_size` crop, random horizontal flip.
Validation: shorter side to `load_size`, centre crop: deterministic.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image


@dataclass(frozen=True)
class Geometry:
    load_size: int
    crop_size: int
    train: bool

    def plan(self, width: int, height: int, rng: random.Random) -> tuple[tuple[int, int], tuple[int, int], bool]:
        """The resized size, the crop's top-left corner and whether to flip, shared by every paired image."""
        scale = self.load_size / min(width, height)
        size = (max(self.crop_size, round(width * scale)), max(self.crop_size, round(height * scale)))
        if self.train:
            corner = (rng.randint(0, size[0] - self.crop_size), rng.randint(0, size[1] - self.crop_size))
            flip = rng.random() < 0.5
        else:
            corner = ((size[0] - self.crop_size) // 2, (size[1] - self.crop_size) // 2)
            flip = False
        return size, corner, flip

    def apply(self, image: Image.Image, plan, resample: Image.Resampling) -> Image.Image:
        size, (left, top), flip = plan
        image = image.resize(size, resample).crop((left, top, left + self.crop_size, top + self.crop_size))
        return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if flip else image


def photo_tensor(image: Image.Image) -> torch.Tensor:
    """RGB or L PIL image -> float32 [C, H, W] in [-1, 1]."""
    array = np.asarray(image, dtype=np.float32) / 127.5 - 1.0
    if array.ndim == 2:
        array = array[None]
    else:
        array = array.transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(array))


def label_tensor(labels: Image.Image) -> torch.Tensor:
    """Index-map PIL image (mode L or P) -> int64 [1, H, W]."""
    return torch.from_numpy(np.asarray(labels, dtype=np.int64).copy())[None]


def tensor_to_uint8(image: torch.Tensor) -> np.ndarray:
    """float [C, H, W] in [-1, 1] -> uint8 [H, W, 3] (grey images are repeated to RGB)."""
    array = ((image.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().byte().numpy()
    if array.shape[0] == 1:
        array = array.repeat(3, 0)
    return array.transpose(1, 2, 0)
