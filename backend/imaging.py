"""Decoding, validating and converting uploaded images, and the tensors of the ONNX graph interface.

Policy for image modes (see README):
- photos, sketches and style images: 8-bit modes (L, P, RGB, CMYK, YCbCr, LAB, HSV) are converted to RGB;
  transparency is composited onto white paper; 16-bit greyscale (I;16) is scaled to 8 bits;
  32-bit integer or float images (I, F) are rejected with 415 naming the mode.
- label maps: single-channel images (L, P, LA, PA, I;16, I) are read as class indices (for P the palette
  index, not its colour); RGB/RGBA are read as the label set's exact colours; anything else is 415.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from backend.cards import LabelSet
from backend.errors import ApiError

# Decoders we accept; others (TIFF, PSD, ...) add attack surface and no value for a painter.
ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF")
_INDEX_MODES = {"L", "P", "I;16", "I;16L", "I;16B", "I;16N", "I"}
_INDEX_WITH_ALPHA_MODES = {"LA", "PA"}
_COLOUR_LABEL_MODES = {"RGB", "RGBA"}
_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N"}
_REJECTED_PHOTO_MODES = {"I", "F"}
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}
_MAX_LISTED = 8


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int
    max_side: int


def open_image(data: bytes, limits: ImageLimits, what: str = "image") -> Image.Image:
    """Decode an upload fully, checking byte size and sides before any pixel is decompressed."""
    if not data:
        raise ApiError(422, f"{what}: the file is empty")
    if len(data) > limits.max_bytes:
        raise ApiError(413, f"{what}: {len(data)} bytes is over the limit of {limits.max_bytes} bytes a file "
                            "(MAX_UPLOAD_BYTES)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ApiError(413, f"{what}: too many pixels (longest side allowed: {limits.max_side} px)") from None
    except UnidentifiedImageError:
        raise ApiError(415, f"{what}: not an image, or not one of {', '.join(ALLOWED_FORMATS)}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ApiError(422, f"{what}: corrupt image header ({exc})") from None
    width, height = image.size
    if max(width, height) > limits.max_side:
        raise ApiError(413, f"{what}: {width}x{height} px; the longest side may be at most {limits.max_side} px")
    if min(width, height) < 1:
        raise ApiError(422, f"{what}: the image has no pixels")
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ApiError(422, f"{what}: truncated or corrupt image ({exc})") from None
    return image


def to_rgb(image: Image.Image, what: str = "image") -> Image.Image:
    """Any accepted photo mode -> RGB (see the module docstring for the policy)."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in _REJECTED_PHOTO_MODES:
        raise ApiError(415, f"{what}: mode {mode} (32-bit) is not supported; save it as 8-bit RGB")
    if mode in _SIXTEEN_BIT_MODES:
        eight_bit = (np.asarray(image).astype(np.uint32) >> 8).astype(np.uint8)
        return Image.fromarray(eight_bit).convert("RGB")
    if mode in _ALPHA_MODES or "transparency" in image.info:
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(paper, rgba).convert("RGB")
    try:
        return image.convert("RGB")
    except ValueError:
        raise ApiError(415, f"{what}: mode {mode} cannot be converted to RGB") from None


def label_indices(image: Image.Image, label_set: LabelSet, what: str = "image") -> np.ndarray:
    """A label map upload -> uint8 [H, W] class indices, every one a class of `label_set` or its ignore id."""
    mode = image.mode
    if mode in _INDEX_MODES:
        indices = np.asarray(image)
    elif mode in _INDEX_WITH_ALPHA_MODES:
        indices = np.asarray(image)[..., 0]
    elif mode in _COLOUR_LABEL_MODES:
        return _indices_from_colours(np.asarray(image)[..., :3], label_set, what)
    else:
        raise ApiError(415, f"{what}: a label map must be a single-channel index image (L, P, I;16) "
                            f"or RGB in the label colours, not mode {mode}")
    allowed = {c.id for c in label_set.classes}
    if label_set.ignore_id is not None:
        allowed.add(label_set.ignore_id)
    present = np.unique(indices)
    unknown = [int(v) for v in present if int(v) not in allowed]
    if unknown:
        listed = ", ".join(str(v) for v in unknown[:_MAX_LISTED])
        more = f" and {len(unknown) - _MAX_LISTED} more" if len(unknown) > _MAX_LISTED else ""
        valid = ", ".join(str(i) for i in sorted(allowed))
        raise ApiError(422, f"{what}: label indices not in label set {label_set.name!r}: {listed}{more} "
                            f"(valid: {valid})")
    return indices.astype(np.uint8)


