"""The patch-synthesis landscape renderer (backend/landscape.py) on the tiny fixture bank: retrieval, what
the synthesis guarantees, warm starts, the card, /translate and progressive frames on /ws."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from backend.cards import load_card
from backend.engine import InferenceEngine, num_classes
from backend.landscape import (INDEX_ARRAYS, USER_PHOTO, LandscapeRenderer, RenderState, StylePhoto, Weather,
                               class_scale, layout_descriptor, photo_layout_distance, retrieve)
from tests.helpers import decode, label_png, make_client, stripes
from tests.helpers.tiny_models import HYBRID_ID, LANDSCAPE_ID, SPADE_ID

SKY, TREE, GRASS, WATER, OBJECT = 0, 1, 3, 4, 7


def painting(size: int = 64) -> np.ndarray:
    labels = stripes(size, size, [SKY, TREE, GRASS])
    labels[size * 3 // 4:, size // 4:size * 3 // 4] = WATER
    return labels


@pytest.fixture(scope="module")
def engine(landscape_weights: Path) -> InferenceEngine:
    return InferenceEngine.load(landscape_weights, intra_op_threads=2, max_concurrent_runs=1)


@pytest.fixture(scope="module")
def renderer(engine: InferenceEngine) -> LandscapeRenderer:
    model = engine.get(LANDSCAPE_ID)
    assert model.ready and model.landscape is not None and model.session is None
    return model.landscape


def style_of(renderer: LandscapeRenderer, seed: int) -> np.ndarray:
    return renderer.bank.random_style(seed)


def test_card_has_no_graph_and_stores_the_bank_index(landscape_weights: Path, renderer: LandscapeRenderer):
    card = load_card(landscape_weights / f"{LANDSCAPE_ID}.json")
    assert card.graphless and card.onnx is None and card.server_only
    assert set(INDEX_ARRAYS) <= set(renderer.bank.arrays)
    # The hybrid card sharing the bank still loads: its hash was updated with the bank.
    hybrid = load_card(landscape_weights / f"{HYBRID_ID}.json")
    assert hybrid.exemplar_bank.sha256 == card.exemplar_bank.sha256


def test_retrieval_is_deterministic_per_seed_and_covers_every_painted_class(renderer: LandscapeRenderer):
    labels = painting()
    picks = {seed: retrieve(renderer.index, renderer.bank, labels, style_of(renderer, seed), seed, renderer.settings)
             for seed in range(6)}
    for seed, chosen in picks.items():
        assert chosen == retrieve(renderer.index, renderer.bank, labels, style_of(renderer, seed), seed,
                                  renderer.settings)
        shares = renderer.index.class_shares[chosen].max(0)
        assert all(shares[cls] > 0 for cls in (SKY, TREE, GRASS, WATER)), (seed, chosen)
    assert len({chosen[0] for chosen in picks.values()}) > 1, "seeds should reach more than one main exemplar"


def test_a_live_painter_keeps_its_main_exemplar_through_a_near_tie(renderer: LandscapeRenderer):
    labels, style = painting(), style_of(renderer, 1)
    ranked = [retrieve(renderer.index, renderer.bank, labels, style, seed, renderer.settings)[0] for seed in range(8)]
    other = next(main for main in ranked if main != ranked[0])
    kept = retrieve(renderer.index, renderer.bank, labels, style, 0, renderer.settings, keep=(other,))
    assert kept[0] == other


def test_every_pixel_is_copied_from_a_source_pixel_of_its_own_class(renderer: LandscapeRenderer):
    labels = painting()
    state = RenderState()
    frames = list(renderer.frames(labels, style_of(renderer, 2), 2, state))
    assert [f.level for f in frames] == [1, 2, 3] and all(f.levels == 3 for f in frames)
    assert frames[-1].rgb.shape == (64, 64, 3) and frames[-1].rgb.dtype == np.uint8
    nnf = state.levels[-1].nnf
    assert (nnf[..., 0] >= 0).all(), "a pixel was left without a match"
    sources = renderer._sources(list(state.key[0]), None, state.key[1][0], [], 64, np.isin(np.arange(renderer.num_classes), np.unique(labels)), 1.0)
    matched = sources.labels[nnf[..., 0], nnf[..., 1], nnf[..., 2]]
    assert (matched == labels).all(), "texture crossed into another class"


def test_unpainted_pixels_take_the_nearest_painted_class_not_black(renderer: LandscapeRenderer):
    labels = painting()
    unknown = labels.copy()
    unknown[26:36, 10:20] = 255  # a dataset's "unknown", inside the band of trees
    state = RenderState()
    picture = list(renderer.frames(unknown, style_of(renderer, 2), 2, state))[-1].rgb
    assert (state.labels[26:36, 10:20] == TREE).all()
    assert picture[26:36, 10:20].mean() > 10, "an unpainted hole came out black"


def test_each_class_is_copied_from_one_exemplar(renderer: LandscapeRenderer):
    labels = painting()
    painted = np.isin(np.arange(renderer.num_classes), np.unique(labels))
    for seed in range(6):
        chosen = retrieve(renderer.index, renderer.bank, labels, style_of(renderer, seed), seed, renderer.settings)
        sources = renderer._sources(chosen, None, Weather(), [], 32, painted, 1.0)
        for cls in np.flatnonzero(painted):
            holders = {int(n) for n in np.flatnonzero((sources.centres == cls).any(axis=(1, 2)))}
            assert holders == {int(sources.class_home[cls])}, (seed, cls, holders)


def test_a_class_painted_large_is_not_matched_by_a_distant_strip_of_it():
    strip, block = np.full((60, 60), SKY, np.uint8), np.full((60, 60), SKY, np.uint8)
    strip[30:34] = TREE  # a distant tree line: 4 rows across the frame
    block[10:50, 10:50] = TREE  # a tree in front
    scales = class_scale(np.stack([layout_descriptor(strip, 8), layout_descriptor(block, 8)]), 8)
    assert scales[0, TREE] < 0.5 and scales[1, TREE] == 1.0


def three_class_scene(labels: np.ndarray, shares: np.ndarray, styles: np.ndarray):
    """A stand-in scene index and bank for `retrieve` over three classes: each photo's (trusted) class shares
    and colour statistics as given, every photo detailed and trusted, photo 0 the nearest to the painting's
    layout (the main exemplar with `top_k` 1)."""
    from types import SimpleNamespace

    photos = len(shares)
    index = SimpleNamespace(num_classes=3, layouts=np.stack([layout_descriptor(labels, 3)] * photos),
                            weather_classes=(), snow_class=None, trusted=np.ones(photos, bool),
                            snow_only=np.zeros(photos, bool), trusted_shares=shares,
                            trusted_scales=np.where(shares > 0, 1.0, 0.0), detailed=lambda bank, i: True)
    index.layouts[1:] += 1.0
    return index, SimpleNamespace(photo_styles=styles)


def test_the_largest_painted_class_the_main_exemplar_lacks_gets_the_first_extra():
    """With one extra allowed and two painted classes the main exemplar lacks, the extra serves the larger
    (a snowfield left to its `counts_as` for want of an extra had turned a winter scene brown)."""
    from dataclasses import replace

    from backend.landscape import SynthesisSettings

    labels = np.zeros((60, 60), np.uint8)
    labels[24:30], labels[30:] = 1, 2  # class 1: a tenth of the painting; class 2: half
    shares = np.array([[1.0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5]], np.float32)  # photo 0 has only sky
    index, bank = three_class_scene(labels, shares, np.zeros((3, 6), np.float32))
    settings = replace(SynthesisSettings(), top_k=1, max_extras=1)
    assert retrieve(index, bank, labels, np.zeros(6, np.float32), 0, settings) == [0, 2]


def test_a_class_the_main_exemplar_lacks_altogether_gets_an_extra_before_a_larger_one_it_has_too_little_of():
    """One extra allowed: it goes to the class the main exemplar has none of, though smaller, not to the
    class the main has a little of and can still paint (a cloud stroke that made the clouds outgrow the
    mountains had given the mountains' extra to the clouds and repainted the whole scene)."""
    from dataclasses import replace

    from backend.landscape import SynthesisSettings

    labels = np.zeros((60, 60), np.uint8)
    labels[24:30], labels[30:] = 1, 2  # class 1: a tenth of the painting; class 2: half
    shares = np.array([[0.9, 0, 0.05], [0.5, 0.5, 0], [0.5, 0, 0.5]], np.float32)  # photo 0: a little of 2
    index, bank = three_class_scene(labels, shares, np.zeros((3, 6), np.float32))
    settings = replace(SynthesisSettings(), top_k=1, max_extras=1)
    assert retrieve(index, bank, labels, np.zeros(6, np.float32), 0, settings) == [0, 1]


def test_a_live_painter_keeps_its_extra_exemplar_through_a_near_tie_not_a_clear_loss():
    """A stroke that barely changes how two photos rank for a class the main exemplar lacks keeps the
    painter's previous extra, so the next picture starts from the last one's matches (a snowy painting's
    strokes had swapped an extra and repainted everything from scratch)."""
    from dataclasses import replace

    from backend.landscape import SynthesisSettings

    labels = np.zeros((60, 60), np.uint8)
    labels[30:] = 2
    shares = np.array([[1.0, 0, 0], [0.5, 0, 0.5], [0.5, 0, 0.5], [0.5, 0, 0.5]], np.float32)
    styles = np.zeros((4, 6), np.float32)
    styles[2, 0], styles[3, 0] = 0.05, 1.0  # photo 2 a near tie with photo 1, photo 3 far off in colour
    index, bank = three_class_scene(labels, shares, styles)
    settings = replace(SynthesisSettings(), top_k=1)
    style = np.zeros(6, np.float32)
    assert retrieve(index, bank, labels, style, 0, settings) == [0, 1]
    assert retrieve(index, bank, labels, style, 0, settings, keep=(0, 2)) == [0, 2]
    assert retrieve(index, bank, labels, style, 0, settings, keep=(0, 3)) == [0, 1]


def test_a_wire_across_the_sky_is_found_but_not_a_roof_or_anything_outside_the_sky():
    from backend.landscape import thin_dark_lines

    rng = np.random.default_rng(0)
    rgb = np.clip(rng.normal((120, 170, 230), 4, (60, 80, 3)), 0, 255).astype(np.uint8)
    rgb[20:22] = (40, 40, 45)  # a wire: 2 px across
    rgb[40:60, 10:40] = (60, 50, 50)  # a roof: wide and dark
    rgb[5:7, 60:] = (40, 40, 45)  # another wire, outside the region looked in
    sky = np.ones((60, 80), bool)
    sky[:10, 55:] = False
    lines = thin_dark_lines(rgb, sky, width=5, contrast=0.08)
    assert lines[20:22].all(), "the wire"
    assert not lines[:10, 55:].any() and not lines[44:56, 14:36].any(), "nothing outside the sky, no roof"
    assert lines.sum() < 80 * 4 + 2 * 60, "the wire and its rim, and at most the roof's edge"


def test_a_bank_photo_is_nearest_in_layout_to_a_painting_of_its_own_labels(renderer: LandscapeRenderer):
    for photo in (0, renderer.bank.num_photos // 2):
        labels = renderer.bank.photo(photo, keep=False)[1]
        shares = renderer.index.class_shares[photo]
        distance = photo_layout_distance(renderer.index, layout_descriptor(labels, renderer.num_classes), shares)
        assert distance[photo] == pytest.approx(distance.min(), abs=1e-6)


def test_the_same_request_paints_the_same_picture(renderer: LandscapeRenderer):
    labels, style = painting(), style_of(renderer, 3)
    assert np.array_equal(renderer.render(labels, style, 3), renderer.render(labels, style, 3))
    assert not np.array_equal(renderer.render(labels, style, 3), renderer.render(labels, style_of(renderer, 4), 4))


def test_a_stroke_searches_again_only_around_what_it_changed(renderer: LandscapeRenderer):
    labels, style = painting(), style_of(renderer, 5)
    state = RenderState()
    list(renderer.frames(labels, style, 5, state))
    before = [level.rgb.copy() for level in state.levels]
    key = state.key
    stroke = labels.copy()
    stroke[4:10, 40:50] = TREE  # a small stroke of trees in the sky
    list(renderer.frames(stroke, style, 5, state))
    assert state.key == key, "a small stroke must not swap the exemplars"
    finest_before, finest_after = before[-1], state.levels[-1].rgb
    changed = np.any(finest_before != finest_after, axis=-1)
    assert changed[4:10, 40:50].any()
    far = np.ones_like(changed)
    far[:24, 24:] = False  # the stroke and the neighbourhood a warm start may touch
    assert not changed[far].any(), "a warm start changed pixels far from the stroke"


def test_translate_returns_the_finished_picture(landscape_weights: Path):
    with make_client(landscape_weights) as client:
        response = client.post("/translate", data={"model": LANDSCAPE_ID, "seed": "7"},
                               files={"image": ("labels.png", label_png(painting(96)), "image/png")})
        assert response.status_code == 200, response.text
        assert decode(response.content).size == (64, 64)
        models = {m["id"]: m for m in client.get("/models").json()["models"]}
        assert models[LANDSCAPE_ID]["state"] == "ready" and models[LANDSCAPE_ID]["kind"] == "hybrid"


def test_a_renderer_with_a_larger_picture_size_paints_the_drawing_at_it(landscape_weights: Path, tmp_path: Path):
    """The shipped renderer reads 256-px drawings and paints 320-px pictures, so that its exemplars are copied at
    their own resolution: here 64 and 80."""
    import shutil

    from model_training.landscape_card import write_landscape_card

    weights = tmp_path / "weights"
    shutil.copytree(landscape_weights, weights)
    write_landscape_card(weights / f"{HYBRID_ID}.json", weights / f"{LANDSCAPE_ID}.json", None, "test", picture_size=80)
    with make_client(weights) as client:
        model = {m["id"]: m for m in client.get("/models").json()["models"]}[LANDSCAPE_ID]
        assert (model["size"], model["picture_size"]) == (64, 80)
        wide = np.concatenate([painting(96), painting(96)[:, :48]], 1)  # 144 x 96: shown 3:2
        response = client.post("/translate", data={"model": LANDSCAPE_ID, "seed": "7"},
                               files={"image": ("labels.png", label_png(wide), "image/png")})
        assert response.status_code == 200, response.text
        assert decode(response.content).size == (80, 53)
    renderer = InferenceEngine.load(weights, intra_op_threads=2, max_concurrent_runs=1).get(LANDSCAPE_ID).landscape
    state = RenderState()
    frames = list(renderer.frames(painting(64), style_of(renderer, 2), 2, state))
    assert [f.rgb.shape for f in frames][-1] == (80, 80, 3) and state.labels.shape == (80, 80)
    assert (state.labels == _resized(painting(64), 80)).all()


def _resized(labels: np.ndarray, side: int) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.fromarray(labels).resize((side, side), Image.Resampling.NEAREST))


def test_ws_sends_frames_coarse_to_fine_then_the_result(landscape_weights: Path):
    with make_client(landscape_weights) as client, client.websocket_connect("/ws") as ws:
        ws.send_text(json.dumps({"type": "config", "model": LANDSCAPE_ID, "seed": 1}))
        assert ws.receive_json()["ok"]
        ws.send_bytes(label_png(painting()))
        messages = []
        while not messages or messages[-1]["type"] != "result":
            assert decode(ws.receive_bytes()).size == (64, 64)
            messages.append(ws.receive_json())
        assert [m.get("level") for m in messages] == [1, 2, None]
        assert [m["type"] for m in messages] == ["progress", "progress", "result"]
        assert all(m["frame"] == 1 and m["model_ms"] >= 0 for m in messages)


def test_a_newer_stroke_cancels_the_rest_of_a_progressive_frame(landscape_weights: Path, monkeypatch):
    """The renderer is slowed so the second stroke surely arrives while the first is at its first level."""
    first_level_done = threading.Event()
    original = InferenceEngine.landscape_frames

    def slow_frames(self, *args, **kwargs):
        for frame, ms in original(self, *args, **kwargs):
            yield frame, ms
            first_level_done.set()
            time.sleep(0.3)

    monkeypatch.setattr(InferenceEngine, "landscape_frames", slow_frames)
    with make_client(landscape_weights) as client, client.websocket_connect("/ws") as ws:
        ws.send_text(json.dumps({"type": "config", "model": LANDSCAPE_ID, "seed": 1}))
        assert ws.receive_json()["ok"]
        ws.send_bytes(label_png(painting()))
        ws.receive_bytes()
        first = ws.receive_json()
        assert first == first | {"type": "progress", "frame": 1, "level": 1}
        stroke = painting()
        stroke[:8, :8] = TREE
        ws.send_bytes(label_png(stroke))
        answers = []
        while not answers or answers[-1]["type"] != "result":
            ws.receive_bytes()
            answers.append(ws.receive_json())
        # Frame 1 may finish the level it was computing when the stroke came, never its last level.
        assert all(m["type"] == "progress" and m["level"] < 3 for m in answers if m["frame"] == 1), answers
        assert [m["type"] for m in answers if m["frame"] == 2] == ["progress", "progress", "result"]
        metrics = client.get("/metrics").text
        assert 'outcome="cancelled"' in metrics


def test_level_sides_follow_the_card_size(renderer: LandscapeRenderer, engine: InferenceEngine):
    assert renderer.level_sides == [16, 32, 64]
    assert num_classes(engine.get(LANDSCAPE_ID).card) == 10, "the hybrid's 8 classes, cloud and snow"


def test_the_server_opens_on_the_landscape_renderer_and_the_device_on_a_model_it_runs(landscape_weights: Path):
    with make_client(landscape_weights) as client:
        assert client.get("/models").json()["default_model"] == LANDSCAPE_ID
        manifest = client.get("/device/manifest.json").json()
        assert manifest["default_model"] == SPADE_ID
        assert next(m for m in manifest["models"] if m["id"] == LANDSCAPE_ID)["server_only"]


def test_the_benchmark_times_the_renderer_against_its_budgets(landscape_weights: Path, capsys):
    from backend.benchmark import LANDSCAPE_BUDGETS_MS, print_table, run_benchmark

    report = run_benchmark(landscape_weights, runs=2, compare_torch=False)
    stages = report["landscape"][LANDSCAPE_ID]
    assert set(stages) == set(LANDSCAPE_BUDGETS_MS)
    assert all(row["p50_ms"] > 0 and row["ratio_to_spade"] > 0 for row in stages.values())
    assert report["ws_frame_round_trip"]["model"] == SPADE_ID, "issue 15's overhead goals are SPADE's"
    assert LANDSCAPE_ID not in report["models"], "a model without a graph has no onnxruntime row"
    print_table(report)
    assert f"{LANDSCAPE_ID} stroke_first_frame" in capsys.readouterr().out


def test_a_preset_look_is_followed_more_closely_than_a_random_style(renderer: LandscapeRenderer):
    from backend.hybrid import colour_style

    labels, style = painting(), np.array([0.7, 0.4, 0.2, 0.1, 0.1, 0.1], np.float32)  # a warm, flat look
    as_preset = renderer.render(labels, style, 0, preset=True)
    as_random = renderer.render(labels, style, 0)
    assert np.abs(colour_style(as_preset) - style).sum() < np.abs(colour_style(as_random) - style).sum()


def two_part_photo(top_colour: tuple[int, int, int], seed: int = 0) -> StylePhoto:
    """A painter's photo: a flat sky of `top_colour` over noisy grass, labelled sky and grass."""
    rgb = np.random.default_rng(seed).integers(40, 120, (48, 64, 3)).astype(np.uint8)
    rgb[:24] = top_colour
    labels = np.full((48, 64), GRASS, np.uint8)
    labels[:24] = SKY
    return StylePhoto(rgb=rgb, labels=labels, key=f"two-part-{top_colour}-{seed}")


def test_a_painters_photo_is_the_main_exemplar_and_the_bank_brings_only_what_it_lacks(renderer: LandscapeRenderer):
    photo = two_part_photo((200, 40, 160))
    labels = stripes(64, 64, [SKY, GRASS])
    chosen = retrieve(renderer.index, renderer.bank, labels, style_of(renderer, 0), 0, renderer.settings, photo=photo)
    assert chosen == [USER_PHOTO]
    labels[48:, 16:48] = WATER
    with_water = retrieve(renderer.index, renderer.bank, labels, style_of(renderer, 0), 0, renderer.settings, photo=photo)
    assert with_water[0] == USER_PHOTO and len(with_water) == 2
    assert renderer.index.class_shares[with_water[1], WATER] > 0


def test_a_painted_sky_is_made_of_the_painters_photo(renderer: LandscapeRenderer):
    from backend.hybrid import colour_style

    photo = two_part_photo((200, 40, 160))
    labels = stripes(64, 64, [SKY, GRASS])
    picture = renderer.render(labels, colour_style(photo.rgb), 0, photo=photo)
    sky = picture[labels == SKY].astype(int)
    assert np.abs(sky - [200, 40, 160]).max(1).mean() < 12, "the sky is not the photo's sky"
    green = two_part_photo((30, 200, 60))
    other = renderer.render(labels, colour_style(green.rgb), 0, photo=green)
    assert np.abs(other[labels == SKY].astype(int) - [30, 200, 60]).max(1).mean() < 12


def flat_photo_png(colour: tuple[int, int, int]) -> bytes:
    from PIL import Image

    from tests.helpers import encode
    return encode(Image.new("RGB", (80, 60), colour))


def test_translate_and_ws_paint_with_an_uploaded_photos_textures(landscape_weights: Path):
    """The tiny segmenter labels a flat photo with one class; painting that class everywhere must give back
    the photo's colour, over HTTP (`style` file) and over the socket (`style_image`, base64)."""
    import base64

    with make_client(landscape_weights) as client:
        models = {m["id"]: m for m in client.get("/models").json()["models"]}
        assert models[LANDSCAPE_ID]["paints_with_style_photo"] and not models[SPADE_ID]["paints_with_style_photo"]
        for colour in [(220, 60, 30), (30, 90, 220), (240, 240, 40), (20, 20, 20)]:
            labels = np.asarray(decode(client.post("/segment", files={"image": ("p.png", flat_photo_png(colour),
                                                                                  "image/png")}).content))
            if len(np.unique(labels)) == 1 and labels.flat[0] != 7:  # one stuff class (not a pasted object)
                break
        else:
            pytest.fail("the tiny segmenter labelled no flat photo with one stuff class")
        painted = np.full((64, 64), labels.flat[0], np.uint8)
        response = client.post("/translate", data={"model": LANDSCAPE_ID},
                               files={"image": ("labels.png", label_png(painted), "image/png"),
                                      "style": ("photo.png", flat_photo_png(colour), "image/png")})
        assert response.status_code == 200, response.text
        assert np.abs(np.asarray(decode(response.content).convert("RGB"), int) - colour).max() <= 3
        with client.websocket_connect("/ws") as ws:
            ws.send_text(json.dumps({"type": "config", "model": LANDSCAPE_ID, "style_image": "not base64!"}))
            error = ws.receive_json()
            assert error["type"] == "error" and error["status"] == 422 and "style_image" in error["message"]
            ws.send_text(json.dumps({"type": "config", "model": LANDSCAPE_ID,
                                     "style_image": base64.b64encode(flat_photo_png(colour)).decode()}))
            assert ws.receive_json() == {"type": "config", "ok": True, "model": LANDSCAPE_ID,
                                         "paints_with_style_photo": True}
            ws.send_bytes(label_png(painted))
            while True:
                picture = ws.receive_bytes()
                if ws.receive_json()["type"] == "result":
                    break
        assert np.abs(np.asarray(decode(picture).convert("RGB"), int) - colour).max() <= 3


CLOUD, SNOW = 8, 9


def test_the_card_adds_cloud_and_snow_that_count_as_sky_and_grass(engine: InferenceEngine):
    classes = {c.name: c for c in engine.get(LANDSCAPE_ID).card.label_set.classes}
    assert (classes["cloud"].id, classes["snow"].id) == (CLOUD, SNOW)
    assert classes["cloud"].counts_as == SKY and classes["snow"].counts_as == GRASS
    assert len(engine.get(HYBRID_ID).card.label_set.classes) == 8, "the hybrid sharing the bank keeps its 8"


def sky_over_grass(snow: tuple[slice, slice], cloud: bool) -> StylePhoto:
    """A painter's photo: a blue sky (with a grey-white cloud) over green grass with a patch of snow."""
    rgb = np.zeros((48, 64, 3), np.uint8)
    rgb[:24] = (60, 110, 200)
    if cloud:
        rgb[4:16, 8:40] = (235, 238, 240)
    rgb[24:] = (50, 140, 40)
    rgb[snow] = (245, 246, 250)
    labels = np.full((48, 64), GRASS, np.uint8)
    labels[:24] = SKY
    return StylePhoto(rgb=rgb, labels=labels, key=f"sky-over-grass-{cloud}-{snow}")


def test_painted_cloud_and_snow_come_from_bright_grey_exemplar_pixels(renderer: LandscapeRenderer):
    """A painter's photo with a grey-white cloud in a blue sky and snow on grass: painted cloud and snow
    take those pixels, the sky the blue and the grass the green."""
    from backend.hybrid import colour_style

    photo = sky_over_grass(snow=(slice(30, 44), slice(30, 60)), cloud=True)
    painted = stripes(64, 64, [SKY, CLOUD, GRASS, SNOW])
    picture = renderer.render(painted, colour_style(photo.rgb), 0, photo=photo).astype(int)
    sources = {SKY: (60, 110, 200), CLOUD: (235, 238, 240), GRASS: (50, 140, 40), SNOW: (245, 246, 250)}
    for cls in sources:
        # The picture's colours are moved toward the photo's look, so each class is compared by its nearest source.
        distance = {other: np.abs(picture[painted == cls].mean(0) - colour).sum() for other, colour in sources.items()}
        assert min(distance, key=distance.get) == cls or {cls, min(distance, key=distance.get)} == {CLOUD, SNOW}, (cls, distance)
    assert picture[painted == CLOUD].mean() > picture[painted == SKY].mean() + 40
    assert picture[painted == SNOW].mean() > picture[painted == GRASS].mean() + 40


def test_painted_snow_takes_a_presets_light_but_not_its_colours(renderer: LandscapeRenderer):
    """Under a preset whose look is green (a lush forest's), the rest of the picture turns green but painted
    snow keeps most of its white: moved all the way, the snow of a painting under Lush came out yellow-green."""
    from dataclasses import replace

    photo = sky_over_grass(snow=(slice(30, 44), slice(4, 60)), cloud=False)
    painted = stripes(64, 64, [SKY, GRASS, SNOW, SNOW])
    lush = np.array([0.25, 0.45, 0.15, 0.1, 0.12, 0.1], np.float32)  # means then stds of R, G, B

    def snow_and_sky(share: float) -> tuple[np.ndarray, np.ndarray]:
        painter = LandscapeRenderer(renderer.bank, renderer.num_classes, renderer.size,
                                    replace(renderer.settings, snow_style_share=share),
                                    cloud_snow=renderer.cloud_snow, counts_as=renderer.counts_as)
        picture = painter.render(painted, lush, 0, preset=True, photo=photo).astype(float)
        return picture[painted == SNOW].mean(0), picture[painted == SKY].mean(0)

    (snow, sky), (snow_moved_fully, sky_then) = snow_and_sky(renderer.settings.snow_style_share), snow_and_sky(1.0)
    assert np.allclose(sky, sky_then), "only the snow's move is weaker"
    white = np.array([245, 246, 250])
    assert np.abs(snow - white).sum() < 0.6 * np.abs(snow_moved_fully - white).sum(), (snow, snow_moved_fully)


def test_a_class_no_exemplar_has_is_painted_as_the_class_it_counts_as(renderer: LandscapeRenderer):
    labels = stripes(64, 64, [SKY, CLOUD, GRASS])
    without_clouds = renderer.index.class_shares[:, CLOUD] == 0
    assert without_clouds.all(), "the fixture bank has no bright grey sky (else this test needs another bank)"
    chosen = retrieve(renderer.index, renderer.bank, labels, style_of(renderer, 0), 0, renderer.settings)
    assert (renderer._painted_as_available(labels.copy(), chosen, None) == np.where(labels == CLOUD, SKY, labels)).all()
    picture = renderer.render(labels, style_of(renderer, 0), 0)
    assert picture[labels == CLOUD].mean() > 0, "cloud with no exemplar must still be painted (as sky)"


def test_a_pasted_objects_edge_is_blended_with_the_stuff_beside_it():
    from backend.landscape import _feathered

    rgb = np.zeros((12, 12, 3), np.float32)
    pasted = np.zeros((12, 12), bool)
    pasted[3:9, 3:9] = True
    rgb[pasted] = 1.0
    out = _feathered(rgb, pasted)
    assert (out[4:8, 4:8] == 1.0).all() and (out[~pasted] == 0.0).all()
    ring = pasted.copy()
    ring[4:8, 4:8] = False
    assert np.allclose(out[ring], 0.5)


def test_a_painting_without_clouds_paints_its_sky_from_cloudy_sky_too(renderer: LandscapeRenderer):
    """Stanford labels clouds as sky: unless cloud is painted, an overcast exemplar's sky is sky."""
    from backend.hybrid import colour_style

    overcast = two_part_photo((232, 236, 240))
    labels = stripes(64, 64, [SKY, GRASS])
    assert retrieve(renderer.index, renderer.bank, labels, colour_style(overcast.rgb), 0, renderer.settings,
                    photo=overcast) == [USER_PHOTO]
    picture = renderer.render(labels, colour_style(overcast.rgb), 0, photo=overcast)
    assert np.abs(picture[labels == SKY].astype(int) - (232, 236, 240)).max(1).mean() < 12


def test_a_picture_shown_wider_than_tall_is_copied_from_exemplars_stretched_against_it(renderer: LandscapeRenderer):
    # /translate shows a 4:3 upload's square picture squashed to 4:3: exemplars stretched 4/3 in height
    # come out in their own proportions.
    labels = painting()
    painted = np.isin(np.arange(renderer.num_classes), np.unique(labels))
    state = RenderState()
    list(renderer.frames(labels, style_of(renderer, 2), 2, state, aspect=4 / 3))
    chosen = list(state.key[0])
    square = renderer._sources(chosen, None, Weather(), [], 64, painted, 1.0)
    wide = renderer._sources(chosen, None, Weather(), [], 64, painted, round(4 / 3, 3))
    assert np.array_equal(wide.shape[:, 1], square.shape[:, 1])
    assert np.abs(wide.shape[:, 0] - square.shape[:, 0] * 4 / 3).max() <= 1
    tall = renderer._sources(chosen, None, Weather(), [], 64, painted, 0.75)
    assert np.array_equal(tall.shape[:, 0], square.shape[:, 0]) and (tall.shape[:, 1] > square.shape[:, 1]).all()


def test_a_sliver_of_a_picture_stretches_the_exemplars_only_so_far(renderer: LandscapeRenderer):
    labels = painting()
    state = RenderState()
    frames = list(renderer.frames(labels, style_of(renderer, 2), 2, state, aspect=1 / 4000))
    assert frames[-1].rgb.shape == (64, 64, 3)
    assert state.key[1][-1] == 0.25  # the aspect is held at 1 : 4


def test_the_stuff_around_a_painted_object_is_read_from_a_ring_beside_it():
    from backend.hybrid import Region
    from backend.landscape import surrounding_classes

    labels = np.full((40, 40), GRASS, np.uint8)
    labels[:10] = SKY
    labels[20:28, 16:24] = OBJECT
    around = surrounding_classes(labels, Region(OBJECT, (20, 16, 28, 24), np.ones((8, 8), bool)), 8)
    assert around[GRASS] == pytest.approx(1.0) and around[OBJECT] == 0  # a cow in a field: all grass
    near_sky = labels.copy()
    near_sky[:19] = SKY
    around = surrounding_classes(near_sky, Region(OBJECT, (20, 16, 28, 24), np.ones((8, 8), bool)), 8)
    assert around.sum() == pytest.approx(1.0) and 0 < around[SKY] < around[GRASS]


def test_an_object_is_placed_whole_in_its_own_proportions_standing_where_the_region_stands():
    from backend.landscape import placed_box

    # A segment twice as wide as tall, for a region 20 x 40 on a square canvas shown square: it fills the box.
    assert placed_box((30, 10, 50, 50), np.array([0, 0, 10, 20]), (64, 64), 1.0) == (30, 10, 50, 50)
    # Shown at 4 : 3 the canvas is squashed in height when shown, so the object is drawn 4/3 taller on it.
    y0, x0, y1, x1 = placed_box((30, 10, 50, 50), np.array([0, 0, 10, 20]), (64, 64), 4 / 3)
    assert (y1 - y0) / (x1 - x0) == pytest.approx(0.5 * 4 / 3, abs=0.03) and y1 == 50
    # A tall segment for a wide region: scaled to the region's area, but at most 1.25 x its height, standing
    # on its bottom and centred across it.
    y0, x0, y1, x1 = placed_box((40, 2, 50, 62), np.array([0, 0, 40, 10]), (64, 64), 1.0)
    assert (y1, y1 - y0) == (50, 12) and abs((x0 + x1) / 2 - 32) <= 1
    # A region the frame cuts at the left holds the object's edge there, not in the middle of nowhere.
    y0, x0, y1, x1 = placed_box((20, 0, 40, 30), np.array([0, 0, 10, 10]), (64, 64), 1.0)
    assert x0 == 0 and y1 == 40


def test_an_object_fits_whole_where_its_outline_matches_the_region():
    from backend.hybrid import Region, SHAPE_GRID
    from backend.landscape import whole_fit

    class Segments:  # the two fields whole_fit reads of a bank
        seg_box = np.array([[0, 0, 16, 16], [0, 0, 16, 16]])
        seg_shape = np.zeros((2, SHAPE_GRID * SHAPE_GRID), np.uint8)

    Segments.seg_shape[0] = 255  # a square
    Segments.seg_shape[1].reshape(SHAPE_GRID, SHAPE_GRID)[:, :4] = 255  # a post along the square's left side
    region = Region(OBJECT, (10, 10, 30, 30), np.ones((20, 20), bool))
    assert whole_fit(Segments, 0, region, (64, 64), 1.0) == pytest.approx(1.0)
    assert whole_fit(Segments, 1, region, (64, 64), 1.0) == pytest.approx(0.25, abs=0.03)


def test_a_pasted_object_takes_the_main_exemplars_light_by_its_photos_transform():
    from backend.landscape import _colour_moved, _moved_toward

    source = np.array([0.3, 0.4, 0.5, 0.1, 0.1, 0.1], np.float32)
    target = np.array([0.6, 0.5, 0.4, 0.2, 0.1, 0.05], np.float32)
    scale, offset = _moved_toward(source, target, 1.0)
    rng = np.random.default_rng(0)
    photo = np.clip(source[:3] + source[3:] * rng.standard_normal((4000, 3)), 0, 1).astype(np.float32)
    moved = photo * scale + offset
    assert np.allclose(moved.mean(0), target[:3], atol=0.02) and np.allclose(moved.std(0), target[3:], atol=0.02)
    # the same map as moving the whole photo (a red car keeps its red relative to its scene)
    assert np.allclose(_colour_moved(photo, colour_of(photo), 0.5), photo, atol=1e-3)
    half = _moved_toward(source, target, 0.5)
    assert np.allclose(half[0], (0.5 * source[3:] + 0.5 * target[3:]) / (source[3:] + 1e-4), atol=1e-4)


def colour_of(rgb: np.ndarray) -> np.ndarray:
    pixels = rgb.reshape(-1, 3)
    return np.concatenate([pixels.mean(0), pixels.std(0)])


def test_two_painted_objects_take_two_objects_not_one_twice(renderer: LandscapeRenderer, monkeypatch):
    from dataclasses import replace

    import backend.landscape as landscape

    # The fixture bank has no objects: its buildings stand in for them, every photo taken as human-labelled.
    building = 5
    things = LandscapeRenderer(renderer.bank, renderer.num_classes, renderer.size,
                               replace(renderer.settings, thing_classes=(building,)))
    things.index.human_labelled[:] = True
    labels = stripes(64, 64, [SKY, GRASS])
    labels[36:52, 6:22] = building
    labels[36:52, 40:56] = building
    pasted = []
    original = landscape.LandscapeRenderer._placed_thing

    def recording(self, segment, *args, **kwargs):
        pasted.append(segment)
        return original(self, segment, *args, **kwargs)

    monkeypatch.setattr(landscape.LandscapeRenderer, "_placed_thing", recording)
    picture = things.render(labels, style_of(renderer, 0), 0)
    assert len(pasted) == 2 and pasted[0] != pasted[1]
    assert picture[labels == building].std() > 0


def test_a_photo_without_a_photos_fine_detail_is_never_an_exemplar(renderer: LandscapeRenderer):
    from scipy import ndimage

    from backend.landscape import SceneIndex, fine_detail

    rng = np.random.default_rng(0)
    sharp = rng.integers(0, 256, (96, 128, 3)).astype(np.uint8)
    smooth = ndimage.gaussian_filter(sharp.astype(np.float32), (3, 3, 0)).astype(np.uint8)  # a long exposure
    assert fine_detail(sharp) > 10 * fine_detail(smooth)
    labels, style = painting(), style_of(renderer, 0)
    usual = retrieve(renderer.index, renderer.bank, labels, style, 0, renderer.settings)
    index = SceneIndex(renderer.bank, renderer.num_classes, renderer.settings.min_label_agreement,
                       min_fine_detail=1.0)
    index._fine_detail = {photo: 2.0 for photo in range(renderer.bank.num_photos)}
    index._fine_detail[usual[0]] = 0.5  # the usual main exemplar, as if it were a blurred one
    chosen = retrieve(index, renderer.bank, labels, style, 0, renderer.settings)
    assert usual[0] not in chosen and len(chosen) >= 1


class _PhotoPairs:
    """What label agreement reads of a bank: its photos with their labels."""

    def __init__(self, pairs: list[tuple[np.ndarray, np.ndarray]]):
        self.pairs, self.num_photos = pairs, len(pairs)

    def photo(self, index: int, keep: bool = True) -> tuple[np.ndarray, np.ndarray]:
        return self.pairs[index]


def test_label_agreement_is_measured_per_class_where_a_segmenter_erred():
    from backend.landscape import label_agreement

    rng = np.random.default_rng(0)
    sky, tree, water = 0, 1, 2

    def scene(lower: tuple[int, int, int], noise: float) -> np.ndarray:
        photo = np.empty((96, 96, 3), np.float32)
        photo[:48] = (110, 160, 230)
        photo[48:] = lower
        photo[48:] += rng.normal(0, noise, (48, 96, 3))
        return np.clip(photo, 0, 255).astype(np.uint8)

    halves = np.zeros((96, 96), np.uint8)
    references = []
    for lower, cls in [((40, 90, 40), tree), ((30, 50, 110), water)] * 6:
        labels = halves.copy()
        labels[48:] = cls
        references.append((scene(lower, 25.0), labels))
    # A segmenter read a clear sky's lower half as trees: its sky is right, its trees are not.
    misread = halves.copy()
    misread[48:] = tree
    right = halves.copy()
    right[48:] = tree
    photos = _PhotoPairs(references + [(scene((110, 160, 230), 0.0), misread), (scene((40, 90, 40), 25.0), right)])
    reference = np.array([True] * len(references) + [False, False])
    overall, per_class = label_agreement(photos, 3, reference)
    assert per_class.shape == (len(references) + 2, 3)
    assert per_class[-2, sky] == 1.0 and per_class[-2, tree] < 0.2 and per_class[-2, water] == 1.0  # none
    assert per_class[-1, tree] == 1.0 and overall[-1] == 1.0
    assert overall[-2] == pytest.approx((per_class[-2, sky] + per_class[-2, tree]) / 2, abs=0.05)


def test_a_class_whose_pixels_disagree_with_its_labels_is_taken_from_another_photo(renderer: LandscapeRenderer):
    from backend.hybrid import ExemplarBank

    labels, style = painting(), style_of(renderer, 0)
    main = retrieve(renderer.index, renderer.bank, labels, style, 0, renderer.settings)[0]
    agreement = renderer.bank.arrays["photo_class_agreement"].copy()
    agreement[main, TREE] = 10  # percent: as if its trees were granite
    bank = ExemplarBank({**renderer.bank.arrays, "photo_class_agreement": agreement})
    distrusting = LandscapeRenderer(bank, renderer.num_classes, renderer.size, renderer.settings,
                                    cloud_snow=renderer.cloud_snow, counts_as=renderer.counts_as)
    index = distrusting.index
    assert not index.class_trusted[main, TREE] and index.trusted_shares[main, TREE] == 0
    assert index.class_trusted[main, SKY] and index.trusted_shares[main, SKY] == index.class_shares[main, SKY]
    painted = np.isin(np.arange(renderer.num_classes), np.unique(labels))
    for seed in range(4):
        chosen = retrieve(index, bank, labels, style_of(renderer, seed), seed, distrusting.settings)
        home = chosen[distrusting._sources(chosen, None, Weather(), [], 32, painted, 1.0).class_home[TREE]]
        assert home != main and index.class_trusted[home, TREE], (seed, chosen)
    # Chosen beside a photo whose trees it can trust, the distrusted photo's trees are copied for nothing.
    sources = distrusting._sources([main, home], None, Weather(), [], 32, painted, 1.0)
    assert not (sources.centres[0] == TREE).any() and (sources.centres[1] == TREE).any()


def test_flat_shares_find_a_burnt_out_road_and_a_mirror_calm_lake_but_not_grass():
    """Flat is below the texture of the roughest JPEG noise: a burnt-out road or a lake as smooth as the sky
    it mirrors is flat even saved at quality 75, grass is not."""
    import io

    from PIL import Image

    from backend.landscape import flat_shares

    rng = np.random.default_rng(0)
    sky, grass, water, road = 0, 1, 2, 3
    labels = np.repeat(np.array([sky, grass, water, road], np.uint8), 64)[:, None].repeat(128, 1)
    photo = np.empty((256, 128, 3), np.float32)
    photo[:64] = np.linspace(170, 220, 64)[:, None, None]  # a sky shading toward the horizon
    photo[64:128] = (70, 130, 50) + rng.normal(0, 20, (64, 128, 1))  # grass blades
    photo[128:192] = np.linspace(220, 170, 64)[:, None, None] * (0.6, 0.7, 0.9)  # the sky, mirrored
    photo[192:] = 255  # a sunlit road, burnt out
    buffer = io.BytesIO()
    Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=75)
    shares = flat_shares(np.asarray(Image.open(buffer)), labels, 5)
    edge = 8 / 64  # the rows beside another class see its edge
    assert shares[sky] >= 1 - edge and shares[water] >= 1 - 2 * edge and shares[road] >= 1 - edge
    assert shares[grass] < 0.05 and shares[4] == 0  # a class the photo lacks


