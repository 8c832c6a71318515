"""Photometric augmentations for segmenter training: colour, contrast and sky changes that keep every label.

Stanford Background's skies are mostly pale blue or flat white, so a segmenter trained on them alone
reads a dark or cloudy sky as building, mountain or water. Painting clouds (white to storm-grey) and dusk
colours into the sky pixels teaches it that sky is sky whatever its weather; Stanford labels clouds as
sky, so the labels do not change. Every draw comes from the sample's own rng after its geometry, so a
sample is a pure function of its key and a resumed run sees the same pixels.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from PIL import Image

# Bilinearly upsampled random grids, coarse to fine: cloud banks down to wisps.
CLOUD_OCTAVES = (3, 6, 12, 24)


def cloud_field(height: int, width: int, rng: random.Random) -> np.ndarray:
    """float32 [H, W] in [0, 1]: fractal value noise, each finer octave at half the amplitude."""
    noise = np.random.default_rng(rng.getrandbits(32))
    field = np.zeros((height, width), np.float32)
    for octave, cells in enumerate(CLOUD_OCTAVES):
        grid = noise.random((cells + 1, cells + 1), dtype=np.float32)
        field += np.asarray(Image.fromarray(grid, "F").resize((width, height), Image.Resampling.BILINEAR)) / 2 ** octave
    field -= field.min()
    return field / max(float(field.max()), 1e-6)


def add_clouds(photo: np.ndarray, sky: np.ndarray, rng: random.Random) -> np.ndarray:
    """Blend a cloud layer into the sky pixels: cover from scattered to overcast, grey from storm to white."""
    field = cloud_field(*sky.shape, rng)
    cover = rng.uniform(0.25, 0.65)  # the noise level above which there is cloud
    alpha = np.clip((field - cover) / rng.uniform(0.1, 0.35), 0, 1) * rng.uniform(0.7, 1.0)
    # Clouds are lit from above: their undersides (where the field is dense) are darker.
    brightness = rng.uniform(0.3, 1.0) * (1.0 - 0.35 * field)
    clouds = brightness[..., None] * np.array([1.0, 1.0, rng.uniform(1.0, 1.08)], np.float32)
    # A stormy sky darkens between the clouds too.
    background = photo * (rng.uniform(0.5, 1.0) if brightness.mean() < 0.5 else 1.0)
    blended = background * (1 - alpha[..., None]) + clouds * alpha[..., None]
    return np.where(sky[..., None], blended, photo)


def dusk(photo: np.ndarray, sky: np.ndarray, rng: random.Random) -> np.ndarray:
    """Sunset or twilight: a sky graded from deep blue at the top to orange at the horizon, a darker,
    warmer ground."""
    height = sky.shape[0]
    rows = np.where(sky.any(1))[0]
    horizon = rows.max() + 1 if len(rows) else height
    t = np.clip(np.arange(height, dtype=np.float32) / max(horizon, 1), 0, 1)[:, None, None]
    top = np.array([rng.uniform(0.05, 0.25), rng.uniform(0.05, 0.2), rng.uniform(0.2, 0.45)], np.float32)
    glow = np.array([rng.uniform(0.8, 1.0), rng.uniform(0.35, 0.7), rng.uniform(0.1, 0.4)], np.float32)
    gradient = top * (1 - t) + glow * t
    strength = rng.uniform(0.5, 0.9)
    sky_photo = photo * (1 - strength) + gradient * strength * (0.5 + photo.mean(-1, keepdims=True))
    warm = np.array([1.0, rng.uniform(0.8, 0.95), rng.uniform(0.6, 0.85)], np.float32)
    ground_photo = photo * rng.uniform(0.35, 0.8) * warm
    return np.where(sky[..., None], sky_photo, ground_photo)


def jitter_colour(photo: np.ndarray, rng: random.Random, strength: float) -> np.ndarray:
    """Brightness, contrast, saturation, white balance and gamma, each drawn within `strength`."""
    photo = photo * rng.uniform(1 - strength, 1 + strength)
    grey = photo.mean(-1, keepdims=True)
    photo = grey.mean() + (photo - grey.mean()) * rng.uniform(1 - strength, 1 + strength)
    photo = grey + (photo - grey) * rng.uniform(1 - 2 * strength, 1 + 2 * strength)
    photo = photo * np.array([rng.uniform(1 - strength / 3, 1 + strength / 3) for _ in range(3)], np.float32)
    return np.clip(photo, 0, 1) ** rng.uniform(1 / (1 + strength * 2), 1 + strength * 2)


@dataclass(frozen=True)
class PhotoAugment:
    """`sky_id`: the label whose pixels get clouds or dusk. `sky_probability`: the share of samples whose
    sky changes (half clouds, half dusk); `colour`: the strength of the colour jitter every sample gets."""

    sky_id: int
    sky_probability: float = 0.5
    colour: float = 0.25

    def __call__(self, photo: Image.Image, labels: Image.Image, rng: random.Random) -> Image.Image:
        pixels = np.asarray(photo, np.float32) / 255
        sky = np.asarray(labels) == self.sky_id
        if rng.random() < self.sky_probability and sky.any():
            pixels = (add_clouds if rng.random() < 0.5 else dusk)(pixels, sky, rng)
        pixels = jitter_colour(pixels, rng, self.colour)
        return Image.fromarray((np.clip(pixels, 0, 1) * 255).round().astype(np.uint8), "RGB")
