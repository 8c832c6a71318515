"""The hybrid model (exemplar canvas + refiner) served like the others: card, loading, styles, /translate, /ws."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydantic import ValidationError

from backend.benchmark import HYBRID_BUDGETS_MS, print_table, run_benchmark
from backend.cards import ExemplarBankFile, ModelCard, load_card
from backend.engine import InferenceEngine, file_sha256
from backend.hybrid import ExemplarBank
from backend.pipeline import render_labels
from backend.seeded import uniforms
from model_training.labelsets import LANDSCAPE, colourise
from tests.helpers import decode, encode, label_png, make_client, photo_png, stripes
from tests.helpers.tiny_models import CYCLEGAN_ID, HYBRID_ID, HYBRID_PRESETS, SPADE_ID

# Sky over trees, grass and a lake: classes 0, 1, 3 and 4 of the landscape set.
PAINTING = stripes(96, 128, [0, 1, 3])
PAINTING[70:, 20:80] = 4
PAINTING_PNG = label_png(PAINTING)


@pytest.fixture(scope="module")
def client(hybrid_weights):
    with make_client(hybrid_weights) as test_client:
        yield test_client


def translate(client, image: bytes = PAINTING_PNG, files: dict | None = None, **fields) -> bytes:
    response = client.post("/translate", data={"model": HYBRID_ID, **fields},
                           files={"image": ("labels.png", image, "image/png"), **(files or {})})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return response.content


def rejected(client, status: int, **fields) -> str:
    response = client.post("/translate", data={"model": HYBRID_ID, **fields},
                           files={"image": ("labels.png", PAINTING_PNG, "image/png")})
    assert response.status_code == status, response.text
    return response.json()["detail"]


# ---------- card schema ----------

def hybrid_card(hybrid_weights: Path) -> dict:
    return load_card(hybrid_weights / f"{HYBRID_ID}.json").model_dump(mode="json")


@pytest.mark.parametrize("change, reason", [
    (lambda c: c.pop("exemplar_bank"), "needs an exemplar_bank"),
    (lambda c: c["style_presets"][0].update(code=[0.5] * 5), "has 5 numbers, the style has 6"),
    (lambda c: c["exemplar_bank"]["segments"].update(volcano=3), "not in the label set: volcano"),
    (lambda c: c.update(input_kind="sketch", label_set=None), "paints label maps"),
])
def test_card_schema_checks_hybrid_fields(hybrid_weights, change, reason):
    card = hybrid_card(hybrid_weights)
    change(card)
    with pytest.raises(ValidationError, match=reason):
        ModelCard.model_validate(card)


def test_only_a_hybrid_card_has_an_exemplar_bank(hybrid_weights, tiny_weights):
    spade = load_card(tiny_weights / f"{SPADE_ID}.json").model_dump(mode="json")
    spade["exemplar_bank"] = hybrid_card(hybrid_weights)["exemplar_bank"]
    with pytest.raises(ValidationError, match="only a hybrid model"):
        ModelCard.model_validate(spade)


def test_card_names_the_bank_it_ships(hybrid_weights):
    bank = load_card(hybrid_weights / f"{HYBRID_ID}.json").exemplar_bank
    assert isinstance(bank, ExemplarBankFile) and bank.style_dim == 6 and bank.photos > 0
    assert bank.sha256 == file_sha256(hybrid_weights / bank.file)
    assert set(bank.segments) <= {c.name for c in LANDSCAPE.classes} and sum(bank.segments.values()) > 0


# ---------- listing and default ----------

def test_models_lists_the_hybrid_with_its_presets(client):
    listing = client.get("/models").json()
    assert listing["default_model"] == SPADE_ID, "SPADE stays the default until the hybrid measures better"
    hybrid = next(m for m in listing["models"] if m["id"] == HYBRID_ID)
    assert (hybrid["state"], hybrid["kind"], hybrid["input_kind"], hybrid["size"]) == ("ready", "hybrid", "labels", 64)
    assert hybrid["style_dim"] == 6 and hybrid["z_dim"] is None
    assert hybrid["label_set"]["name"] == LANDSCAPE.name and hybrid["latency_ms"] > 0
    presets = {p["id"]: p for p in hybrid["style_presets"]}
    assert list(presets) == list(HYBRID_PRESETS)
    assert presets["grey"]["thumbnail_url"] is None, "its thumbnail file is missing"
    thumbnail = client.get(presets["golden"]["thumbnail_url"])
    assert thumbnail.status_code == 200 and decode(thumbnail.content).size == (16, 16)
    spade = next(m for m in listing["models"] if m["id"] == SPADE_ID)
    assert spade["style_dim"] == spade["z_dim"]


def test_hybrid_comes_after_spade_as_the_default(hybrid_weights):
    engine = InferenceEngine.load(hybrid_weights, intra_op_threads=1, max_concurrent_runs=1)
    assert engine.default_translator().id == SPADE_ID
    del engine.models[SPADE_ID]
    assert engine.default_translator().id == HYBRID_ID


# ---------- /translate ----------

def test_index_and_colour_label_maps_paint_the_same_picture(client):
    by_index = translate(client, seed="3")
    by_colour = translate(client, encode(Image.fromarray(colourise(PAINTING, LANDSCAPE))), seed="3")
    assert by_index == by_colour
    assert decode(by_index).size == (64, 48), "the input's aspect ratio, longer side the model's size"


def test_same_seed_same_bytes_other_seed_other_picture(client):
    first = translate(client, seed="11")
    assert translate(client, seed="11") == first
    assert translate(client, seed="12") != first


def test_a_seed_picks_the_bank_photo_the_page_picks(hybrid_weights):
    # The page draws the same way (frontend/js/seeded.js): photo floor(u * photos), u the seed's first uniform.
    bank = ExemplarBank.load(hybrid_weights / f"{HYBRID_ID}-bank.npz")
    picked = {int(uniforms(seed, 1)[0] * bank.num_photos) for seed in range(20)}
    assert len(picked) > 1
    for seed in (0, 3, 2**64 - 1):
        index = int(uniforms(seed, 1)[0] * bank.num_photos)
        assert np.array_equal(bank.random_style(seed), bank.photo_style(index))


def test_no_style_option_uses_the_first_preset(client):
    assert translate(client) == translate(client, style_id="golden")


def test_presets_and_style_codes_change_the_picture(client):
    golden, grey = translate(client, style_id="golden"), translate(client, style_id="grey")
    assert golden != grey
    assert translate(client, style_code=json.dumps(HYBRID_PRESETS["grey"])) == grey


def test_style_image_matches_its_style_code(client):
    style_photo = photo_png(seed=4)
    answer = client.post("/style-code", data={"model": HYBRID_ID},
                         files={"image": ("s.png", style_photo, "image/png")})
    assert answer.status_code == 200, answer.text
    code = answer.json()["code"]
    assert answer.json()["model"] == HYBRID_ID and len(code) == 6 and all(0 <= v <= 1 for v in code)
    by_image = translate(client, files={"style": ("s.png", style_photo, "image/png")})
    assert by_image == translate(client, style_code=json.dumps(code))


def test_filter_applies_to_the_hybrid(client):
    filtered = translate(client, seed="2", filter=CYCLEGAN_ID)
    assert filtered != translate(client, seed="2")
    assert decode(filtered).size == (64, 48)


@pytest.mark.parametrize("fields, status, reason", [
    ({"style_code": json.dumps([0.5] * 5)}, 422, "needs 6 numbers"),
    ({"style_code": json.dumps([0.5] * 8)}, 422, "needs 6 numbers"),
    ({"style_code": json.dumps([0.5, 0.5, 0.5, 0.1, 0.1, 1.5])}, 422, "within [0, 1]"),
    ({"style_code": json.dumps([-0.1, 0.5, 0.5, 0.1, 0.1, 0.1])}, 422, "within [0, 1]"),
    ({"style_code": "[0.5, 0.5, NaN, 0.1, 0.1, 0.1]"}, 422, "finite"),
    ({"style_code": "[0.5, 0.5, Infinity, 0.1, 0.1, 0.1]"}, 422, "finite"),
    ({"style_code": '["red", 0.5, 0.5, 0.1, 0.1, 0.1]'}, 422, "list of numbers"),
    ({"style_id": "sunny"}, 404, "unknown style 'sunny'"),
    ({"style_id": "golden", "seed": "1"}, 422, "at most one"),
    ({"seed": "-1"}, 422, "seed"),
])
def test_bad_style_options_are_4xx(client, fields, status, reason):
    assert reason in json.dumps(rejected(client, status, **fields))


def test_label_ids_outside_the_set_are_422(client):
    response = client.post("/translate", data={"model": HYBRID_ID},
                           files={"image": ("labels.png", label_png(np.full((8, 8), 40)), "image/png")})
    assert response.status_code == 422 and "not in label set" in response.json()["detail"]


# ---------- /ws ----------

def test_ws_frames_with_the_hybrid_match_http(client):
    http = translate(client, seed="5")
    with client.websocket_connect("/ws") as ws:
        ws.send_text(json.dumps({"type": "config", "model": HYBRID_ID, "seed": 5}))
        assert ws.receive_json() == {"type": "config", "ok": True, "model": HYBRID_ID,
                                     "paints_with_style_photo": False}
        for frame in (1, 2):
            ws.send_bytes(PAINTING_PNG)
            png = ws.receive_bytes()
            result = ws.receive_json()
            assert png == http
            assert result["type"] == "result" and result["frame"] == frame and 0 < result["model_ms"]
        ws.send_text(json.dumps({"type": "config", "model": HYBRID_ID, "style_code": [0.5] * 5}))
        error = ws.receive_json()
        assert error["type"] == "error" and error["status"] == 422 and "needs 6 numbers" in error["message"]
        ws.send_text(json.dumps({"type": "config", "model": HYBRID_ID, "style_id": "grey"}))
        assert ws.receive_json()["ok"]
        ws.send_bytes(PAINTING_PNG)
        assert ws.receive_bytes() == translate(client, style_id="grey")


# ---------- offline rendering (evaluation) ----------

def test_render_labels_is_seeded_for_every_label_model(hybrid_weights):
    engine = InferenceEngine.load(hybrid_weights, intra_op_threads=1, max_concurrent_runs=1)
    labels = stripes(64, 64, [0, 6, 3])
    for model_id in (HYBRID_ID, SPADE_ID):
        model = engine.models[model_id]
        picture = render_labels(engine, model, labels, seed=1)
        assert picture.shape == (64, 64, 3) and picture.dtype == np.uint8
        assert np.array_equal(render_labels(engine, model, labels, seed=1), picture)
        assert not np.array_equal(render_labels(engine, model, labels, seed=2), picture)
    with pytest.raises(ValueError, match="runs at 64x64"):
        render_labels(engine, engine.models[HYBRID_ID], stripes(32, 32, [0, 3]), seed=1)


@pytest.mark.timeout(120)
def test_benchmark_times_the_hybrid_stages_against_their_budgets(hybrid_weights, capsys):
    report = run_benchmark(hybrid_weights, runs=2, compare_torch=False)
    stages = report["hybrid"][HYBRID_ID]
    assert set(stages) == set(HYBRID_BUDGETS_MS) == {"compose", "refiner", "live_frame"}
    assert all(row["p50_ms"] > 0 for row in stages.values())
    print_table(report)
    printed = capsys.readouterr().out
    assert f"{HYBRID_ID} compose" in printed and "budget p50 <= 30 ms" in printed


# ---------- a broken bank fails only the hybrid ----------

@pytest.fixture
def weights(hybrid_weights, tmp_path) -> Path:
    copy = tmp_path / "weights"
    shutil.copytree(hybrid_weights, copy)
    return copy


def bank_path(weights: Path) -> Path:
    return weights / load_card(weights / f"{HYBRID_ID}.json").exemplar_bank.file


def replace_bank(weights: Path, data: bytes) -> None:
    """Write other bytes as the bank and update the card's sha256, so the loader itself must notice."""
    bank_path(weights).write_bytes(data)
    card_path = weights / f"{HYBRID_ID}.json"
    card = json.loads(card_path.read_text())
    card["exemplar_bank"]["sha256"] = file_sha256(bank_path(weights))
    card_path.write_text(json.dumps(card))


