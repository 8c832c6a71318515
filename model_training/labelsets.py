"""The one definition of every label set: ids, names, display colours, ignore and background ids.

Torch-free on purpose. Export copies a label set into each model card; the server and the painter read it
from the card, never from a second copy.
"""

from __future__ import annotations

import numpy as np

from backend.cards import LabelClass, LabelSet


def _jet(x: float) -> str:
    """Matplotlib's 'jet' colour at x in [0, 1], as #rrggbb: CMP Facades draws its labels with it."""
    rgb = [min(4 * x - 1.5, -4 * x + 4.5), min(4 * x - 0.5, -4 * x + 3.5), min(4 * x + 0.5, -4 * x + 2.5)]
    return "#" + "".join(f"{round(max(0.0, min(1.0, c)) * 255):02x}" for c in rgb)


# Stanford Background (Gould et al., ICCV 2009). Index 15 marks unlabelled pixels.
LANDSCAPE = LabelSet(
    name="stanford-background",
    classes=[
        LabelClass(id=0, name="sky", colour="#8ec8f0", group="sky & water"),
        LabelClass(id=1, name="tree", colour="#2f7d32", group="nature"),
        LabelClass(id=2, name="road", colour="#8a8a8a", group="ground"),
        LabelClass(id=3, name="grass", colour="#8fd14f", group="nature"),
        LabelClass(id=4, name="water", colour="#1f5fbf", group="sky & water"),
        LabelClass(id=5, name="building", colour="#b5543c", group="man-made"),
        LabelClass(id=6, name="mountain", colour="#7a5c44", group="ground"),
        LabelClass(id=7, name="foreground object", colour="#f0b43c", group="man-made"),
    ],
    ignore_id=15,
    background_id=0,
)

_FACADE_NAMES = ["background", "facade", "window", "door", "cornice", "sill",
                 "balcony", "blind", "deco", "molding", "pillar", "shop"]

# CMP Facades (Tyleček and Šára, GCPR 2013): class k is drawn in jet((k + 1) / 12).
FACADES = LabelSet(
    name="cmp-facades",
    classes=[LabelClass(id=i, name=n, colour=_jet((i + 1) / 12)) for i, n in enumerate(_FACADE_NAMES)],
    ignore_id=None,
    background_id=0,
)

LABEL_SETS: dict[str, LabelSet] = {s.name: s for s in (LANDSCAPE, FACADES)}


def num_classes(label_set: LabelSet) -> int:
    """Channels of the one-hot input: class ids are 0..n-1; anything else one-hots to zeros."""
    return max(c.id for c in label_set.classes) + 1


def colour_table(label_set: LabelSet) -> np.ndarray:
    """uint8 [256, 3]: colour of every index; indices outside the set are black."""
    table = np.zeros((256, 3), np.uint8)
    for c in label_set.classes:
        table[c.id] = [int(c.colour[i:i + 2], 16) for i in (1, 3, 5)]
    return table


def colourise(labels: np.ndarray, label_set: LabelSet) -> np.ndarray:
    """Index map [H, W] -> RGB uint8 [H, W, 3]."""
    return colour_table(label_set)[labels.astype(np.uint8)]


def quantise_colours(rgb: np.ndarray, label_set: LabelSet) -> np.ndarray:
    """RGB [H, W, 3] -> index map [H, W] of the nearest class colour (cleans JPEG noise)."""
    ids = np.array([c.id for c in label_set.classes], np.uint8)
    colours = colour_table(label_set)[ids].astype(np.int32)
    flat = rgb.reshape(-1, 3).astype(np.int32)
    distances = ((flat[:, None, :] - colours[None, :, :]) ** 2).sum(-1)
    return ids[distances.argmin(1)].reshape(rgb.shape[:2])
