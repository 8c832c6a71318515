"""Drawn sketches for judging sketch models by eye: outlines of painted layouts, the painter's starter
sketch, and the side-by-side sheet of graphs rendering them."""

from __future__ import annotations

import numpy as np
from PIL import Image

from backend.sketch import INK, PAPER
from model_training.__main__ import main
from model_training.painted_layouts import PAINTED_LAYOUTS
from model_training.realism import SHEET_TILE
from model_training.sketch_sheet import drawings, outline, pen_width, starter_sketch
from tests.helpers.tiny_models import SKETCH_ID


def test_an_outline_is_a_pen_wide_line_where_two_regions_meet():
    labels = np.zeros((256, 256), np.uint8)
    labels[100:] = 3  # a horizon between rows 99 and 100
    drawing = outline(labels)
    assert set(np.unique(drawing)) == {INK, PAPER}
    inked_rows = np.flatnonzero((drawing == INK).all(axis=1))
    assert pen_width(256) == 3 and inked_rows.tolist() == [98, 99, 100]
    assert (outline(np.zeros((64, 64), np.uint8)) == PAPER).all()


def test_the_starter_sketch_draws_its_lines_on_white_paper():
    drawing = starter_sketch(256)
    ground = round(0.82 * 256)
    assert (drawing[ground - 1:ground + 2] == INK).any(axis=0).all()  # the ground runs across the page
    assert drawing[5, 5] == PAPER and drawing[250, 250] == PAPER
    assert 0.01 < (drawing == INK).mean() < 0.1


def test_the_sheet_has_a_row_per_drawing_and_a_column_per_graph(tiny_weights, tmp_path, capsys):
    assert list(drawings(64)) == ["starter sketch", *PAINTED_LAYOUTS]
    graph = tiny_weights / f"{SKETCH_ID}.onnx"
    out = tmp_path / "sheet.png"
    main(["sketch-sheet", f"old={graph}", f"new={graph}", "--out", str(out)])
    assert "sheet written" in capsys.readouterr().out
    width, height = Image.open(out).size
    assert width == 3 * (SHEET_TILE + 4) - 4 and height == 18 + (1 + len(PAINTED_LAYOUTS)) * (SHEET_TILE + 4)
