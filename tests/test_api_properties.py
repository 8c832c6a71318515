"""Property-based: any valid photo of any size, mode and format translates, at the input's aspect ratio."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from backend.imaging import encode_png, output_size
from tests.helpers import decode, encode, make_client
from tests.helpers.tiny_models import CYCLEGAN_ID, SIZES

# (mode, format) pairs Pillow can write and the server accepts.
MODES_AND_FORMATS = [("RGB", "PNG"), ("RGB", "JPEG"), ("RGB", "WEBP"), ("RGB", "BMP"), ("RGBA", "PNG"),
                     ("L", "PNG"), ("L", "JPEG"), ("LA", "PNG"), ("P", "PNG"), ("P", "GIF"), ("1", "PNG"),
                     ("CMYK", "JPEG"), ("I;16", "PNG")]


@pytest.fixture(scope="module")
def client(tiny_weights):
    with make_client(tiny_weights) as test_client:
        yield test_client


def random_image(mode: str, width: int, height: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    if mode == "I;16":
        return Image.fromarray(rng.integers(0, 65536, (height, width), dtype=np.uint16))
    rgb = Image.fromarray(rng.integers(0, 256, (height, width, 4), dtype=np.uint8), "RGBA")
    return rgb.convert(mode)


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mode_and_format=st.sampled_from(MODES_AND_FORMATS), width=st.integers(1, 300), height=st.integers(1, 300),
       seed=st.integers(0, 1000))
def test_any_valid_photo_translates_at_its_aspect_ratio(client, mode_and_format, width, height, seed):
    mode, image_format = mode_and_format
    upload = encode(random_image(mode, width, height, seed), image_format)
    response = client.post("/translate", data={"model": CYCLEGAN_ID},
                           files={"image": ("upload", upload, "application/octet-stream")})
    assert response.status_code == 200, response.text
    assert decode(response.content).size == output_size((width, height), SIZES[CYCLEGAN_ID])


@settings(max_examples=60, deadline=None, database=None)
@given(width=st.integers(1, 300), height=st.integers(1, 300), seed=st.integers(0, 1000), flat=st.booleans())
def test_the_rgb_png_writer_round_trips_exactly_through_pillow(width, height, seed, flat):
    """backend.imaging writes RGB PNGs itself; Pillow must read back every pixel and find the CRCs right."""
    rng = np.random.default_rng(seed)
    pixels = (np.full((height, width, 3), rng.integers(0, 256, 3), np.uint8) if flat
              else rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
    data = encode_png(Image.fromarray(pixels, "RGB"))
    with Image.open(io.BytesIO(data)) as image:
        image.verify()
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG" and image.mode == "RGB" and image.size == (width, height)
        assert np.array_equal(np.asarray(image), pixels)
