"""How pictures are prepared for the C2ST (model_training.c2st), and the protocols `evaluate-realism` runs.

A real photo reaches the classifier as its JPEG file (Stanford Background: 710 of the 715 photos carry the
IJG tables of quality 75 in luminance and chroma, 4:2:0; the other five 77, 82, 90 and 97), resized to
S x S. A generated picture, fairly, goes the same way: resized to its photo's own width x height, saved as a
JPEG at the photos' quality, and then through the very same bicubic resize to S x S. The model paints the
whole label map, squashed to its square input, so that its picture covers what the photo covers; it is told
the width / height its picture is shown at, as `/translate` tells it an upload's (the landscape renderer
stretches its exemplars against it; a network ignores it).

`earlier` is the protocol used until issue 25, kept so that the two can be compared in one run: centre
squares at 256 px, generated pictures saved at their photo's shorter side as JPEG q90 and then JPEG q90 on
both sides, and a strided batch-norm classifier fitted for 1000 random batches of 64-px crops and tested
on 8 random crops. It reads higher than the fair protocols because its classifier is the stronger test:
fitted five times longer and judging each picture by 8 crops. Compression, framing and scale move neither
protocol beyond the seed spread (model_training/c2st_ablation.py measures it; figures in README.md, "How
photo-like?"). Its real-vs-real row stays at chance (0.47): it was not unfair, only harder to pass.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from model_training.c2st import C2stConfig
from model_training.data.transforms import Geometry

PHOTO_JPEG_QUALITY = 75  # the Stanford Background photos' own (see the module docstring)
FRAMINGS = ("whole", "centre-square")


@dataclass(frozen=True)
class C2stProtocol:
    name: str
    side: int  # S: every picture is judged at S x S
    # "whole": the whole photo squashed to S x S (the model paints the whole label map, squashed to its square);
    # "centre-square": the photo's centre square (and the label map's).
    framing: str
    file_quality: int  # the JPEG quality a generated picture is saved at, at its photo's own size
    final_quality: int | None  # a JPEG after the resize to S, on both sides (None: none)
    classifier: C2stConfig

    def __post_init__(self):
        if self.framing not in FRAMINGS:
            raise ValueError(f"unknown framing {self.framing!r}: one of {', '.join(FRAMINGS)}")

    def real(self, photo: np.ndarray) -> np.ndarray:
        """A photo as decoded from its file -> what the classifier sees."""
        if self.framing == "centre-square":
            return self._finished(centre_square(photo, self.side, Image.Resampling.BICUBIC))
        return self._finished(resized(photo, (self.side, self.side)))

    def generated(self, picture: np.ndarray, photo_size: tuple[int, int]) -> np.ndarray:
        """A model's picture of the label map of a photo of `photo_size` (width, height) -> what the
        classifier sees: stored like the photo (at its size, JPEG), then resized as the photo is."""
        if self.framing == "centre-square":
            side = min(photo_size)
            stored = jpeg(resized(picture, (side, side)), self.file_quality)
        else:
            stored = jpeg(resized(picture, photo_size), self.file_quality)
        return self._finished(resized(stored, (self.side, self.side)))

    def _finished(self, picture: np.ndarray) -> np.ndarray:
        return picture if self.final_quality is None else jpeg(picture, self.final_quality)


def framed_labels(labels: np.ndarray, framing: str, size: int) -> np.ndarray:
    """The label map a model of input `size` paints under `framing`, from the photo's full label map."""
    if framing == "centre-square":
        return centre_square(labels, size, Image.Resampling.NEAREST)
    return resized(labels, (size, size), Image.Resampling.NEAREST)


def resized(image: np.ndarray, size: tuple[int, int],
            resample: Image.Resampling = Image.Resampling.BICUBIC) -> np.ndarray:
    """An RGB picture or a label map resized to `size` (width, height)."""
    if image.shape[1::-1] == size:
        return image
    return np.asarray(Image.fromarray(image).resize(size, resample))


def centre_square(image: np.ndarray, side: int, resample: Image.Resampling) -> np.ndarray:
    """Shorter side resized to `side`, then the centre square, as the training data loader's `Geometry`."""
    geometry = Geometry(side, side, False)
    plan = geometry.plan(image.shape[1], image.shape[0], None)
    return np.asarray(geometry.apply(Image.fromarray(image), plan, resample))


def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    """Saved as a JPEG file (PIL's default 4:2:0 subsampling, as the photos') and decoded again."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def fair(side: int) -> C2stProtocol:
    """The issue-25 protocol at S = `side`: crops of 3/4 S, the photos' JPEG quality, no second JPEG."""
    return C2stProtocol(f"fair-{side}", side, "whole", PHOTO_JPEG_QUALITY, None, C2stConfig(crop=side * 3 // 4))


EARLIER = C2stProtocol("earlier", 256, "centre-square", 90, 90,
                       C2stConfig(crop=64, widths=(16, 32, 64, 64), design="strided", fit_steps=1000, test_crops=8))

PROTOCOLS: dict[str, C2stProtocol] = {p.name: p for p in (fair(128), fair(256), EARLIER)}
