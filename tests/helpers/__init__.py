"""Helpers shared by the test suites: tiny ONNX models (tiny_models), image encoders, test apps."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from PIL import Image

from backend.app import create_app
from backend.settings import Settings


def encode(image: Image.Image, format: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def label_png(indices: np.ndarray) -> bytes:
    """A single-channel PNG of class indices."""
    return encode(Image.fromarray(np.asarray(indices, np.uint8)))


def stripes(height: int, width: int, ids: list[int], dtype=np.uint8) -> np.ndarray:
    """Horizontal bands of the given class ids, an easy label map to paint in tests."""
    rows = np.array(ids, dtype)[np.arange(height) * len(ids) // height]
    return np.repeat(rows[:, None], width, axis=1)


def photo_png(height: int = 48, width: int = 64, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    return encode(Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)))


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def server_settings(weights: Path, **overrides) -> Settings:
    """Settings for a test app on `weights`, with no page folder; anything else overridden by keyword."""
    overrides.setdefault("frontend_dir", Path(weights) / "no-frontend")
    return Settings(weights_dir=Path(weights), **overrides)


def make_client(weights: Path, **overrides) -> TestClient:
    """A TestClient of an app on `weights`; enter it (`with`) so the lifespan loads the models."""
    return TestClient(create_app(server_settings(weights, **overrides)))
