"""The pseudo-labeller's consistency rules on small hand-drawn label maps."""

from __future__ import annotations

import numpy as np

from model_training.labelsets import LANDSCAPE
from model_training.pseudo_label import consistent_labels, drop_sky_out_of_order, drop_specks

SKY, TREE, GRASS, BUILDING, MOUNTAIN = 0, 1, 3, 5, 6
IGNORE = LANDSCAPE.ignore_id


def landscape() -> np.ndarray:
    """10 x 8: sky over a mountain over grass."""
    labels = np.full((10, 8), GRASS)
    labels[:4] = SKY
    labels[4:7] = MOUNTAIN
    return labels


def test_a_consistent_landscape_is_kept_whole():
    labels = landscape()
    assert np.array_equal(consistent_labels(labels, LANDSCAPE, IGNORE, min_component=0.05), labels)


def test_specks_become_the_ignore_label_and_large_regions_stay():
    labels = landscape()
    labels[8, 2] = BUILDING
    labels[1, 1] = GRASS
    cleaned = drop_specks(labels, IGNORE, min_pixels=3)
    assert cleaned[8, 2] == IGNORE and cleaned[1, 1] == IGNORE
    assert np.array_equal(cleaned[labels == cleaned], labels[labels == cleaned])
    assert (cleaned == IGNORE).sum() == 2
    # The ignore label itself is never a speck to drop, and a region of exactly min_pixels stays.
    labels[9, 0] = IGNORE
    labels[0, 5:8] = BUILDING
    cleaned = drop_specks(labels, IGNORE, min_pixels=3)
    assert cleaned[9, 0] == IGNORE and (cleaned[0, 5:8] == BUILDING).all()


def test_a_cloud_read_as_building_is_dropped_with_the_sky_below_it():
    labels = landscape()
    labels[0:2, 2:4] = BUILDING
    cleaned = drop_sky_out_of_order(labels, LANDSCAPE, IGNORE)
    assert (cleaned[0:4, 2:4] == IGNORE).all()
    assert np.array_equal(cleaned[:, [0, 1, 4, 5, 6, 7]], labels[:, [0, 1, 4, 5, 6, 7]])
    assert (cleaned[4:, 2:4] == labels[4:, 2:4]).all()


def test_sky_read_in_a_lake_is_dropped_down_to_it():
    labels = landscape()
    labels[8:10, 5] = SKY
    cleaned = drop_sky_out_of_order(labels, LANDSCAPE, IGNORE)
    assert (cleaned[4:10, 5] == IGNORE).all() and (cleaned[:4, 5] == SKY).all()


def test_trees_may_overhang_the_sky():
    labels = landscape()
    labels[0:2, :3] = TREE
    assert np.array_equal(drop_sky_out_of_order(labels, LANDSCAPE, IGNORE), labels)


def test_specks_go_before_the_column_rule():
    labels = landscape()
    labels[0, 6] = GRASS
    cleaned = consistent_labels(labels, LANDSCAPE, IGNORE, min_component=0.05)
    # Only the speck goes: the sky below it is kept.
    assert cleaned[0, 6] == IGNORE and (cleaned[1:4, 6] == SKY).all()


def test_a_second_segmenter_keeps_only_the_pixels_both_read_alike(tmp_path, monkeypatch):
    from PIL import Image

    from model_training import pseudo_label as module

    photos = tmp_path / "field" / "photos"
    photos.mkdir(parents=True)
    Image.new("RGB", (16, 20), (90, 160, 60)).save(photos / "a.jpg")
    first, second = landscape(), landscape()
    second[4:7, :3] = TREE  # the second reads part of the mountain as trees
    readers = {"first": lambda photo, size: (None, first.copy()), "second": lambda photo, size: (None, second.copy())}
    monkeypatch.setattr(module, "load_segmenter", lambda name: (readers[str(name)], LANDSCAPE, IGNORE))
    module.pseudo_label("first", [photos], tmp_path / "out", size=8, min_confidence=0.0, agree_with="second")
    written = np.asarray(Image.open(tmp_path / "out" / "labels" / "field_photos_a.png").resize((8, 10), Image.NEAREST))
    assert (written[4:7, :3] == IGNORE).all()
    assert np.array_equal(written[first == second], first[first == second])


def test_an_exported_graph_gives_probabilities_from_its_scores_and_its_labels_from_its_argmax(tiny_weights):
    """The reader of an exported segmenter: its labels are the graph's own output, its confidence the softmax
    of the scores before the ArgMax, so --min-confidence works on a shipped graph too."""
    from PIL import Image

    from model_training.data.transforms import photo_tensor
    from model_training.evaluate import exported_segmenter
    from model_training.pseudo_label import load_segmenter
    from tests.helpers.tiny_models import SEGMENTER_ID

    graph_path = tiny_weights / f"{SEGMENTER_ID}.onnx"
    photo = Image.fromarray(np.random.default_rng(1).integers(0, 256, (40, 48, 3), np.uint8))
    read, _, _ = load_segmenter(graph_path)
    confidence, labels = read(photo, 32)
    graph, label_set = exported_segmenter(graph_path)
    own = graph(image=photo_tensor(photo.resize((32, 32), Image.Resampling.BICUBIC))[None])[0, 0].numpy()
    assert confidence.shape == labels.shape == (32, 32)
    assert (labels == own).mean() > 0.99  # the argmax may flip near-ties
    assert (confidence >= 1 / len(label_set.classes) - 1e-6).all() and (confidence <= 1 + 1e-6).all()
    assert confidence.std() > 0
