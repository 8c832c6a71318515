"""The cloud and snow rule (backend/cloud_snow.py): which exemplar pixels become cloud and snow."""

from __future__ import annotations

import numpy as np
import pytest

from backend.cards import LabelSet
from backend.cloud_snow import CloudSnowRule, apply_cloud_snow, billowed_clouds, cloud_snow_ids, with_cloud_and_snow
from model_training.labelsets import LABEL_SETS

SKY, TREE, ROAD, GRASS, WATER, BUILDING = 0, 1, 2, 3, 4, 5


@pytest.fixture(scope="module")
def label_set() -> LabelSet:
    return with_cloud_and_snow(LABEL_SETS["stanford-background"])


def test_cloud_and_snow_are_the_next_two_ids_and_count_as_sky_and_grass(label_set: LabelSet):
    by_name = {c.name: c for c in label_set.classes}
    assert (by_name["cloud"].id, by_name["snow"].id) == (8, 9)
    assert (by_name["cloud"].counts_as, by_name["snow"].counts_as) == (SKY, GRASS)
    assert with_cloud_and_snow(label_set) == label_set, "adding them twice changes nothing"
    assert cloud_snow_ids(LABEL_SETS["stanford-background"]) is None


def test_bright_grey_is_cloud_in_sky_and_snow_on_the_ground_but_nowhere_else(label_set: LabelSet):
    ids = cloud_snow_ids(label_set)
    labels = np.array([[SKY] * 20 + [GRASS] * 20 + [WATER] * 20 + [BUILDING] * 20] * 20, np.uint8)
    rgb = np.full((20, 80, 3), 235, np.uint8)  # bright grey everywhere
    out = apply_cloud_snow(rgb, labels, ids)
    assert (out[:, :20] == ids.cloud).all() and (out[:, 20:40] == ids.snow).all()
    assert (out[:, 40:] == labels[:, 40:]).all(), "water and buildings are never cloud or snow"
    assert (labels[:, :20] == SKY).all(), "the input is not changed"


def test_a_clear_blue_sky_dark_grey_and_speckles_keep_their_labels(label_set: LabelSet):
    ids = cloud_snow_ids(label_set)
    labels = np.full((30, 30), SKY, np.uint8)
    rgb = np.zeros((30, 30, 3), np.uint8)
    rgb[:10] = (120, 170, 235)  # blue: saturated
    rgb[10:20] = (110, 110, 112)  # grey but dark: a storm cloud's shadow stays sky
    rgb[20:, :] = (70, 120, 220)
    rgb[24:27, 5:8] = 240  # 9 bright grey pixels: a speckle, under min_pixels
    out = apply_cloud_snow(rgb, labels, ids, CloudSnowRule(min_pixels=20))
    assert (out == SKY).all()


def test_a_white_road_is_snow_only_where_the_scene_has_snow_off_the_road(label_set: LabelSet):
    ids = cloud_snow_ids(label_set)
    labels = np.full((20, 40), ROAD, np.uint8)
    rgb = np.full((20, 40, 3), 245, np.uint8)
    assert (apply_cloud_snow(rgb, labels, ids) == ROAD).all(), "a sunlit pavement in a city is not snow"
    labels[:, 20:] = GRASS
    out = apply_cloud_snow(rgb, labels, ids)
    assert (out == ids.snow).all(), "in a snowy scene the road is snowy too"
    warm = rgb.copy()
    warm[...] = (250, 240, 225)  # bright sand: warm, never snow
    assert (apply_cloud_snow(warm, labels, ids) == labels).all()


def test_bright_sky_through_bare_branches_is_not_snow(label_set: LabelSet):
    ids = cloud_snow_ids(label_set)
    labels = np.full((30, 30), TREE, np.uint8)
    labels[:5] = SKY
    labels[25:] = GRASS
    rgb = np.full((30, 30, 3), 60, np.uint8)
    rgb[:14] = 240  # the sky, and the sky between the branches below it
    rgb[25:] = 240  # snow on the grass
    out = apply_cloud_snow(rgb, labels, ids, CloudSnowRule(min_pixels=10))
    assert (out[5:25] == TREE).all() and (out[25:] == ids.snow).all()


