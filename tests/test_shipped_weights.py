"""Every model shipped in weights/ loads in the server and paints a real picture: not constant, no NaN,
the right size. The cards must validate and name their data, terms and evaluation command."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from backend.app import create_app
from backend.cards import load_card
from backend.settings import Settings

WEIGHTS = Path(__file__).resolve().parent.parent / "weights"
CARDS = sorted(WEIGHTS.glob("*.json"))
# The embedded defaults a fresh clone paints with (issue: shipped weights).
DEFAULT_IDS = {"segmenter-landscape", "spade-landscape", "pix2pix-sketch", "pix2pix-facades",
               "cyclegan-monet", "cyclegan-winter"}
# Mean absolute difference, in 8-bit levels, that two styles' pictures must at least have: side by side,
# such pictures look different. (A style encoder whose codes had collapsed gave 1-3.)
MIN_STYLE_DIFFERENCE = 6.0


@pytest.fixture(scope="module")
def client():
    settings = Settings(weights_dir=WEIGHTS, log_level="WARNING")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _scene(card) -> Image.Image:
    """A plausible painting for a label model: horizontal bands of its classes, with a blob on top."""
    ids = [c.id for c in card.label_set.classes]
    size = card.size
    labels = np.zeros((size, size), np.uint8)
    for band, class_id in enumerate(ids):
        labels[band * size // len(ids):, :] = class_id
    yy, xx = np.mgrid[:size, :size]
    labels[(yy - size // 2) ** 2 + (xx - size // 3) ** 2 < (size // 6) ** 2] = ids[1 % len(ids)]
    return Image.fromarray(labels, "L")


def _photo(size: int) -> Image.Image:
    """Sky over hills over grass with a tree: enough structure for a sketch or a style transfer."""
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    rgb = np.zeros((size, size, 3), np.float32)
    rgb[:] = (110, 170, 230)
    hills = yy > size * 0.45 + 20 * np.sin(xx / 25)
    rgb[hills] = (70, 120, 60)
    rgb[yy > size * 0.75] = (120, 180, 80)
    rgb[(yy - size * 0.55) ** 2 + (xx - size * 0.3) ** 2 < 400] = (30, 70, 30)
    return Image.fromarray(rgb.astype(np.uint8))


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_every_default_model_is_shipped():
    assert {path.stem for path in CARDS} >= DEFAULT_IDS


@pytest.mark.parametrize("card_path", CARDS, ids=[p.stem for p in CARDS])
def test_shipped_card_is_complete(card_path: Path):
    card = load_card(card_path)
    assert card.id == card_path.stem
    if card.graphless:  # patch synthesis: the bank is the model, built by build-bank
        assert (WEIGHTS / card.exemplar_bank.file).stat().st_size > 0
        assert card.training.command.startswith("python -m model_training build-bank")
    else:
        assert (WEIGHTS / card.onnx).stat().st_size > 0
        assert card.training.command.startswith("python -m model_training train")
    assert card.training.data and all(d.terms for d in card.training.data)
    assert card.metrics and card.evaluation_command.startswith("python -m model_training evaluate")
    assert card.samples and (WEIGHTS / card.samples).exists()


@pytest.mark.parametrize("card_path", CARDS, ids=[p.stem for p in CARDS])
def test_shipped_model_loads_and_paints(client: TestClient, card_path: Path):
    card = load_card(card_path)
    listed = {m["id"]: m for m in client.get("/models").json()["models"]}
    assert listed[card.id]["state"] == "ready", listed[card.id].get("error")

    if card.kind == "segmenter":
        response = client.post("/segment", data={"model": card.id}, files={"image": ("p.png", _png(_photo(256)))})
        assert response.status_code == 200, response.text
        labels = np.asarray(Image.open(io.BytesIO(response.content)))
        assert labels.shape == (256, 256)
        assert len(np.unique(labels)) >= 2  # a landscape photo is not one class
        return

    if card.input_kind == "labels":
        upload = _scene(card)
    elif card.input_kind == "sketch":
        from backend.sketch import extract_sketch

        upload = Image.fromarray(extract_sketch(np.asarray(_photo(256))), "L")
    else:
        upload = _photo(256)
    response = client.post("/translate", data={"model": card.id}, files={"image": ("in.png", _png(upload))})
    assert response.status_code == 200, response.text
    picture = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB")).astype(np.float32)
    assert picture.shape == (card.picture_side, card.picture_side, 3)
    assert np.isfinite(picture).all()
    assert picture.std() > 5, "the picture is (nearly) constant"
    assert picture.reshape(-1, 3).std(0).max() > 5


@pytest.mark.parametrize("card_path", [p for p in CARDS if load_card(p).style_presets], ids=lambda p: p.stem)
def test_shipped_styles_paint_visibly_different_pictures(client: TestClient, card_path: Path):
    """Every preset, and a random style, changes the picture: the style encoder's codes carry a look."""
    card = load_card(card_path)
    upload = _png(_scene(card))

    def paint(**style) -> np.ndarray:
        response = client.post("/translate", data={"model": card.id, **style}, files={"image": ("in.png", upload)})
        assert response.status_code == 200, response.text
        return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB")).astype(np.float32)

    pictures = {p.id: paint(style_id=p.id) for p in card.style_presets} | {"seed 1": paint(seed="1")}
    names = sorted(pictures)
    closest = min((np.abs(pictures[a] - pictures[b]).mean(), a, b)
                  for i, a in enumerate(names) for b in names[i + 1:])
    assert closest[0] > MIN_STYLE_DIFFERENCE, f"styles {closest[1]} and {closest[2]} paint nearly the same picture"
