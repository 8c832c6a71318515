"""The hybrid renderer's training side on fixtures: bank, composition, refiner training and export."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from backend.cards import load_card
from backend.hybrid import (MIN_REGION_PIXELS, Augmentation, ExemplarBank, Region, ranked_segments, colour_style,
                            compose, connected_regions, frame_cut)
from model_training.config import HybridModelConfig
from model_training.exemplar_bank import BankConfig, build_bank, scaled_pair
from model_training.data.folders import LabelPhotoFolder
from model_training.data.transforms import Geometry
from model_training.labelsets import LANDSCAPE, num_classes
from model_training.models.sims import RefinementNetwork
from tests.helpers.tiny_runs import hybrid_config, tiny_bank

CLASSES = num_classes(LANDSCAPE)


@pytest.fixture(scope="module")
def bank_path(fixture_data, tmp_path_factory):
    return tiny_bank(fixture_data, tmp_path_factory.mktemp("bank") / "bank.npz")


def training_pairs(fixture_data):
    return [scaled_pair(*item, 64) for item in
            LabelPhotoFolder([str(fixture_data / "landscape")], "train", Geometry(64, 64, False)).items]


def style_distances(bank: ExemplarBank, style: np.ndarray) -> np.ndarray:
    return np.linalg.norm(bank.photo_styles - style, axis=1)


def test_bank_holds_each_training_photo_and_its_segments(fixture_data, bank_path):
    bank = ExemplarBank.load(bank_path)
    pairs = training_pairs(fixture_data)
    assert bank.num_photos == len(pairs)
    assert set(bank.segments_per_class()) >= {0, 3, 6}  # sky, grass and mountain are in every fixture
    for segment in range(0, len(bank.seg_class), 7):
        photo, labels = bank.photo(int(bank.seg_photo[segment]))
        y0, x0, y1, x1 = bank.seg_box[segment]
        assert (labels[y0:y1, x0:x1] == bank.seg_class[segment]).sum() >= 20
    photo, _ = bank.photo(0)
    assert photo.shape == pairs[0][0].shape
    assert np.abs(photo.astype(int) - pairs[0][0]).mean() < 6  # JPEG, not another picture
    assert np.allclose(bank.photo_style(0), colour_style(pairs[0][0]), atol=0.02)


def test_a_corrupt_bank_is_refused_with_a_reason(tmp_path, bank_path):
    broken = tmp_path / "broken.npz"
    broken.write_bytes(bank_path.read_bytes()[:1000])
    with pytest.raises(ValueError, match="exemplar bank"):
        ExemplarBank.load(broken)


def test_compose_is_deterministic_per_seed_and_covers_every_painted_pixel(fixture_data, bank_path):
    bank = ExemplarBank.load(bank_path)
    _, labels = training_pairs(fixture_data)[0]
    style = bank.random_style(3)
    first, again = compose(bank, labels, style, 3, CLASSES), compose(bank, labels, style, 3, CLASSES)
    assert np.array_equal(first.rgb, again.rgb) and np.array_equal(first.filled, again.filled)
    others = [compose(bank, labels, bank.random_style(seed), seed, CLASSES).rgb for seed in range(4, 10)]
    assert any(not np.array_equal(first.rgb, other) for other in others)

    painted = labels < CLASSES
    assert first.filled[painted].mean() > 0.9  # real bank pixels, not the nearest-pixel fill
    assert not first.filled[~painted].any()  # the ignore label is never pasted
    assert first.rgb.shape == (*labels.shape, 3) and first.rgb.dtype == np.uint8


def test_retrieval_never_offers_the_photo_being_rebuilt(fixture_data, bank_path):
    bank = ExemplarBank.load(bank_path)
    _, labels = training_pairs(fixture_data)[1]
    offered = [ranked_segments(bank, region, labels.shape, style_distances(bank, bank.photo_style(1)), exclude_photo=1)
               for region in connected_regions(labels, CLASSES, MIN_REGION_PIXELS)]
    assert sum(ranked.size for ranked in offered) > 0
    assert not any((bank.seg_photo[ranked] == 1).any() for ranked in offered)
    canvas = compose(bank, labels, bank.photo_style(1), 0, CLASSES, exclude_photo=1, augment=Augmentation())
    assert canvas.filled.any()


def test_style_pulls_retrieval_towards_photos_of_its_colours(fixture_data, bank_path):
    """A photo's segments rank higher when the style is that photo's colours than when it is far from them."""
    bank = ExemplarBank.load(bank_path)
    _, labels = training_pairs(fixture_data)[0]
    moved = 0
    for target in range(bank.num_photos):
        near = bank.photo_style(target)
        far = np.concatenate([1 - near[:3], near[3:]])
        for region in connected_regions(labels, CLASSES, MIN_REGION_PIXELS):
            ranks = []
            for style in (near, far):
                ranked = ranked_segments(bank, region, labels.shape, style_distances(bank, style), None)
                ranks.append(np.flatnonzero(bank.seg_photo[ranked] == target)[:1])
            if ranks[0].size:
                assert ranks[0][0] <= ranks[1][0]
                moved += int(ranks[0][0] < ranks[1][0])
    assert moved > 0


def test_a_region_inside_the_frame_takes_whole_segments_first_when_asked(bank_path):
    """With a cost for cut sides, a segment its photo cut off loses to a whole one, even from a photo of colours
    further from the style (the fixture's hills run off some photos' edges, not others')."""
    bank = ExemplarBank.load(bank_path)
    frame = (48, 64)
    region = Region(6, (12, 16, 36, 48), np.ones((24, 32), bool))
    assert not frame_cut(np.array(region.box), *frame).any()
    hills = np.flatnonzero(bank.seg_class == 6)
    cut = bank.seg_cut[hills].any(1)
    assert cut.any() and (~cut).any()
    only_cut_hills = np.setdiff1d(bank.seg_photo[hills[cut]], bank.seg_photo[hills[~cut]])
    distances = np.where(np.isin(np.arange(bank.num_photos), only_cut_hills), 0.0, 1.0)
    plain = ranked_segments(bank, region, frame, distances, None)
    whole_first = ranked_segments(bank, region, frame, distances, None, cut_weight=10.0)
    assert sorted(plain) == sorted(whole_first)
    assert bank.seg_cut[plain[0]].any()  # the style alone prefers a cut hill
    assert not bank.seg_cut[whole_first[0]].any()


def test_frame_cut_names_the_sides_a_box_meets():
    cut = frame_cut(np.array([[0, 5, 10, 64], [3, 0, 64, 20], [2, 2, 10, 10]]), 64, 64)
    assert cut.tolist() == [[True, False, False, True], [False, True, True, False], [False, False, False, False]]


def test_the_untrained_refiner_returns_the_canvas():
    network = RefinementNetwork(CLASSES, HybridModelConfig(widths=[4, 8, 8], res_blocks=1)).eval()
    canvas = torch.rand(2, 3, 32, 48) * 2 - 1
    with torch.no_grad():
        out = network(canvas, torch.ones(2, 1, 32, 48), torch.zeros(2, CLASSES, 32, 48))
    assert torch.equal(out, canvas)


def test_hybrid_trains_and_exports_with_its_bank(fixture_data, bank_path, tmp_path):
    from model_training import train_hybrid
    from model_training.export import export

    train_hybrid.train(hybrid_config(fixture_data, tmp_path / "run", bank_path))
    assert len(list((tmp_path / "run" / "canvases").glob("*.npz"))) == ExemplarBank.load(bank_path).num_photos
    assert (tmp_path / "run" / "samples" / "000002.png").exists()

    weights = tmp_path / "weights"
    card = load_card(export(tmp_path / "run", weights))  # export itself checks onnxruntime against torch
    assert card.kind == "hybrid" and card.exemplar_bank.photos == ExemplarBank.load(bank_path).num_photos
    assert (weights / card.exemplar_bank.file).read_bytes() == bank_path.read_bytes()
    assert "MB exemplar bank" in card.server_only and "server only" in card.server_only
    assert card.style_presets[0].code == pytest.approx(
        [round(float(v), 5) for v in card.style_presets[0].code]) and len(card.style_presets[0].code) == 6
    session = ort.InferenceSession(str(weights / card.onnx), providers=["CPUExecutionProvider"])
    image = session.run(["image"], {"labels": np.zeros((1, 1, 64, 96), np.int64),
                                    "canvas": np.zeros((1, 3, 64, 96), np.float32),
                                    "filled": np.ones((1, 1, 64, 96), np.float32)})[0]
    assert image.shape == (1, 3, 64, 96) and np.isfinite(image).all()


def test_training_canvases_need_a_bank_that_starts_with_the_training_photos(fixture_data, tmp_path):
    from model_training.data.canvases import ExemplarCanvases

    roots = [str(fixture_data / "landscape")]
    short = tmp_path / "short.npz"
    build_bank(roots, short, CLASSES, BankConfig(max_side=64, min_segment_pixels=20), limit=2)
    with pytest.raises(ValueError, match="does not start with the training photos"):
        ExemplarCanvases(roots, short, tmp_path / "canvases", 1, 32, CLASSES, 64)
    # Extra roots after the training photos (model.bank_roots) are fine: their segments are only pasted.
    longer = tmp_path / "longer.npz"
    build_bank(roots * 2, longer, CLASSES, BankConfig(max_side=64, min_segment_pixels=20))
    canvases = ExemplarCanvases(roots, longer, tmp_path / "canvases", 1, 32, CLASSES, 64)
    assert len(canvases) == len(training_pairs(fixture_data))


def test_build_bank_command_builds_the_configs_bank_from_its_roots(fixture_data, tmp_path, capsys):
    from model_training.__main__ import main
    from tests.helpers.tiny_runs import write_toml

    bank = tmp_path / "bank.npz"
    config = write_toml(hybrid_config(fixture_data, tmp_path / "run", bank), tmp_path / "hybrid.toml")
    root = str(fixture_data / "landscape")
    main(["build-bank", "--config", str(config), f'model.bank_roots=["{root}"]'])
    assert f"{bank}: sky" in capsys.readouterr().out
    # data.roots, then bank_roots: the fixture photos twice over.
    assert ExemplarBank.load(bank).num_photos == 2 * len(training_pairs(fixture_data))


def test_build_bank_ships_a_rebuilt_bank_into_an_exported_hybrid(fixture_data, hybrid_weights, tmp_path, capsys):
    import shutil

    from backend.cards import load_card
    from backend.engine import InferenceEngine, file_sha256
    from model_training.__main__ import main
    from tests.helpers.tiny_models import HYBRID_ID
    from tests.helpers.tiny_runs import write_toml

    weights = tmp_path / "weights"
    shutil.copytree(hybrid_weights, weights)
    before = load_card(weights / f"{HYBRID_ID}.json")
    config = write_toml(hybrid_config(fixture_data, tmp_path / "run", tmp_path / "bank.npz"), tmp_path / "hybrid.toml")
    root = str(fixture_data / "landscape")
    main(["build-bank", "--config", str(config), "--ship", str(weights), f'model.bank_roots=["{root}"]',
          f"export.id={HYBRID_ID}"])
    assert "shipped into" in capsys.readouterr().out
    card = load_card(weights / f"{HYBRID_ID}.json")
    bank_file = weights / card.exemplar_bank.file
    assert card.exemplar_bank.sha256 == file_sha256(bank_file) != before.exemplar_bank.sha256
    assert card.exemplar_bank.photos == 2 * len(training_pairs(fixture_data))
    assert card.onnx_sha256 == before.onnx_sha256, "the refiner is kept"
    assert InferenceEngine.load(weights, 1, 1).get(HYBRID_ID).ready


def test_a_jpeg_photo_no_larger_than_the_bank_side_is_stored_as_its_own_file(fixture_data, tmp_path):
    # Copied pixels are then the photo's own, never compressed a second time; larger photos are brought down.
    roots = [fixture_data / "landscape"]
    items = LabelPhotoFolder([str(r) for r in roots], "train", Geometry(96, 96, False)).items
    as_is, smaller = tmp_path / "as-is.npz", tmp_path / "smaller.npz"
    build_bank(roots, as_is, CLASSES, BankConfig(max_side=96, min_segment_pixels=20), limit=2)
    build_bank(roots, smaller, CLASSES, BankConfig(max_side=64, min_segment_pixels=20), limit=2)
    with np.load(as_is) as arrays:
        first = arrays["photo_jpeg"][arrays["photo_offsets"][0]:arrays["photo_offsets"][1]].tobytes()
        assert first == Path(items[0][0]).read_bytes()
        assert tuple(arrays["photo_size"][0]) == (72, 96)
    with np.load(smaller) as arrays:
        assert tuple(arrays["photo_size"][0]) == (48, 64)
    # Retrieval compares a segment's size as a share of its photo's side: the same at either size.
    big, small = ExemplarBank.load(as_is), ExemplarBank.load(smaller)
    assert big.seg_class[0] == small.seg_class[0] and big.seg_photo[0] == small.seg_photo[0] == 0
    assert abs(big.seg_height[0] - small.seg_height[0]) < 0.05 and abs(big.seg_width[0] - small.seg_width[0]) < 0.05


def test_a_bank_built_again_from_its_own_labels_holds_the_same_segments(fixture_data, bank_path, tmp_path):
    from model_training.exemplar_bank import bank_label_folder

    photos = fixture_data / "landscape" / "images"
    assert bank_label_folder(bank_path, "landscape", photos, tmp_path / "out") == ExemplarBank.load(bank_path).num_photos
    again = tmp_path / "again.npz"
    build_bank([tmp_path / "out" / "landscape"], again, CLASSES, BankConfig(max_side=64, min_segment_pixels=20))
    first, second = ExemplarBank.load(bank_path), ExemplarBank.load(again)
    for index in range(first.num_photos):
        assert np.array_equal(first.label_map(index), second.label_map(index))
