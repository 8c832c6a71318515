"""Checkerboard index: how much stronger a generator's pictures peak at the stride frequencies than photos.

A stride-2 transposed convolution prints a pattern of period 2 (4 when two such layers stack) into every
picture; in the mean power spectrum of many pictures it is a sharp peak at the bins of those periods
(along x, y and the diagonals). For each such bin: the mean power divided by the median of its 5x5
neighbourhood (the peak's height above the local spectrum), for the model's pictures, divided again by the
same figure for real photos, which have peaks of their own (JPEG's 8x8 blocks, sensor demosaicing).
The index is the worst bin: 1 = peaks like a photo's; a visible checkerboard is 10 and more.

Both sets must be the same size (256 px) and have at least MIN_PICTURES pictures each; one reference set
of real landscape photos serves every model, so indices compare across models.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from model_training.data.transforms import tensor_to_uint8

SIZE = 256
MIN_PICTURES = 25
PERIODS = (2, 4)
NEIGHBOURHOOD = 5
# The reference photos: the first REFERENCE_COUNT summer Yosemite test photos (256x256 JPEGs, as stored).
REFERENCE_PHOTOS = "../shared/datasets/summer2winter_yosemite/testA"
REFERENCE_COUNT = 32
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def stride_bins(size: int) -> dict[str, tuple[int, int]]:
    """(row, column) FFT bins of periods 2 and 4 along x, y, the diagonal and the antidiagonal; period 2's
    two diagonals fall on one bin."""
    bins: dict[str, tuple[int, int]] = {}
    for period in PERIODS:
        f = size // period
        directions = {"x": (0, f), "y": (f, 0), "diagonal": (f, f), "antidiagonal": (f, -f)}
        for name, (fy, fx) in directions.items():
            key = (fy % size, fx % size)
            if key not in bins.values():
                bins[f"period {period} along {name}"] = key
    return bins


def mean_power_spectrum(pictures: np.ndarray) -> np.ndarray:
    """uint8 [N, H, W, 3] -> the power spectrum [H, W], summed over the colour channels, mean over pictures.

    Each picture is Hann-windowed first: the FFT wraps the picture round, and the jump between opposite
    edges (or a network's border) puts a cross of power along both axes, on the x and y stride bins."""
    h, w = pictures.shape[1:3]
    window = np.outer(np.hanning(h), np.hanning(w))[None, :, :, None]
    x = pictures.astype(np.float64)
    x -= x.mean(axis=(1, 2), keepdims=True)
    power = np.abs(np.fft.fft2(x * window, axes=(1, 2))) ** 2
    return power.sum(axis=3).mean(axis=0)


def peak_heights(spectrum: np.ndarray, bins: dict[str, tuple[int, int]]) -> dict[str, float]:
    """Each bin's power over the median of its 5x5 neighbourhood (wrapping round, as the spectrum does)."""
    h, w = spectrum.shape
    half = NEIGHBOURHOOD // 2
    heights = {}
    for name, (fy, fx) in bins.items():
        rows = [(fy + d) % h for d in range(-half, half + 1)]
        cols = [(fx + d) % w for d in range(-half, half + 1)]
        heights[name] = float(spectrum[fy, fx] / np.median(spectrum[np.ix_(rows, cols)]))
    return heights


def as_uint8_pictures(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """float [N, 3, H, W] in [-1, 1] (quantised as a served picture is) or uint8 [N, H, W, 3]."""
    if isinstance(images, np.ndarray):
        return images
    return np.stack([tensor_to_uint8(image) for image in images])


def checkerboard_index(pictures: torch.Tensor | np.ndarray, reference: np.ndarray) -> dict:
    """The index of `pictures` against the `reference` photos (both [N, 256, 256] pictures, see
    as_uint8_pictures), with each bin's figure so the worst is not the only one seen."""
    pictures, reference = as_uint8_pictures(pictures), as_uint8_pictures(reference)
    for what, images in (("pictures", pictures), ("reference photos", reference)):
        if len(images) < MIN_PICTURES or images.shape[1:3] != (SIZE, SIZE):
            raise ValueError(f"the checkerboard index needs at least {MIN_PICTURES} {what} of {SIZE}x{SIZE}, "
                             f"got {len(images)} of {images.shape[1]}x{images.shape[2]}")
    bins = stride_bins(SIZE)
    model = peak_heights(mean_power_spectrum(pictures), bins)
    real = peak_heights(mean_power_spectrum(reference), bins)
    per_bin = {name: model[name] / real[name] for name in bins}
    worst = max(per_bin, key=per_bin.get)
    return {"index": round(per_bin[worst], 2), "worst_bin": worst,
            "per_bin": {name: round(v, 2) for name, v in per_bin.items()},
            "pictures": len(pictures), "reference_photos": len(reference)}


def load_reference(root: str | Path = REFERENCE_PHOTOS, count: int = REFERENCE_COUNT) -> np.ndarray:
    """The first `count` photos of `root` (sorted by name), centre squares at SIZE: uint8 [N, SIZE, SIZE, 3]."""
    paths = sorted(p for p in Path(root).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)[:count]
    if len(paths) < MIN_PICTURES:
        raise ValueError(f"{root}: the checkerboard reference needs {MIN_PICTURES} photos, found {len(paths)}")
    photos = []
    for path in paths:
        image = Image.open(path).convert("RGB")
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        square = image.crop((left, top, left + side, top + side))
        if side != SIZE:
            square = square.resize((SIZE, SIZE), Image.Resampling.BICUBIC)
        photos.append(np.asarray(square))
    return np.stack(photos)


def measured_or_why_not(pictures: torch.Tensor | np.ndarray, reference: Path | None) -> dict:
    """The index against the photos in the `reference` folder, or why it was not measured: no reference
    given, or too few or too small pictures (the tests' fixtures)."""
    pictures = as_uint8_pictures(pictures)
    if reference is None:
        return {"not_measured": "no reference photos given"}
    if len(pictures) < MIN_PICTURES or pictures.shape[1:3] != (SIZE, SIZE):
        return {"not_measured": f"needs {MIN_PICTURES}+ pictures of {SIZE}x{SIZE}, "
                                f"got {len(pictures)} of {pictures.shape[1]}x{pictures.shape[2]}"}
    return checkerboard_index(pictures, load_reference(reference)) | {"reference": str(reference)}
