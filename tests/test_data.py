"""Dataset readers on the synthetic fixtures, and the label sets' colour round trips."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from PIL import Image

from model_training.data import FacadePairs, LabelPhotoFolder, PhotoFolder, SketchPhotoFolder, UnpairedFolders
from model_training.data.photometric import PhotoAugment, add_clouds, dusk
from model_training.data.transforms import Geometry
from model_training.datasets import build_dataset
from model_training.labelsets import FACADES, LABEL_SETS, LANDSCAPE, colour_table, colourise, quantise_colours
from model_training.runtime import StepBatches
from tests.helpers.tiny_runs import segmenter_config
from tests.helpers.training import tiny_config

TRAIN = Geometry(40, 32, True)
VAL = Geometry(40, 40, False)


def assert_photo(tensor: torch.Tensor, channels: int, size: int) -> None:
    assert tensor.dtype == torch.float32 and tensor.shape == (channels, size, size)
    assert tensor.min() >= -1 and tensor.max() <= 1


def assert_labels(tensor: torch.Tensor, size: int, allowed: set[int]) -> None:
    assert tensor.dtype == torch.int64 and tensor.shape == (1, size, size)
    assert set(tensor.unique().tolist()) <= allowed


def test_label_folders_shapes_ranges_and_ignore_label(fixture_data):
    root = fixture_data / "landscape"
    train, val = LabelPhotoFolder(root, "train", TRAIN), LabelPhotoFolder(root, "val", VAL)
    assert (len(train), len(val)) == (8, 2)
    allowed = set(range(8)) | {LANDSCAPE.ignore_id}
    seen = set()
    for i in range(len(train)):
        sample = train[(i, 7)]
        assert_photo(sample["image"], 3, 32)
        assert_labels(sample["labels"], 32, allowed)
        seen |= set(sample["labels"].unique().tolist())
    assert LANDSCAPE.ignore_id in {int(v) for v in np.unique(np.asarray(Image.open(root / "labels/scene00.png")))}
    assert {0, 3, 6} <= seen
    assert_photo(val[0]["image"], 3, 40)


def test_class_pixel_counts_count_every_map_and_skip_the_ignore_label(fixture_data):
    folder = LabelPhotoFolder(fixture_data / "landscape", "train", TRAIN)
    maps = [np.asarray(Image.open(labels)) for _, labels in folder.items]
    expected = [sum(int((m == c).sum()) for m in maps) for c in range(8)]
    assert folder.class_pixel_counts(8).tolist() == expected
    assert sum(expected) < sum(m.size for m in maps)  # the ignore label's pixels are left out


def test_validation_is_deterministic_and_training_follows_its_key(fixture_data):
    root = fixture_data / "landscape"
    val = LabelPhotoFolder(root, "val", VAL)
    assert torch.equal(val[1]["image"], val[1]["image"]) and torch.equal(val[1]["labels"], val[1]["labels"])
    train = LabelPhotoFolder(root, "train", TRAIN)
    key = StepBatches(train, 2, seed=3).keys(5)[0]
    assert torch.equal(train[key]["image"], train[key]["image"])


def test_photo_augmentation_keeps_the_labels_and_follows_the_key(fixture_data):
    root = fixture_data / "landscape"
    plain, augmented = LabelPhotoFolder(root, "train", TRAIN), LabelPhotoFolder(root, "train", TRAIN, PhotoAugment(0))
    changed = 0
    for key in StepBatches(plain, 4, seed=1).keys(0):
        sample = augmented[key]
        assert torch.equal(sample["labels"], plain[key]["labels"])
        assert torch.equal(sample["image"], augmented[key]["image"])
        assert_photo(sample["image"], 3, 32)
        changed += not torch.equal(sample["image"], plain[key]["image"])
    assert changed == 4


@pytest.mark.parametrize("sky_change", [add_clouds, dusk])
def test_sky_changes_are_drawn_from_the_rng(sky_change):
    photo = np.random.default_rng(0).random((24, 24, 3), dtype=np.float32)
    sky = np.zeros((24, 24), bool)
    sky[:10] = True
    first = sky_change(photo, sky, random.Random(5))
    assert np.array_equal(first, sky_change(photo, sky, random.Random(5)))
    assert not np.array_equal(first, sky_change(photo, sky, random.Random(6)))
    assert not np.allclose(first[sky], photo[sky])


def test_clouds_touch_only_the_sky():
    photo = np.full((24, 24, 3), 0.5, np.float32)
    sky = np.zeros((24, 24), bool)
    sky[:10] = True
    for seed in range(5):
        clouded = add_clouds(photo, sky, random.Random(seed))
        assert np.array_equal(clouded[~sky], photo[~sky])


def test_build_dataset_augments_only_the_training_split(fixture_data, tmp_path):
    config = segmenter_config(fixture_data, tmp_path)
    config.data.photo_augment = True
    assert build_dataset(config, train=True).augment == PhotoAugment(sky_id=0)
    assert build_dataset(config, train=False).augment is None


def test_photo_and_label_are_cropped_together(fixture_data):
    sample = LabelPhotoFolder(fixture_data / "landscape", "train", TRAIN)[(0, 11)]
    sky = sample["labels"][0] == 0
    # The fixture paints sky blue: where the labels say sky, blue beats red.
    assert (sample["image"][2][sky] > sample["image"][0][sky]).float().mean() > 0.9


def test_facades_split_labels_and_colours(fixture_data):
    root = fixture_data / "facades"
    train = FacadePairs(root, "train", TRAIN, FACADES)
    val = FacadePairs(root, "val", VAL, FACADES)
    test = FacadePairs(root, "test", VAL, FACADES)
    assert (len(train), len(val), len(test)) == (10, 2, 3)
    assert not set(train.paths) & set(val.paths)
    sample = val[0]
    assert_photo(sample["image"], 3, 40)
    assert_labels(sample["labels"], 40, set(range(12)))
    # colour label -> index -> colour reproduces the drawn label half up to JPEG noise.
    pair = np.asarray(Image.open(val.paths[0]).convert("RGB")).astype(int)
    half = pair[:, pair.shape[1] // 2:]
    redrawn = colourise(quantise_colours(half.astype(np.uint8), FACADES), FACADES).astype(int)
    assert np.abs(redrawn - half).mean() < 4


@pytest.mark.parametrize("name", sorted(LABEL_SETS))
def test_palette_round_trip(name):
    label_set = LABEL_SETS[name]
    ids = np.array([c.id for c in label_set.classes], np.uint8)
    colours = colour_table(label_set)[ids]
    assert [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in colours] == [c.colour for c in label_set.classes]
    index_map = np.tile(ids, (3, 1))
    assert np.array_equal(quantise_colours(colourise(index_map, label_set), label_set), index_map)


def test_unpaired_folders_and_named_folder_hold_out(fixture_data):
    root = fixture_data / "unpaired"
    train, val = UnpairedFolders(root, "train", TRAIN), UnpairedFolders(root, "val", VAL)
    assert (len(train), len(val)) == (6, 2)
    sample = train[(0, 5)]
    assert_photo(sample["A"], 3, 32)
    assert_photo(sample["B"], 3, 32)
    assert torch.equal(val[1]["B"], val[1]["B"])
    named_train = UnpairedFolders(root, "train", TRAIN, "trainA", "trainB", hold_out_every=3)
    named_val = UnpairedFolders(root, "val", VAL, "trainA", "trainB", hold_out_every=3)
    assert not set(named_train.a.paths) & set(named_val.a.paths)
    assert len(named_train.a.paths) + len(named_val.a.paths) == 6
    # With train/test folders, held-out training images join the test folder's.
    held_train = UnpairedFolders(root, "train", TRAIN, hold_out_every=3)
    held_val = UnpairedFolders(root, "val", VAL, hold_out_every=3)
    assert (len(held_train.b), len(held_val.b)) == (4, 4)
    assert not set(held_train.b.paths) & set(held_val.b.paths)


def test_photos_and_sketches(fixture_data):
    folder = fixture_data / "photos"
    assert_photo(PhotoFolder(folder, VAL)[0]["image"], 3, 40)
    sample = SketchPhotoFolder([folder], TRAIN)[(2, 9)]
    assert_photo(sample["image"], 3, 32)
    assert_photo(sample["sketch"], 1, 32)
    assert set(sample["sketch"].unique().tolist()) <= {-1.0, 1.0}
    assert (sample["sketch"] == 1).float().mean() > 0.7, "mostly white paper"


@pytest.mark.parametrize("dataset, roots, extra, keys", [
    ("label_folders", ["landscape"], {"label_set": "stanford-background"}, {"image", "labels"}),
    ("facades", ["facades"], {"label_set": "cmp-facades"}, {"image", "labels"}),
    ("sketch_photos", ["photos", "unpaired/testA"], {}, {"image", "sketch"}),
    ("unpaired", ["unpaired"], {}, {"A", "B"}),
])
def test_build_dataset_from_config(fixture_data, tmp_path, dataset, roots, extra, keys):
    data = {"dataset": dataset, "roots": [str(fixture_data / r) for r in roots], "load_size": 40,
            "crop_size": 32, "val_limit": 1, **extra}
    config = tiny_config("pix2pix", tmp_path, data, {})
    train, val = build_dataset(config, train=True), build_dataset(config, train=False)
    assert keys <= set(train[(0, 1)]) and len(val) == 1
    assert all(val[0][k].shape[-1] == 40 for k in keys)
