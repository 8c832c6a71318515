"""The photo -> sketch extractor: binary, deterministic, mostly paper, thin lines on real edges only."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from backend.sketch import INK, PAPER, extract_sketch


def shapes_photo(width: int = 128, height: int = 96) -> np.ndarray:
    image = Image.new("RGB", (width, height), (90, 140, 200))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, height * 2 // 3, width, height), fill=(60, 150, 60))
    draw.ellipse((20, 15, 60, 50), fill=(240, 200, 40))
    draw.polygon([(70, 64), (100, 20), (125, 64)], fill=(120, 100, 90))
    return np.asarray(image)


@pytest.fixture
def fixture_photo(fixture_data) -> np.ndarray:
    return np.asarray(Image.open(sorted((fixture_data / "photos").glob("*.jpg"))[0]).convert("RGB"))


def test_output_is_binary_white_paper_with_ink(fixture_photo):
    for photo in (shapes_photo(), fixture_photo):
        sketch = extract_sketch(photo)
        assert sketch.dtype == np.uint8 and sketch.shape == photo.shape[:2]
        assert set(np.unique(sketch)) <= {INK, PAPER}
        ink = (sketch == INK).mean()
        assert 0.005 < ink < 0.2, ink


def test_deterministic_and_does_not_touch_its_input():
    photo = shapes_photo()
    before = photo.copy()
    assert np.array_equal(extract_sketch(photo), extract_sketch(photo.copy()))
    assert np.array_equal(photo, before)


def test_flat_and_faintly_noisy_images_stay_blank():
    flat = np.full((64, 80, 3), 128, np.uint8)
    assert (extract_sketch(flat) == PAPER).all()
    noisy = np.clip(128 + np.random.default_rng(0).normal(0, 2, (64, 80, 3)), 0, 255).astype(np.uint8)
    assert (extract_sketch(noisy) == PAPER).all()


def test_a_straight_edge_becomes_one_thin_continuous_line():
    photo = np.zeros((64, 64, 3), np.uint8)
    photo[:, 32:] = 255
    ink = extract_sketch(photo) == INK
    rows = ink[4:-4].sum(axis=1)
    assert (rows == 1).all(), rows
    assert abs(int(np.argmax(ink[32])) - 32) <= 1


def test_rejects_non_rgb_input():
    with pytest.raises(ValueError):
        extract_sketch(np.zeros((8, 8), np.uint8))