def _colour_keys(rgb: np.ndarray) -> np.ndarray:
    rgb = rgb.astype(np.int32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def _indices_from_colours(rgb: np.ndarray, label_set: LabelSet, what: str) -> np.ndarray:
    palette_keys = np.array([int(c.colour[1:], 16) for c in label_set.classes], np.int32)
    palette_ids = np.array([c.id for c in label_set.classes], np.uint8)
    order = np.argsort(palette_keys)
    palette_keys, palette_ids = palette_keys[order], palette_ids[order]
    keys = _colour_keys(rgb)
    slot = np.clip(np.searchsorted(palette_keys, keys), 0, len(palette_keys) - 1)
    known = palette_keys[slot] == keys
    if not known.all():
        strangers = np.unique(keys[~known])
        listed = ", ".join(f"#{int(k):06x}" for k in strangers[:_MAX_LISTED])
        more = f" and {len(strangers) - _MAX_LISTED} more" if len(strangers) > _MAX_LISTED else ""
        raise ApiError(422, f"{what}: colours not in the palette of label set {label_set.name!r}: {listed}{more}"
                            " (paint with the exact label colours, or send class indices as a greyscale PNG)")
    return palette_ids[slot]


def output_size(input_size: tuple[int, int], model_size: int) -> tuple[int, int]:
    """(width, height) at the input's aspect ratio whose longer side is the model's size."""
    width, height = input_size
    if width >= height:
        return model_size, max(1, round(model_size * height / width))
    return max(1, round(model_size * width / height)), model_size


def photo_tensor(rgb: Image.Image, size: int) -> np.ndarray:
    """RGB image -> float32 [1, 3, size, size] in [-1, 1]."""
    if rgb.size != (size, size):
        rgb = rgb.resize((size, size), Image.Resampling.LANCZOS)
    pixels = np.asarray(rgb, np.float32) / 127.5 - 1.0
    return np.ascontiguousarray(pixels.transpose(2, 0, 1)[None])


def sketch_tensor(image: Image.Image, size: int) -> np.ndarray:
    """Any accepted image -> float32 [1, 1, size, size], white paper = +1 and ink = -1."""
    grey = to_rgb(image, "sketch").convert("L")
    if grey.size != (size, size):
        grey = grey.resize((size, size), Image.Resampling.LANCZOS)
    return (np.asarray(grey, np.float32) / 127.5 - 1.0)[None, None]


def labels_tensor(indices: np.ndarray, size: int) -> np.ndarray:
    """uint8 [H, W] class indices -> int64 [1, 1, size, size], resized with NEAREST so no new ids appear."""
    image = Image.fromarray(np.ascontiguousarray(indices, np.uint8))
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.NEAREST)
    return np.asarray(image, np.int64)[None, None]


def tensor_to_rgb(image: np.ndarray) -> Image.Image:
    """float32 [1, 3, H, W] in [-1, 1] -> RGB image; NaN or out-of-range values are clamped."""
    pixels = np.nan_to_num(image[0].transpose(1, 2, 0), nan=0.0, posinf=1.0, neginf=-1.0)
    return Image.fromarray(((pixels + 1.0) * 127.5).clip(0, 255).round().astype(np.uint8))


def labels_to_palette_image(labels: np.ndarray, label_set: LabelSet) -> Image.Image:
    """int [1, 1, H, W] or [H, W] class indices -> mode P image whose palette is the label colours."""
    indices = np.clip(np.asarray(labels).reshape(labels.shape[-2:]), 0, 255).astype(np.uint8)
    image = Image.frombytes("P", (indices.shape[1], indices.shape[0]), indices.tobytes())
    palette = np.zeros((256, 3), np.uint8)
    for label in label_set.classes:
        palette[label.id] = [int(label.colour[i:i + 2], 16) for i in (1, 3, 5)]
    image.putpalette(palette.tobytes())
    return image


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _rgb_png(pixels: np.ndarray) -> bytes:
    """uint8 [H, W, 3] -> PNG with unfiltered rows at zlib level 1. On generated pictures Pillow's per-row
    filter search costs more than it saves: at 256 px this is 2-2.5x faster and 8-10 % smaller."""
    height, width, _ = pixels.shape
    rows = np.zeros((height, 1 + 3 * width), np.uint8)  # each row's first byte is its filter type, 0 = none
    rows[:, 1:] = pixels.reshape(height, 3 * width)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit truecolour, not interlaced
    return (PNG_SIGNATURE + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 1))
            + _png_chunk(b"IEND", b""))


def encode_png(image: Image.Image) -> bytes:
    if image.mode == "RGB":
        return _rgb_png(np.asarray(image))
    buffer = io.BytesIO()
    # Low compression: these PNGs travel over loopback or a LAN, and encoding time is latency.
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


# How a generated picture may be sent: lossless PNG (the default), or JPEG / WebP, smaller over a slow link.
PICTURE_FORMATS = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


def encode_picture(image: Image.Image, picture_format: str = "png") -> bytes:
    """RGB picture -> bytes in one of PICTURE_FORMATS (quality settings chosen for encoding speed)."""
    if picture_format == "png":
        return encode_png(image)
    buffer = io.BytesIO()
    if picture_format == "jpeg":
        image.save(buffer, format="JPEG", quality=90)
    elif picture_format == "webp":
        image.save(buffer, format="WEBP", quality=85, method=0)
    else:
        raise ValueError(f"unknown picture format {picture_format!r}; one of {', '.join(PICTURE_FORMATS)}")
    return buffer.getvalue()
