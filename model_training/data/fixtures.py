"""Tiny synthetic datasets in the real layouts, so tests never need ../shared.

Every photo is rendered from a label map (each class its own colour and stripe texture), so a model that
overfits a fixture batch has something to learn. Sizes are non-square (96x72) so that resizing and
cropping are exercised. A fixed seed makes every run write the same files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from model_training.labelsets import FACADES, LANDSCAPE, colourise

WIDTH, HEIGHT = 96, 72
IGNORE = LANDSCAPE.ignore_id
SKY, TREE, ROAD, GRASS, WATER, BUILDING, MOUNTAIN, OBJECT = range(8)

# Rendering palettes per class id: ordinary landscapes, plus a "winter" look for unpaired domain B.
_SUMMER = np.array([[120, 180, 235], [40, 110, 45], [115, 115, 110], [120, 190, 70],
                    [30, 80, 170], [170, 85, 60], [110, 90, 70], [230, 170, 50]], np.float32)
_WINTER = np.array([[200, 210, 225], [70, 90, 80], [180, 180, 185], [235, 240, 245],
                    [150, 170, 190], [150, 120, 110], [210, 210, 220], [200, 60, 60]], np.float32)


def _landscape_labels(rng: np.random.Generator, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """Sky over a jagged mountain line over grass, with water or a road, a tree, a building, an object
    and a small patch of the ignore label."""
    y, x = np.mgrid[:height, :width]
    labels = np.full((height, width), SKY, np.uint8)
    ridge = height * rng.uniform(0.25, 0.4) + height * 0.1 * np.sin(x / width * rng.uniform(3, 8) + rng.uniform(0, 6))
    labels[y > ridge] = MOUNTAIN
    horizon = int(height * rng.uniform(0.5, 0.6))
    labels[y > horizon] = GRASS
    lower = ROAD if rng.random() < 0.5 else WATER
    labels[(y > horizon + height // 6) & (np.abs(x - width * rng.uniform(0.3, 0.7)) < width * 0.15)] = lower
    tx, ty = rng.integers(5, width - 5), rng.integers(horizon - 10, horizon)
    labels[((x - tx) / 6) ** 2 + ((y - ty) / 10) ** 2 < 1] = TREE
    bx = int(rng.integers(0, width - 20))
    labels[horizon - 12:horizon + 2, bx:bx + 16] = BUILDING
    ox, oy = rng.integers(10, width - 10), rng.integers(horizon + 4, height - 4)
    labels[((x - ox) / 5) ** 2 + ((y - oy) / 4) ** 2 < 1] = OBJECT
    iy, ix = int(rng.integers(0, height - 4)), int(rng.integers(0, width - 4))
    labels[iy:iy + 4, ix:ix + 4] = IGNORE
    return labels


def _render(labels: np.ndarray, palette: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Class colour + a class-specific stripe texture + a little noise; ids beyond the palette are grey."""
    height, width = labels.shape
    y, x = np.mgrid[:height, :width].astype(np.float32)
    ids = np.minimum(labels, len(palette)).astype(np.int64)
    colours = np.vstack([palette, [[128, 128, 128]]])[ids]
    angle = ids * 0.7
    frequency = 0.3 + 0.15 * ids
    texture = 20 * np.sin(frequency * (x * np.cos(angle) + y * np.sin(angle)))
    image = colours + texture[..., None] + rng.normal(0, 4, colours.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def _facade_labels(rng: np.random.Generator, size: int) -> np.ndarray:
    """Background margin, a facade with a cornice, a grid of windows with sills, a door and a shop front."""
    labels = np.zeros((size, size), np.uint8)
    margin = int(rng.integers(2, 6))
    labels[margin:, margin:size - margin] = 1  # facade
    labels[margin:margin + 4, margin:size - margin] = 4  # cornice
    rows, cols = int(rng.integers(2, 4)), int(rng.integers(2, 5))
    for r in range(rows):
        for c in range(cols):
            top = margin + 8 + r * (size - 24) // rows
            left = margin + 4 + c * (size - 2 * margin - 4) // cols
            labels[top:top + 7, left:left + 6] = 2  # window
            labels[top + 7:top + 9, left - 1:left + 7] = 5  # sill
    labels[size - 12:, margin:size // 2] = 11  # shop
    labels[size - 14:, size // 2 + 4:size // 2 + 10] = 3  # door
    return labels


def _save_jpeg(image: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # No chroma subsampling: the facade label halves must quantise back to the exact classes.
    Image.fromarray(image).save(path, quality=95, subsampling=0)


def write_fixtures(out: Path) -> None:
    out = Path(out)
    rng = np.random.default_rng(2017)

    landscape = out / "landscape"
    (landscape / "labels").mkdir(parents=True, exist_ok=True)
    (landscape / "splits").mkdir(parents=True, exist_ok=True)
    names = [f"scene{i:02d}" for i in range(10)]
    for name in names:
        labels = _landscape_labels(rng)
        Image.fromarray(labels, "L").save(landscape / "labels" / f"{name}.png")
        _save_jpeg(_render(labels, _SUMMER, rng), landscape / "images" / f"{name}.jpg")
    (landscape / "splits" / "train.txt").write_text("\n".join(names[:8]) + "\n")
    (landscape / "splits" / "val.txt").write_text("\n".join(names[8:]) + "\n")

    facade_palette = rng.uniform(30, 225, (len(FACADES.classes), 3)).astype(np.float32)
    for split, count in (("train", 12), ("test", 3)):
        for i in range(1, count + 1):
            labels = _facade_labels(rng, 64)
            pair = np.concatenate([_render(labels, facade_palette, rng), colourise(labels, FACADES)], axis=1)
            _save_jpeg(pair, out / "facades" / split / f"{i}.jpg")

    for folder, palette, count in (("trainA", _SUMMER, 6), ("trainB", _WINTER, 6),
                                   ("testA", _SUMMER, 2), ("testB", _WINTER, 2)):
        for i in range(count):
            _save_jpeg(_render(_landscape_labels(rng), palette, rng), out / "unpaired" / folder / f"{i:02d}.jpg")

    for i in range(6):
        _save_jpeg(_render(_landscape_labels(rng), _SUMMER, rng), out / "photos" / f"photo{i:02d}.jpg")
