"""Do style presets paint their thumbnails' look? The measurement (model_training.preset_looks) and the code
search (model_training.preset_codes) on the tiny SPADE model, and the shipped SPADE's presets measured."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backend import pipeline
from backend.cards import load_card
from backend.engine import InferenceEngine
from backend.hybrid import colour_style
from model_training.__main__ import main
from model_training.painted_layouts import painted_layouts
from model_training.preset_codes import SearchConfig, match_presets
from model_training.preset_looks import PresetLook, measure, misses, summarise
from tests.helpers.tiny_models import HYBRID_ID, PRESET_IDS, SPADE_ID

WEIGHTS = Path(__file__).resolve().parent.parent / "weights"


@pytest.fixture()
def weights(tiny_weights: Path, tmp_path: Path) -> Path:
    """A writable copy of the tiny weights (the commands rewrite cards)."""
    return Path(shutil.copytree(tiny_weights, tmp_path / "weights"))


def test_the_table_is_the_l1_distance_of_colour_means_and_spreads(tiny_weights: Path):
    engine = InferenceEngine.load(tiny_weights, 1, 1)
    model = engine.get(SPADE_ID)
    rows = measure(engine, model)
    assert [r.preset for r in rows] == list(PRESET_IDS)
    # Recomputed here from the pictures and thumbnails themselves.
    thumbnails = [colour_style(np.asarray(Image.open(model.thumbnails[p]).convert("RGB"))) for p in PRESET_IDS]
    for row, preset in zip(rows, model.card.style_presets):
        looks = [colour_style(pipeline.render_labels(engine, model, labels, 0, style=np.asarray(preset.code)))
                 for labels in painted_layouts(model.card.size).values()]
        distances = np.array([[np.abs(look - thumbnail).sum() for thumbnail in thumbnails] for look in looks])
        own = PRESET_IDS.index(row.preset)
        assert row.pictures == 6
        assert row.own == pytest.approx(distances[:, own].mean(), abs=1e-4)
        assert row.nearest_other_distance == pytest.approx(distances[:, 1 - own].mean(), abs=1e-4)
        assert row.pictures_nearest_own == int((distances.argmin(1) == own).sum())


def test_a_preset_whose_picture_is_nearer_another_thumbnail_is_a_miss():
    # table[p, l, q]: preset p's picture on layout l against preset q's thumbnail.
    table = np.array([[[0.1, 0.5], [0.2, 0.4]],
                      [[0.3, 0.6], [0.2, 0.3]]])
    rows = summarise(["a", "b"], table)
    assert rows[0] == PresetLook("a", own=0.15, nearest_other="b", nearest_other_distance=0.45,
                                 pictures_nearest_own=2, pictures=2)
    assert rows[1].pictures_nearest_own == 0 and rows[1].own == 0.45
    assert misses(rows) == ["b"]


def test_the_command_prints_the_table_and_writes_it_into_the_card(weights: Path, capsys):
    main(["measure-presets", "--weights", str(weights), "--model", SPADE_ID, "--write"])
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].startswith("preset | own thumbnail")
    recorded = load_card(weights / f"{SPADE_ID}.json").metrics["preset_looks"]
    command = f"python -m model_training measure-presets --weights {weights} --model {SPADE_ID} --write"
    assert recorded["command"] == command
    assert [row["preset"] for row in recorded["rows"]] == list(PRESET_IDS)
    assert recorded["table"][2:] == printed.splitlines()[2:4]
    with pytest.raises(SystemExit, match="not a label model with style presets"):
        main(["measure-presets", "--weights", str(weights), "--model", "cyclegan-test"])


def test_the_code_search_only_ever_brings_presets_nearer_their_thumbnails(weights: Path):
    before = load_card(weights / f"{SPADE_ID}.json")
    matches = match_presets(weights, SPADE_ID, SearchConfig(generations=3, offspring=3), command="the command")
    after = load_card(weights / f"{SPADE_ID}.json")
    assert [m.preset for m in matches] == list(PRESET_IDS)
    for match, old, new in zip(matches, before.style_presets, after.style_presets):
        assert match.after <= match.before
        assert new.code == match.code and len(new.code) == len(old.code)
        assert (new.id, new.thumbnail) == (old.id, old.thumbnail)
    (run,) = after.metrics["preset_codes"]["runs"]
    assert run == {"command": "the command",
                   "objective": {m.preset: {"before": m.before, "after": m.after} for m in matches}}
    unchanged = after.model_copy(update={"style_presets": before.style_presets, "metrics": before.metrics})
    assert unchanged == before, "only the codes and their record change"


def test_the_code_search_leaves_the_hybrid_alone(hybrid_weights: Path, tmp_path: Path):
    weights = Path(shutil.copytree(hybrid_weights, tmp_path / "weights"))
    card = (weights / f"{HYBRID_ID}.json").read_text()
    with pytest.raises(SystemExit, match="SPADE only"):
        main(["match-presets", "--weights", str(weights), "--model", HYBRID_ID])
    assert (weights / f"{HYBRID_ID}.json").read_text() == card


@pytest.mark.skipif(not (WEIGHTS / "spade-landscape.json").is_file(), reason="no shipped SPADE")
def test_every_shipped_spade_preset_paints_nearest_its_own_thumbnail():
    """On the painted layouts, no preset's picture is nearer another preset's thumbnail (Lush used to paint
    nearest Sunset's), and the card's table is what the measurement gives now."""
    engine = InferenceEngine.load(WEIGHTS, 1, 1)
    rows = measure(engine, engine.get("spade-landscape"))
    assert not misses(rows), rows
    recorded = load_card(WEIGHTS / "spade-landscape.json").metrics["preset_looks"]["rows"]
    assert [PresetLook(**row) for row in recorded] == rows
