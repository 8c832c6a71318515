"""Drawings a person would make, rendered by sketch -> photo graphs side by side, to judge them by eye.

The validation sketches are edge maps of photos (backend/sketch.py): they carry the photo's texture edges,
which a person never draws. Here the input is what a person draws instead: the outline of each painted
landscape layout (model_training.painted_layouts; a line wherever two regions meet) and the painter's
starter sketch (frontend/js/starter.js), with the starter's pen width, black ink on white paper.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

from backend.sketch import INK, PAPER
from model_training.data.transforms import tensor_to_uint8
from model_training.evaluate import OnnxGraph
from model_training.painted_layouts import PAINTED_LAYOUTS
from model_training.realism import save_sheet

# frontend/js/starter.js's SKETCH_LINES and SKETCH_LINE_WIDTH: mountains, the ground and a house, in
# fractions of the canvas. Kept in step by hand: the painter has no Python side to import them from.
STARTER_LINES = [
    [(0, 0.6), (0.16, 0.3), (0.27, 0.44), (0.4, 0.26), (0.54, 0.56)],
    [(0, 0.82), (1, 0.82)],
    [(0.56, 0.58), (0.72, 0.42), (0.88, 0.58), (0.56, 0.58)],
    [(0.6, 0.58), (0.6, 0.82)], [(0.84, 0.58), (0.84, 0.82)],
    [(0.68, 0.82), (0.68, 0.68), (0.75, 0.68), (0.75, 0.82)],
    [(0.77, 0.62), (0.82, 0.62), (0.82, 0.67), (0.77, 0.67), (0.77, 0.62)],
]
LINE_WIDTH = 0.01


def pen_width(size: int) -> int:
    return max(1, round(LINE_WIDTH * size))


def outline(labels: np.ndarray) -> np.ndarray:
    """uint8 class ids [H, W] -> uint8 drawing [H, W]: ink where a pixel's right or lower neighbour is of
    another class, widened to the pen's width."""
    edge = np.zeros(labels.shape, bool)
    edge[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    edge[:-1] |= labels[:-1] != labels[1:]
    drawing = Image.fromarray(np.where(edge, INK, PAPER).astype(np.uint8))
    width = pen_width(labels.shape[0])
    if width > 1:
        # The darkest pixel of each neighbourhood, so ink spreads over the paper around it; the filter's
        # size must be odd.
        drawing = drawing.filter(ImageFilter.MinFilter(width | 1))
    return np.asarray(drawing)


def starter_sketch(size: int) -> np.ndarray:
    """The painter's starter sketch at `size` x `size`, as uint8 ink on paper."""
    drawing = Image.new("L", (size, size), PAPER)
    pen = ImageDraw.Draw(drawing)
    for line in STARTER_LINES:
        pen.line([(x * size, y * size) for x, y in line], fill=INK, width=pen_width(size), joint="curve")
    return np.asarray(drawing)


def drawings(size: int) -> dict[str, np.ndarray]:
    """The starter sketch, then the outline of every painted layout."""
    return {"starter sketch": starter_sketch(size)} | {
        name: outline(draw(size)) for name, draw in PAINTED_LAYOUTS.items()}


def render(graph: OnnxGraph, drawing: np.ndarray) -> np.ndarray:
    """A sketch graph's picture of a drawing, uint8 [H, W, 3]; ink is -1 and paper +1, as the server feeds it."""
    sketch = torch.from_numpy(drawing.astype(np.float32) / 127.5 - 1.0)[None, None]
    return tensor_to_uint8(graph(sketch=sketch)[0])


def sketch_sheet(graphs: dict[str, Path], out: Path, size: int = 256) -> None:
    """One row per drawing: the drawing, then each named graph's picture of it."""
    sessions = {name: OnnxGraph(path) for name, path in graphs.items()}
    rows = []
    for drawing in drawings(size).values():
        paper = np.repeat(drawing[..., None], 3, axis=2)
        rows.append([paper, *(render(session, drawing) for session in sessions.values())])
    save_sheet(["drawing", *sessions], rows, out)
