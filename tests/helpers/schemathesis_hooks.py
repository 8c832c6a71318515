"""Schemathesis hooks for the contract test (loaded by `schemathesis run` through SCHEMATHESIS_HOOKS).

The document says each upload is a PNG, JPEG, WebP, BMP or GIF (the multipart `encoding`); these strategies
make generated uploads real images of the type the part declares, so generated requests are ones a real
client could send. Their pixels are class ids that every tiny label model accepts.
"""

from __future__ import annotations

import io

import numpy as np
import schemathesis
from hypothesis import strategies as st
from PIL import Image

# Ids every label set of the tiny models has (landscape 0-7, facades 0-11).
SHARED_LABEL_IDS = 8
LANDSCAPE_SKY = (0x8E, 0xC8, 0xF0)
FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF")


@st.composite
def label_images(draw: st.DrawFn, image_format: str) -> bytes:
    """A real `image_format` file whose pixels read as class ids of every tiny label model."""
    width, height = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    options: dict = {}
    if image_format == "WEBP":
        # WebP has no greyscale mode, so it carries the label map in the label colours.
        image = Image.new("RGB", (width, height), LANDSCAPE_SKY)
        options["lossless"] = True
    elif image_format == "JPEG":
        # One flat grey survives JPEG's compression exactly; stripes would not.
        image = Image.new("L", (width, height), draw(st.integers(0, SHARED_LABEL_IDS - 1)))
        options["quality"] = 95
    else:
        rows = draw(st.lists(st.integers(0, SHARED_LABEL_IDS - 1), min_size=height, max_size=height))
        image = Image.fromarray(np.repeat(np.array(rows, np.uint8)[:, None], width, axis=1), "L")
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


for _format in FORMATS:
    schemathesis.openapi.media_type(f"image/{_format.lower()}", label_images(_format))