def test_a_mostly_flat_class_is_taken_from_another_photo_but_a_flat_sky_is_kept(renderer: LandscapeRenderer):
    from backend.hybrid import ExemplarBank

    labels, style = painting(), style_of(renderer, 0)
    main = retrieve(renderer.index, renderer.bank, labels, style, 0, renderer.settings)[0]
    flat = renderer.bank.arrays["photo_class_flat"].copy()
    flat[main, TREE], flat[main, SKY] = 90, 95  # percent: as if its trees were in a black shadow
    bank = ExemplarBank({**renderer.bank.arrays, "photo_class_flat": flat})
    index = LandscapeRenderer(bank, renderer.num_classes, renderer.size, renderer.settings,
                              cloud_snow=renderer.cloud_snow, counts_as=renderer.counts_as).index
    assert not index.class_trusted[main, TREE] and index.class_trusted[main, SKY]
    assert renderer.index.class_trusted[main, TREE]
    for seed in range(4):
        chosen = retrieve(index, bank, labels, style_of(renderer, seed), seed, renderer.settings)
        assert any(index.class_trusted[i, TREE] and index.class_shares[i, TREE] > 0 for i in chosen), (seed, chosen)


def test_a_winter_photo_lends_its_snow_only_to_a_painting_with_snow(fixture_data: Path, renderer: LandscapeRenderer,
                                                                      hybrid_weights: Path, tmp_path: Path):
    """A winter photo in the bank (`snow-photos`, then build-bank's snow roots) has no segments and is not a
    random look, never serves a painting without snow (its pictures stay the same), and a painted snowfield is
    copied from its snow. Both cards sharing the bank list the winter photos among their data, once."""
    from PIL import Image

    from backend.hybrid import ExemplarBank
    from model_training.exemplar_bank import BankConfig, build_bank, snow_photo_folder
    from model_training.labelsets import LANDSCAPE

    winter = tmp_path / "winter"
    (winter / "images").mkdir(parents=True)
    (winter / "labels").mkdir()
    rng = np.random.default_rng(0)
    for name, ground in (("snowy", (170, 180, 200)), ("green", (50, 140, 40))):
        rgb = np.zeros((64, 64, 3), np.uint8)
        rgb[:24], rgb[24:] = (70, 120, 210), ground
        rgb = np.clip(rgb + rng.normal(0, 6, rgb.shape), 0, 255).astype(np.uint8)
        labels = np.where(np.arange(64)[:, None] < 24, SKY, WATER).repeat(64, 1).astype(np.uint8)  # snow read as water
        Image.fromarray(rgb).save(winter / "images" / f"{name}.jpg", quality=95)
        Image.fromarray(labels).save(winter / "labels" / f"{name}.png")
    assert snow_photo_folder(winter, tmp_path / "snow", SKY, LANDSCAPE.ignore_id, 0.08) == (1, 2)

    config = BankConfig(max_side=64, min_segment_pixels=20)
    without, with_snow = tmp_path / "without.npz", tmp_path / "with.npz"
    build_bank([fixture_data / "landscape"], without, 8, config)
    build_bank([fixture_data / "landscape"], with_snow, 8, config, snow_roots=[tmp_path / "snow" / "winter-snow"])
    before, after = ExemplarBank.load(without), ExemplarBank.load(with_snow)
    snowy = after.num_photos - 1
    assert after.snow_only.tolist() == [False] * before.num_photos + [True]
    assert (after.arrays["seg_photo"] == before.arrays["seg_photo"]).all(), "the hybrid composes no segment of it"
    assert all((before.random_style(seed) == after.random_style(seed)).all() for seed in range(20))

    def renderer_of(bank: ExemplarBank) -> LandscapeRenderer:
        return LandscapeRenderer(bank, renderer.num_classes, renderer.size, renderer.settings,
                                 cloud_snow=renderer.cloud_snow, counts_as=renderer.counts_as)

    plain, wintry = renderer_of(before), renderer_of(after)
    labels = painting()
    for seed in range(3):
        style = before.random_style(seed)
        assert snowy not in retrieve(wintry.index, after, labels, style, seed, wintry.settings)
        assert (plain.render(labels, style, seed) == wintry.render(labels, style, seed)).all()
    snow_id = renderer.cloud_snow.snow
    with_snowfield = stripes(64, 64, [SKY, GRASS, snow_id, snow_id])
    style = after.photo_styles[snowy]
    chosen = retrieve(wintry.index, after, with_snowfield, style, 0, wintry.settings)
    assert snowy in chosen
    picture = wintry.render(with_snowfield, style, 0).astype(int)
    snow = picture[with_snowfield == snow_id].mean(0)
    assert snow.min() > 140 and snow[2] >= snow[0], f"the painted snow is the photo's pale blue snow, not {snow}"

    import shutil

    from model_training.landscape_card import write_landscape_card

    weights = tmp_path / "weights"
    shutil.copytree(hybrid_weights, weights)
    shutil.copyfile(with_snow, weights / load_card(weights / f"{HYBRID_ID}.json").exemplar_bank.file)
    for _ in range(2):  # written again, the cards do not list the photos twice
        write_landscape_card(weights / f"{HYBRID_ID}.json", weights / f"{LANDSCAPE_ID}.json", None, "test")
    for card in (HYBRID_ID, LANDSCAPE_ID):
        names = [d.name for d in load_card(weights / f"{card}.json").training.data]
        assert sum("winter training photos (1, for snow only" in n for n in names) == 1, (card, names)
        assert len(names) == len(load_card(hybrid_weights / f"{HYBRID_ID}.json").training.data) + 1, names
