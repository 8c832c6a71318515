"""Photo -> black-on-white line drawing, the kind of sketch a person draws over a photo.

Canny-style: smooth, take the gradient, keep only its ridge (non-maximum suppression gives one-pixel
lines), then keep the connected lines that reach a strong edge somewhere (hysteresis) and are long enough
to be a contour rather than texture. Thresholds are percentiles of the photo's own edge strengths, with an
absolute floor so a flat image stays blank paper. numpy + Pillow only: the server uses it too.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

PAPER, INK = 255, 0
_TAN_22_5 = 0.41421357


def extract_sketch(rgb: np.ndarray, *, sigma: float = 2.0, high_percentile: float = 75.0,
                   low_ratio: float = 0.35, min_length: int = 20, floor: float = 6.0) -> np.ndarray:
    """uint8 [H, W, 3] photo -> uint8 [H, W] drawing, 255 = paper, 0 = ink. Deterministic.

    `sigma` (blur) and `min_length` (shortest line kept) are in pixels, tuned for photos at the models'
    256-pixel scale: resize a larger photo to that scale first. They do not follow the image size on
    purpose: training draws the sketch of a crop, which must look like the same region of a whole photo."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected uint8 [H, W, 3], got {rgb.dtype} {list(rgb.shape)}")
    smooth = np.asarray(Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(sigma)), np.float32)

    # Per pixel, the colour channel that changes most: grey granite against blue sky is an edge a person
    # draws, though the two have about the same brightness.
    gx, gy = _sobel(smooth)
    channel_magnitudes = gx * gx + gy * gy
    strongest = channel_magnitudes.argmax(axis=2)[..., None]
    gx = np.take_along_axis(gx, strongest, axis=2)[..., 0]
    gy = np.take_along_axis(gy, strongest, axis=2)[..., 0]
    magnitude = np.sqrt(np.take_along_axis(channel_magnitudes, strongest, axis=2)[..., 0])
    ridge = magnitude * _is_ridge(magnitude, gx, gy)

    strengths = ridge[ridge > floor]
    if strengths.size == 0:
        return np.full(rgb.shape[:2], PAPER, np.uint8)
    high = max(floor * 2, float(np.percentile(strengths, high_percentile)))
    candidates = ridge >= max(floor, high * low_ratio)
    lines = _keep_components(candidates, ridge, high, min_length)
    return np.where(lines, INK, PAPER).astype(np.uint8)


def _sobel(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sobel gradients of [H, W, C] along x and y, per channel."""
    p = np.pad(image, ((1, 1), (1, 1), (0, 0)), mode="edge")
    gx = (p[:-2, 2:] + 2 * p[1:-1, 2:] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[1:-1, :-2] + p[2:, :-2])
    gy = (p[2:, :-2] + 2 * p[2:, 1:-1] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[:-2, 1:-1] + p[:-2, 2:])
    return gx / 8, gy / 8


def _is_ridge(magnitude: np.ndarray, gx: np.ndarray, gy: np.ndarray) -> np.ndarray:
    """Non-maximum suppression: a pixel survives if no neighbour across the edge (along the gradient,
    quantised to 45 degrees) is stronger. This thins every edge to one pixel."""
    m = np.pad(magnitude, 1)
    h, w = magnitude.shape
    centre = m[1:-1, 1:-1]

    def shifted(dy: int, dx: int) -> np.ndarray:
        return m[1 + dy:1 + dy + h, 1 + dx:1 + dx + w]

    ax, ay = np.abs(gx), np.abs(gy)
    horizontal = ay <= ax * _TAN_22_5  # gradient along x: the edge runs vertically
    vertical = ax <= ay * _TAN_22_5
    falling = (gx * gy) > 0  # gradient towards down-right or up-left
    ahead = np.select([horizontal, vertical, falling], [shifted(0, 1), shifted(1, 0), shifted(1, 1)], shifted(1, -1))
    behind = np.select([horizontal, vertical, falling], [shifted(0, -1), shifted(-1, 0), shifted(-1, -1)],
                       shifted(-1, 1))
    # Strict on one side only, so a two-pixel plateau gives one line, not two or none.
    return (centre > ahead) & (centre >= behind)


def _keep_components(mask: np.ndarray, strength: np.ndarray, high: float, min_pixels: int) -> np.ndarray:
    """8-connected components of `mask`, kept when they reach `high` somewhere and have `min_pixels`.

    Components are found on the candidate pixels only: each starts as its own label, takes the smallest
    label among its neighbours, and labels jump to their label's label, so long lines converge in a few
    dozen vectorised passes instead of one per pixel."""
    ys, xs = np.nonzero(mask)
    count = ys.size
    if count == 0:
        return mask
    h, w = mask.shape
    index = np.full((h + 2, w + 2), -1, np.int64)
    index[ys + 1, xs + 1] = np.arange(count)
    offsets = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
    neighbour = np.stack([index[ys + 1 + dy, xs + 1 + dx] for dy, dx in offsets], axis=1)
    own = np.arange(count)
    neighbour = np.where(neighbour < 0, own[:, None], neighbour)

    labels = own.copy()
    while True:
        updated = np.minimum(labels, labels[neighbour].min(axis=1))
        updated = updated[updated]
        if np.array_equal(updated, labels):
            break
        labels = updated

    sizes = np.bincount(labels, minlength=count)
    peaks = np.zeros(count, np.float32)
    np.maximum.at(peaks, labels, strength[ys, xs])
    keep = (sizes[labels] >= min_pixels) & (peaks[labels] >= high)
    lines = np.zeros_like(mask)
    lines[ys[keep], xs[keep]] = True
    return lines