def not_an_npz(weights: Path) -> None:
    replace_bank(weights, b"PK\x03\x04 not really a zip archive")


def an_npz_without_segments(weights: Path) -> None:
    scratch = weights / "scratch.npz"
    np.savez(scratch, photo_size=np.zeros((1, 2), np.int32))
    replace_bank(weights, scratch.read_bytes())


def other_photo_count(weights: Path) -> None:
    card_path = weights / f"{HYBRID_ID}.json"
    card = json.loads(card_path.read_text())
    card["exemplar_bank"]["photos"] += 1
    card_path.write_text(json.dumps(card))


@pytest.mark.parametrize("damage, reason", [
    (lambda w: bank_path(w).unlink(), "is missing"),
    (lambda w: bank_path(w).write_bytes(bank_path(w).read_bytes()[:500]), "sha256"),
    (not_an_npz, "cannot be loaded"),
    (an_npz_without_segments, "lacks"),
    (other_photo_count, "photos, the card says"),
])
def test_a_broken_bank_fails_only_the_hybrid(weights, damage, reason):
    damage(weights)
    with make_client(weights) as client:
        ready = client.get("/readyz").json()["models"]
        assert ready[HYBRID_ID]["state"] == "failed" and reason in ready[HYBRID_ID]["error"]
        assert {state["state"] for model_id, state in ready.items() if model_id != HYBRID_ID} == {"ready"}
        listed = next(m for m in client.get("/models").json()["models"] if m["id"] == HYBRID_ID)
        assert listed["state"] == "failed" and reason in listed["error"]
        failed = client.post("/translate", data={"model": HYBRID_ID},
                             files={"image": ("labels.png", PAINTING_PNG, "image/png")})
        assert failed.status_code == 503 and reason in failed.json()["detail"]
        served = client.post("/translate", data={"model": SPADE_ID},
                             files={"image": ("labels.png", PAINTING_PNG, "image/png")})
        assert served.status_code == 200
