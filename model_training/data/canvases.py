"""Training pairs for the hybrid renderer, made the SIMS way: each training photo's label map is composed
from the OTHER bank photos' segments (never its own pixels), and the network learns to turn that canvas
into the real photo.

Composing is far slower than a training step, so each photo's canvases are made once (`variants` of
them, each with its own seed and augmentation) and kept in `cache_dir`; training takes random crops.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm import tqdm

from backend.hybrid import Augmentation, ExemplarBank, colour_style, compose
from model_training.data.folders import LabelPhotoFolder, unpack_key
from model_training.data.transforms import Geometry
from model_training.exemplar_bank import bank_photo_name, scaled_pair


def _to_tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1), np.float32) / 127.5 - 1.0)


def canvas_sample(photo: np.ndarray, labels: np.ndarray, canvas: np.ndarray, filled: np.ndarray) -> dict:
    return {"image": _to_tensor(photo), "canvas": _to_tensor(canvas),
            "filled": torch.from_numpy(filled.astype(np.float32))[None],
            "labels": torch.from_numpy(labels.astype(np.int64))[None]}


class ExemplarCanvases(Dataset):
    """The bank's own photos (the roots' training split, in bank order) with precomputed canvases."""

    def __init__(self, roots: list[str], bank_path: Path, cache_dir: Path, variants: int, crop_size: int,
                 num_classes: int, max_side: int = 256):
        self.items = LabelPhotoFolder(roots, "train", Geometry(max_side, max_side, False)).items
        self.cache_dir, self.crop_size = Path(cache_dir), crop_size
        bank = None
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        missing = [i for i in range(len(self.items)) if not self._path(i).exists()]
        if missing:
            bank = ExemplarBank.load(bank_path)
            # Training photo i must be bank photo i, so that its own segments can be left out.
            names = [bank_photo_name(image) for image, _ in self.items]
            if list(bank.arrays["photo_names"][:len(names)]) != names:
                raise ValueError(f"{bank_path} does not start with the training photos of {roots}: "
                                 "build the bank from data.roots (then model.bank_roots)")
        for index in tqdm(missing, desc="composing training canvases", disable=not missing):
            photo, labels = scaled_pair(*self.items[index], max_side)
            style = colour_style(photo)  # as if the painter were given this photo as its style
            canvases = [compose(bank, labels, style, zlib.crc32(f"{index}/{v}".encode()), num_classes,
                                exclude_photo=index, augment=Augmentation()) for v in range(variants)]
            # Every rank under torchrun composes the same canvases (the cache may be on a node's own disk):
            # written aside and renamed, so no rank reads another's half-written file.
            partial = self._path(index).with_suffix(f".{os.getpid()}.npz")
            np.savez(partial, photo=photo, labels=labels,
                     canvas=np.stack([c.rgb for c in canvases]), filled=np.stack([c.filled for c in canvases]))
            os.replace(partial, self._path(index))
        # Photos smaller than a crop (none in Stanford Background at 256 px) cannot be trained on.
        self.usable = [i for i in range(len(self.items)) if min(self._sizes(i)) >= crop_size]

    def _path(self, index: int) -> Path:
        return self.cache_dir / f"{index:05d}.npz"

    def _sizes(self, index: int) -> tuple[int, int]:
        with np.load(self._path(index)) as data:
            return data["labels"].shape

    def __len__(self) -> int:
        return len(self.usable)

    def __getitem__(self, key) -> dict:
        index, rng = unpack_key(key, True)
        with np.load(self._path(self.usable[index])) as data:
            variant = rng.randrange(len(data["canvas"]))
            photo, labels = data["photo"], data["labels"]
            canvas, filled = data["canvas"][variant], data["filled"][variant]
        h, w = labels.shape
        top, left = rng.randint(0, h - self.crop_size), rng.randint(0, w - self.crop_size)
        window = (slice(top, top + self.crop_size), slice(left, left + self.crop_size))
        arrays = [photo[window], labels[window], canvas[window], filled[window]]
        if rng.random() < 0.5:
            arrays = [a[:, ::-1] for a in arrays]
        return canvas_sample(*arrays)