def test_bright_grey_the_segmenter_left_unlabelled_joins_the_cloud_or_snow_it_touches(label_set: LabelSet):
    ids = cloud_snow_ids(label_set)
    unknown = label_set.ignore_id
    labels = np.full((40, 20), unknown, np.uint8)
    labels[:5] = SKY
    labels[35:] = GRASS
    rgb = np.full((40, 20, 3), 60, np.uint8)
    rgb[:12] = 235  # a cloud: half labelled sky, half unsure
    rgb[28:] = 245  # snow: mostly unsure, its lowest rows labelled grass
    rgb[16:22, :] = 240  # bright grey touching neither: stays unlabelled
    out = apply_cloud_snow(rgb, labels, ids, CloudSnowRule(min_pixels=10))
    assert (out[:12] == ids.cloud).all() and (out[28:] == ids.snow).all()
    assert (out[12:28] == unknown).all()


def test_a_winter_photos_snowfield_is_a_large_pale_cool_region_low_in_the_frame():
    """The winter rule finds snow in shadow (darker than the summer rule's) wherever the segmenter put it, but
    not a pale cloud high up, a speck, or warm pale sand."""
    from backend.cloud_snow import winter_snowfield

    rgb = np.zeros((64, 64, 3), np.uint8)
    rgb[:] = (40, 70, 40)  # dark trees
    rgb[:8] = (70, 120, 210)  # blue sky
    rgb[10:18, 4:40] = (230, 232, 236)  # a cloud the segmenter missed, high in the frame
    rgb[44:, :32] = (165, 175, 195)  # shaded, bluish snow
    rgb[44:, 40:] = (230, 220, 200)  # warm pale sand
    rgb[30:32, 50:52] = (240, 240, 245)  # a speck
    not_sky = np.ones((64, 64), bool)
    not_sky[:8] = False
    snow = winter_snowfield(rgb, not_sky)
    assert snow[44:, :32].all()
    assert not snow[:44].any() and not snow[:, 32:].any()
    assert CloudSnowRule().snow_min_value > 175 / 255, "the summer rule would not have found this snow"


def test_a_framed_photo_is_told_from_one_with_a_bright_snowy_edge():
    from model_training.exemplar_bank import framed

    rng = np.random.default_rng(0)
    snowy = np.clip(rng.normal(200, 20, (64, 64, 3)), 0, 255).astype(np.uint8)
    matted = snowy.copy()
    matted[:6], matted[-6:], matted[:, :6], matted[:, -6:] = 250, 250, 250, 250
    assert framed(matted) and not framed(snowy)


def _outline(mask: np.ndarray) -> int:
    return int((mask[1:] != mask[:-1]).sum() + (mask[:, 1:] != mask[:, :-1]).sum())


def test_a_painted_clouds_outline_billows_within_the_sky_and_a_small_cloud_keeps_its_place(label_set: LabelSet):
    ids = cloud_snow_ids(label_set)
    MOUNTAIN = 6
    labels = np.full((160, 160), SKY, np.uint8)
    labels[100:] = MOUNTAIN
    rows, cols = np.mgrid[:160, :160]
    ellipse = ((rows - 50) / 18) ** 2 + ((cols - 60) / 40) ** 2 <= 1
    speck = (rows - 20) ** 2 + (cols - 140) ** 2 <= 9
    labels[ellipse | speck] = ids.cloud
    billowed = billowed_clouds(labels, ids, seed=3, reach=0.05)
    assert (billowed[labels == MOUNTAIN] == MOUNTAIN).all(), "only sky and cloud trade places"
    assert set(np.unique(billowed[labels != MOUNTAIN])) == {SKY, ids.cloud}
    cloud = billowed == ids.cloud
    assert cloud[20, 140], "a speck of a cloud is still there"

    def raggedness(mask: np.ndarray) -> float:  # outline over the square root of the area: shape, not size
        return _outline(mask) / np.sqrt(mask.sum())

    ragged = []
    for seed in range(8):
        big = (billowed_clouds(labels, ids, seed, reach=0.05) == ids.cloud) & (rows < 90) & (cols < 120)
        ragged.append(raggedness(big) / raggedness(ellipse))
        assert 0.8 < big.sum() / ellipse.sum() < 1.6, f"seed {seed}: the cloud stays about its painted size"
    assert min(ragged) > 1.03 and np.mean(ragged) > 1.1, f"a cloud's edge is not an ellipse's: {ragged}"
    assert (billowed_clouds(labels, ids, seed=3, reach=0.05) == billowed).all()
    assert (billowed_clouds(labels, ids, seed=4, reach=0.05) != billowed).any()
    clear = np.where(labels == ids.cloud, SKY, labels).astype(np.uint8)
    assert (billowed_clouds(clear, ids, seed=3, reach=0.05) == clear).all()
