"""The landscape renderer: a painting made of real photo pixels, copied coherently from a few exemplars.

1. Scene retrieval: the bank photo whose layout (class shares on a grid) and colours best match the
   painting and the style is the main exemplar; a class it lacks brings the fewest extra photos that
   have it, their colours moved toward the main one's so the scene keeps one light.
2. Stuff (sky, trees, grass, water, mountains, roads, buildings) by label-guided patch synthesis
   (`backend.patch_synthesis`), coarse to fine; each pixel is finally a copy of a matched exemplar pixel.
3. Things (foreground objects) are pasted whole: one retrieved segment of the human-labelled photos per
   painted region, so a car region gets one car, not a crowd of car patches; in its own proportions,
   standing where the region stands, in the main exemplar's light.
4. The picture's colour statistics are moved toward the style (a preset's thumbnail, a seed's draw or an
   uploaded photo), part of the way.

`frames` yields a picture per pyramid level (coarse first), so the live painter shows it sharpening and a
newer stroke can cancel the rest. A `RenderState` kept between frames of one painter lets a stroke search
again only around what changed.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numba
import numpy as np
from PIL import Image
from scipy import ndimage

from backend import gradient_domain
from backend import patch_synthesis as kernels
from backend.cloud_snow import CloudSnowIds, apply_cloud_snow, billowed_clouds, cloud_thickness, winter_snowfield
from backend.hybrid import (NO_SEGMENT, SHAPE_GRID, ExemplarBank, Region, colour_style, connected_regions, frame_cut,
                            ranked_segments, warped_segment)

LAYOUT_GRID = 6  # retrieval compares class shares on a LAYOUT_GRID x LAYOUT_GRID grid
GUIDE_SIZE = 32  # blurred label context is computed at this size, then resized
GUIDE_SIGMA = 1.5  # pixels at GUIDE_SIZE
SOURCE_CACHE = 24  # stacked exemplar sets kept (one per level of the last few scenes)
MAX_ASPECT = 4.0  # exemplars are stretched for pictures shown at most this much wider than tall (or taller)


@dataclass(frozen=True)
class SynthesisSettings:
    level_divisors: tuple[int, ...] = (4, 2, 1)  # each pyramid level's side is the card's size / this
    em_iterations: tuple[int, ...] = (4, 3, 2)  # search-then-vote rounds per level
    passes: tuple[int, ...] = (3, 2, 2)  # PatchMatch passes per round
    radius: int = 2  # 5 x 5 patches
    label_weight: float = 0.6  # per patch pixel whose label differs from the exemplar's
    guide_weight: float = 2.0
    height_weight: float = 1.5
    occurrence_weight: float = 0.0  # off: spreading matches over the source broke skies into mosaics
    coherence_weight: float = 0.15  # per neighbour whose match is not this one's shifted
    max_search: tuple[int, ...] = (64, 32, 16)  # random-search radius per level (source pixels)
    vote_sharpness: float = 0.5
    # How strongly the finished picture's light is tied to the votes' smooth tones: beyond about
    # 1 / sqrt(this) pixels the light is the votes', nearer the copied gradients shape it.
    tone_anchor: float = 0.01
    top_k: int = 4  # the seed picks the main exemplar among this many best
    style_weight: float = 1.5
    max_extras: int = 3
    min_label_agreement: float = 0.6  # a segmenter-labelled photo below this is never an exemplar
    # ... and a class of one whose blocks agree less than this is never copied from it: granite read as trees,
    # a snowfield as trees or clouds as water (by eye, most segmenter-labelled trees below 0.7 are rock or snow).
    min_class_agreement: float = 0.7
    # A photo with less fine detail than this (`fine_detail`) is never an exemplar: 12 of the shipped bank's
    # 1372 (night skies, long exposures, macro blur; 3 of its 572 Stanford photos).
    min_fine_detail: float = 3.0
    # ... and a class (but sky) of which more than this share is flat (`flat_shares`) is never copied from it:
    # a lagoon mirroring a pink sky, a lake smoothed by a long exposure or a road burnt out to white comes
    # out as a sheet of sky or paper (the water of 95 of the shipped bank's 419 segmenter-labelled photos with
    # water, and of 5 of Stanford's 86).
    max_flat_share: float = 0.5
    keep_margin: float = 0.15  # retrieval score a live painter's exemplar may lose before it is swapped
    min_class_share: float = 0.002  # a painted class smaller than this share of the frame brings no extra
    # A class the main exemplar has only at a smaller scale (`class_scale` below this share of the painting's)
    # brings an extra that has it large: a painted tree is not made of a distant tree line's pixels.
    min_scale_ratio: float = 0.75
    # A painted class the main exemplar has less than this share of (of the painting's) brings an extra that
    # has more. 0.75 mended some lakes copied from a strip of water but measured less photo-like (README).
    min_main_share: float = 0.25
    style_strength: float = 0.0  # how far the picture's colour statistics move toward the style
    preset_style_strength: float = 0.9  # ... toward a preset's: a preset promises its thumbnail's look
    extra_colour_strength: float = 0.7
    # A pasted object's colours move this far toward the main exemplar's light, by the transform that moves
    # its whole photo's statistics there (as an extra's): a car keeps its red, not its photo's white balance.
    thing_colour_strength: float = 0.7
    thing_classes: tuple[int, ...] = (7,)
    # Classes whose seams are joined without a step in light (a sky, a road); the rest keep the steps the
    # patches agree on, since a building's or a tree's edges may run along a seam. Cloud and snow join too.
    seamless_classes: tuple[int, ...] = (0, 2, 3, 4)
    thing_photo_prefix: str = "stanford_background/"  # things come only from human-labelled photos
    # Objects come from photos of a scene like the painting (a street brings cars, a field cows): the source
    # photo's layout distance counts this much beside its colour distance to the style.
    thing_context_weight: float = 0.4
    # A painted object the frame does not cut takes an object its photo did not cut either, per side.
    thing_cut_weight: float = 1.0
    # The painted region's shape is the strongest cue to which object it is (a hull, not a sail); the source
    # photo's colour distance and layout distance (weighted by `thing_context_weight`) count this much of
    # what they count for the hybrid's segments.
    thing_photo_weight: float = 0.25
    thing_surround_weight: float = 1.0  # per unit of L1 distance between the stuff around region and segment
    # A painted object takes a whole object in its own proportions where that covers the region this well
    # (intersection over union); else the object is fitted to the region's box and cut to its outline.
    thing_whole_min_iou: float = 0.4
    thing_candidates: int = 8  # the best-ranked objects that are tried whole against the region's outline
    # A dark line thinner than this many pixels across an exemplar's sky (a power line, a mast's stay) is never
    # copied: copied in pieces it comes out as dashes scattered over the painted sky.
    wire_width: int = 5
    wire_contrast: float = 0.08  # ... darker than the sky around it by at least this (0..1 grey levels)
    sky_class: int = 0  # the wires are looked for in its pixels and in cloud's
    cloud_fade: float = 0.04  # a painted cloud fades into the sky beside it over this share of the picture's side
    cloud_billow: float = 0.05  # ... and its outline billows by up to this share (`billowed_clouds`)
    snow_style_share: float = 0.35  # the share of the style's colour move painted snow takes


@dataclass
class Frame:
    rgb: np.ndarray  # uint8 [S, S, 3] at the card's size
    level: int  # 1-based
    levels: int


@dataclass(frozen=True)
class StylePhoto:
    """A photo the painter chose to paint with: its pixels become the main exemplar (its labels read by the
    segmenter), so the picture is made of that photo's textures."""

    rgb: np.ndarray  # uint8 [h, w, 3], longer side at the renderer's size
    labels: np.ndarray  # uint8 [h, w]
    key: str  # a digest of the upload: a live painter's exemplars are cached and warm-started by it


USER_PHOTO = -1  # retrieval's index for the painter's own photo, beside the bank's 0..P-1


@dataclass
class _Level:
    nnf: np.ndarray
    rgb: np.ndarray


@dataclass
class RenderState:
    """What a painter's previous picture left: its inputs, exemplars and each level's match field."""

    labels: np.ndarray | None = None
    key: tuple | None = None  # exemplars, style and seed: a warm start needs them unchanged
    levels: list[_Level] = field(default_factory=list)


INDEX_ARRAYS = ("photo_layout", "photo_class_shares", "photo_label_agreement", "photo_class_agreement",
                "photo_class_flat")


def grid_cells(shape: tuple[int, int], grid: int) -> np.ndarray:
    """int [H, W]: each pixel's cell, row-major, on a grid x grid grid over the frame."""
    height, width = shape
    rows = np.minimum(np.arange(height) * grid // height, grid - 1)
    cols = np.minimum(np.arange(width) * grid // width, grid - 1)
    return rows[:, None] * grid + cols[None, :]


def class_shares(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """[num_classes]: each class's share of the frame (unlabelled pixels count in the frame, not in a class)."""
    return np.bincount(labels.ravel(), minlength=256)[:num_classes] / labels.size


@dataclass(frozen=True)
class Weather:
    """Which of cloud and snow a painting has: only those are taken out of the exemplars' sky and ground, so
    a painting without clouds paints its sky from every sky pixel, clouds included, as Stanford labels skies."""

    cloud: bool = False
    snow: bool = False


def bank_labels(bank: ExemplarBank, index: int, cloud_snow: CloudSnowIds | None, weather: Weather,
                keep: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A bank photo and its labels as the renderer reads them for a painting with `weather`. A snow-only
    photo (`ExemplarBank.snow_only`) has its sky and, by `winter_snowfield`, its snow, and serves only a
    painting with snow."""
    photo, labels = bank.photo(index, keep)
    if bank.snow_only[index]:
        if cloud_snow is None or not weather.snow:
            return photo, np.full_like(labels, NO_SEGMENT)
        labels = np.where(winter_snowfield(photo, labels != cloud_snow.sky), cloud_snow.snow, labels).astype(np.uint8)
        return photo, apply_cloud_snow(photo, labels, cloud_snow, cloud=weather.cloud, snow=False)
    if cloud_snow is None or not (weather.cloud or weather.snow):
        return photo, labels
    return photo, apply_cloud_snow(photo, labels, cloud_snow, cloud=weather.cloud, snow=weather.snow)


def index_arrays(bank: ExemplarBank, num_classes: int, cloud_snow: CloudSnowIds | None) -> dict[str, np.ndarray]:
    """What retrieval needs of every bank photo: its layout descriptor, class shares, label agreement (of
    the segmenter's own labels, overall and per class) and each class's flat share (`flat_shares`).
    `python -m model_training landscape-card` stores them in the bank, so the server need not decode every
    photo at start-up; a bank without them (the tests' tiny ones) is indexed on loading."""
    layouts = np.zeros((bank.num_photos, num_classes * LAYOUT_GRID * LAYOUT_GRID), np.float32)
    shares = np.zeros((bank.num_photos, num_classes), np.float32)
    flat = np.zeros((bank.num_photos, num_classes), np.float32)
    # The agreement judges the segmenter's own labels: cloud and snow, added after its classes, are not its.
    segmenter_classes = num_classes if cloud_snow is None else min(cloud_snow.cloud, cloud_snow.snow)
    for index in range(bank.num_photos):
        photo, labels = bank.photo(index, keep=False)
        layouts[index] = layout_descriptor(labels, num_classes)
        shares[index] = class_shares(labels, num_classes)
        flat[index] = flat_shares(photo, labels, num_classes)
        if cloud_snow is not None:
            # Cloud and snow are indexed on top of the sky and ground they lie in, as a painting without them
            # reads the photo with its own labels.
            weather = bank_labels(bank, index, cloud_snow, Weather(cloud=True, snow=True), keep=False)[1]
            weather[~np.isin(weather, (cloud_snow.cloud, cloud_snow.snow))] = NO_SEGMENT
            layouts[index] += layout_descriptor(weather, num_classes)
            shares[index] += class_shares(weather, num_classes)
    agreement, per_class = label_agreement(bank, segmenter_classes, human_labelled(bank))
    return {"photo_layout": layouts, "photo_class_shares": shares,
            "photo_label_agreement": agreement.astype(np.float32),
            "photo_class_agreement": np.round(per_class * 100).astype(np.uint8),  # percent: the bank stays small
            "photo_class_flat": np.round(flat * 100).astype(np.uint8)}


def human_labelled(bank: ExemplarBank) -> np.ndarray:
    """bool [P]: photos whose labels people drew (the others were labelled by the segmenter)."""
    return np.array([str(n).startswith(SynthesisSettings.thing_photo_prefix) for n in bank.arrays["photo_names"]])


class SceneIndex:
    """Each bank photo's layout descriptor and class shares, for retrieval, whether its labels can be
    trusted (see `label_agreement`), and whether it is sharp enough to copy (`detailed`)."""

    def __init__(self, bank: ExemplarBank, num_classes: int, min_agreement: float,
                 cloud_snow: CloudSnowIds | None = None, min_fine_detail: float = 0.0,
                 min_class_agreement: float = 0.0, max_flat_share: float = 1.0, sky_class: int = 0):
        stored = all(name in bank.arrays for name in INDEX_ARRAYS)
        arrays = bank.arrays if stored else index_arrays(bank, num_classes, cloud_snow)
        self.num_classes = num_classes
        self.layouts = np.asarray(arrays["photo_layout"], np.float32)
        self.class_shares = np.asarray(arrays["photo_class_shares"], np.float32)
        if self.layouts.shape != (bank.num_photos, num_classes * LAYOUT_GRID * LAYOUT_GRID):
            raise ValueError(f"the bank's photo_layout has shape {self.layouts.shape}, not one row of "
                             f"{num_classes} x {LAYOUT_GRID} x {LAYOUT_GRID} per photo")
        self.scales = class_scale(self.layouts, num_classes)
        self.agreement = np.asarray(arrays["photo_label_agreement"], np.float32)
        self.weather_classes = () if cloud_snow is None else (cloud_snow.cloud, cloud_snow.snow)
        self.snow_class = None if cloud_snow is None else cloud_snow.snow
        self.human_labelled = human_labelled(bank)
        # A snow-only photo's snow was found by its own rule, not the segmenter: it is judged by its sky alone.
        self.snow_only = bank.snow_only
        self.trusted = self.human_labelled | self.snow_only | (self.agreement >= min_agreement)
        # A class whose blocks disagree with the colour model is not copied from that photo: retrieval reads
        # the photo as not having it (`trusted_shares`, `trusted_scales`). Cloud is trusted as its sky is.
        per_class = np.asarray(arrays["photo_class_agreement"], np.float32) / 100
        class_trusted = np.ones((bank.num_photos, num_classes), bool)
        class_trusted[:, :per_class.shape[1]] = self.human_labelled[:, None] | (per_class >= min_class_agreement)
        # A sky is smooth by nature (and so are cloud and snow, given by their rule, not the segmenter); any
        # other class mostly flat (bool [P, the segmenter's classes]) is left out whoever labelled it.
        flat_share = np.asarray(arrays["photo_class_flat"], np.float32)[:, :per_class.shape[1]] / 100
        self.mostly_flat = flat_share > max_flat_share
        self.mostly_flat[:, sky_class] = False
        class_trusted[:, :per_class.shape[1]] &= ~self.mostly_flat
        if cloud_snow is not None:
            class_trusted[:, cloud_snow.cloud] = class_trusted[:, cloud_snow.sky]
        self.class_trusted = class_trusted
        self.trusted_shares = np.where(class_trusted, self.class_shares, 0.0)
        self.trusted_scales = np.where(class_trusted, self.scales, 0.0)
        self.min_fine_detail = min_fine_detail
        self._fine_detail: dict[int, float] = {}  # measured the first time retrieval considers a photo

    def detailed(self, bank: ExemplarBank, index: int) -> bool:
        """Whether a bank photo has a photo's fine detail (`fine_detail`): a long exposure's smooth sea, a
        night sky or a macro shot's blur makes a smeared picture."""
        if index == USER_PHOTO:
            return True
        if index not in self._fine_detail:
            self._fine_detail[index] = fine_detail(bank.photo(index)[0])
        return self._fine_detail[index] >= self.min_fine_detail


def fine_detail(photo: np.ndarray) -> float:
    """The grey levels' RMS difference from their 1-px Gaussian blur, with the photo's longer side brought to
    256 px first (0..255 scale). The human-labelled Stanford photos measure 3.9 and more but for 1 in 100."""
    grey = Image.fromarray(photo).convert("L")
    scale = 256 / max(grey.size)
    if scale < 1:
        grey = grey.resize((max(1, round(grey.size[0] * scale)), max(1, round(grey.size[1] * scale))),
                           Image.Resampling.BILINEAR)
    return float(np.sqrt((_fine_texture(np.asarray(grey, np.float32)) ** 2).mean()))


def _fine_texture(grey: np.ndarray) -> np.ndarray:
    """float32 grey levels' difference from their 1-px Gaussian blur: the texture `fine_detail` and
    `flat_shares` measure."""
    return grey - ndimage.gaussian_filter(grey, 1.0)


FLAT_DETAIL = 1.0  # grey levels (0..255): a pixel whose neighbourhood varies less than this is flat


def flat_shares(photo: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """[num_classes]: the share of each class's pixels that are flat, with no texture above a JPEG's noise:
    the RMS of the grey levels' difference from their 1-px Gaussian blur, over a 2-px Gaussian window, is
    under FLAT_DETAIL (0 for a class the photo lacks). Sky is mostly flat; grass, trees or rippled water
    almost never are."""
    grey = np.asarray(Image.fromarray(photo).convert("L"), np.float32)
    detail = ndimage.gaussian_filter(_fine_texture(grey) ** 2, 2.0)
    flat = (detail < FLAT_DETAIL ** 2).ravel()
    classes = labels.ravel().astype(np.int64)
    valid = classes < num_classes
    counts = np.bincount(classes[valid], minlength=num_classes)
    flat_counts = np.bincount(classes[valid], flat[valid], minlength=num_classes)
    return flat_counts / np.maximum(counts, 1)


BLOCK_GRID = 24  # label agreement judges blocks of a photo on a BLOCK_GRID x BLOCK_GRID grid


def _block_features(photo: np.ndarray, labels: np.ndarray, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Per grid block: (features [B, 5]: mean R, G, B, luminance spread, height in the frame; the block's
    label, or -1 where no class covers 80 % of it)."""
    cell = grid_cells(labels.shape, BLOCK_GRID).ravel()
    cells = BLOCK_GRID * BLOCK_GRID
    pixels = photo.reshape(-1, 3).astype(np.float64) / 255
    count = np.maximum(np.bincount(cell, minlength=cells), 1)
    mean = np.stack([np.bincount(cell, pixels[:, c], cells) for c in range(3)], 1) / count[:, None]
    luminance = pixels.mean(1)
    spread = np.sqrt(np.maximum(np.bincount(cell, luminance ** 2, cells) / count - (mean.mean(1)) ** 2, 0))
    height_in_frame = (np.arange(cells) // BLOCK_GRID + 0.5) / BLOCK_GRID
    flat = labels.ravel()
    votes = np.zeros((cells, num_classes))
    valid = flat < num_classes
    np.add.at(votes, (cell[valid], flat[valid].astype(np.int64)), 1.0)
    block_label = np.where(votes.max(1) >= 0.8 * count, votes.argmax(1), -1)
    return np.column_stack([mean, spread, height_in_frame]), block_label


def label_agreement(bank: ExemplarBank, num_classes: int, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per bank photo, the share of its labelled blocks whose label is among the two classes a colour,
    texture and height model finds likeliest for the block ([P]), and the same share for each class's blocks
    ([P, num_classes]; 1 where a class has no block). The model (a Gaussian per class) is fitted on the
    `reference` photos, whose labels people drew; a photo labelled by a segmenter that read sky as water, or
    rock as trees, disagrees with it where it erred."""
    features, labels = [], []
    for index in range(bank.num_photos):
        photo, label_map = bank.photo(index, keep=False)
        f, l = _block_features(photo, label_map, num_classes)
        features.append(f)
        labels.append(l)
    agreement, per_class = np.ones(bank.num_photos), np.ones((bank.num_photos, num_classes))
    if not reference.any():  # nothing to judge by: every photo is trusted
        return agreement, per_class
    reference_blocks = np.concatenate([f[l >= 0] for f, l, r in zip(features, labels, reference) if r])
    reference_labels = np.concatenate([l[l >= 0] for l, r in zip(labels, reference) if r])
    means, precisions, log_dets = [], [], []
    for cls in range(num_classes):
        blocks = reference_blocks[reference_labels == cls]
        if len(blocks) < 10:  # a class the reference barely has: every block may be it
            blocks = reference_blocks
        covariance = np.cov(blocks.T) + 1e-4 * np.eye(blocks.shape[1])
        means.append(blocks.mean(0))
        precisions.append(np.linalg.inv(covariance))
        log_dets.append(np.linalg.slogdet(covariance)[1])
    for index, (f, l) in enumerate(zip(features, labels)):
        if not (l >= 0).any():
            agreement[index] = 0.0
            continue
        f, l = f[l >= 0], l[l >= 0]
        log_likelihood = np.stack([-0.5 * (np.einsum("bi,ij,bj->b", f - m, p, f - m) + d)
                                   for m, p, d in zip(means, precisions, log_dets)], 1)
        agrees = (np.argsort(-log_likelihood, axis=1)[:, :2] == l[:, None]).any(1)
        agreement[index] = float(agrees.mean())
        blocks = np.bincount(l, minlength=num_classes)
        has = blocks > 0
        per_class[index, has] = np.bincount(l, agrees, minlength=num_classes)[has] / blocks[has]
    return agreement, per_class


def layout_descriptor(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Class shares of each grid cell, [num_classes * GRID * GRID]; unlabelled pixels count for nothing."""
    cell = grid_cells(labels.shape, LAYOUT_GRID)
    valid = labels < num_classes
    counts = np.zeros((num_classes, LAYOUT_GRID * LAYOUT_GRID), np.float32)
    np.add.at(counts, (labels[valid].astype(np.int64), cell[valid]), 1.0)
    totals = np.maximum(np.bincount(cell.ravel(), minlength=LAYOUT_GRID * LAYOUT_GRID), 1)
    return (counts / totals).ravel()


def class_scale(layouts: np.ndarray, num_classes: int) -> np.ndarray:
    """[..., num_classes]: each class's largest share of one layout grid cell, from layout descriptors
    [..., num_classes * GRID * GRID]. A row of distant trees fills no cell; a tree in front fills several."""
    return layouts.reshape(*layouts.shape[:-1], num_classes, -1).max(-1)


def photo_layout_distance(index: SceneIndex, layout: np.ndarray, target_shares: np.ndarray) -> np.ndarray:
    """[P]: how far each bank photo's layout is from the painting's (`layout_descriptor`). Cloud and snow
    planes count only when painted: a painting without them is compared with the exemplars' own labels, its
    sky with their whole sky."""
    num_classes = index.num_classes
    planes = [c for c in range(num_classes) if c not in index.weather_classes or target_shares[c] > 0]
    difference = (index.layouts - layout).reshape(len(index.layouts), num_classes, -1)
    return np.abs(difference[:, planes]).mean((1, 2)) * len(planes)


def retrieve(index: SceneIndex, bank: ExemplarBank, labels: np.ndarray, style: np.ndarray, seed: int,
             settings: SynthesisSettings, keep: tuple[int, ...] = (), photo: StylePhoto | None = None) -> list[int]:
    """Bank photo indices: the main exemplar first, then one extra per painted class it lacks (a class whose
    labels a photo's pixels disagree with counts as lacking, `SceneIndex.class_trusted`). A painter's
    own photo is always the main exemplar (USER_PHOTO). A live painter's previous exemplars (`keep`, main first)
    stay while they score nearly as well as the seed's picks, so a stroke does not swap the whole scene, or
    one of its extras, for a near tie (and the next frame starts from the last one's matches)."""
    num_classes = index.num_classes
    target_shares = class_shares(labels, num_classes)
    target_layout = layout_descriptor(labels, num_classes)
    target_scale = class_scale(target_layout, num_classes)
    layout_distance = photo_layout_distance(index, target_layout, target_shares)
    painted = target_shares >= settings.min_class_share
    snowy = index.snow_class is not None and bool(painted[index.snow_class])
    usable = index.trusted & (snowy | ~index.snow_only)
    if photo is not None:
        main, main_shares, main_style = USER_PHOTO, class_shares(photo.labels, num_classes), colour_style(photo.rgb)
        main_scale = class_scale(layout_descriptor(photo.labels, num_classes), num_classes)
    else:
        style_distance = np.linalg.norm(bank.photo_styles - np.asarray(style, np.float32), axis=1)
        missing = (painted[None, :] & (index.trusted_shares < 0.25 * target_shares[None, :])).sum(1)
        score = layout_distance + settings.style_weight * style_distance + 0.5 * missing
        score[~usable] = np.inf
        ranked = np.argsort(score, kind="stable")
        detailed = [int(i) for i in itertools.islice((i for i in ranked if np.isfinite(score[i])
                                                      and index.detailed(bank, int(i))), settings.top_k)]
        ranked = detailed or ranked  # a bank of only smooth photos still paints
        rng = np.random.default_rng(seed)
        main = int(ranked[rng.integers(min(settings.top_k, len(ranked)))])
        if keep and keep[0] != USER_PHOTO and score[keep[0]] <= score[main] + settings.keep_margin:
            main = keep[0]
        main_shares, main_scale = index.trusted_shares[main], index.trusted_scales[main]
        main_style = bank.photo_styles[main]
    chosen = [main]

    def covers(photo_index: int, cls: int) -> bool:
        shares, scale = ((main_shares, main_scale) if photo_index == main
                         else (index.trusted_shares[photo_index], index.trusted_scales[photo_index]))
        return bool(shares[cls] >= settings.min_main_share * target_shares[cls]
                    and scale[cls] >= settings.min_scale_ratio * target_scale[cls])

    # An extra chosen for one class serves any other it has enough of: the few extras allowed go further.
    # A class the main exemplar lacks altogether goes before one it has too little of (the second can still
    # be copied from the main's own pixels; a painting's mountains lost to a slightly larger cloud were copied
    # from its snow), and the largest first, so the extras run out on small ones (a snowfield painted as
    # grass for want of an extra turns a winter scene brown).
    for cls in sorted(np.flatnonzero(painted), key=lambda c: (main_shares[c] > 0, -target_shares[c])):
        if cls in settings.thing_classes or any(covers(i, cls) for i in chosen):
            continue
        if len(chosen) > settings.max_extras:
            break
        have = index.trusted_shares[:, cls]
        extra_score = (-np.minimum(have / max(target_shares[cls], 1e-6), 1.0)
                       - np.minimum(index.trusted_scales[:, cls] / max(target_scale[cls], 1e-6), 1.0)
                       + np.linalg.norm(bank.photo_styles - main_style, axis=1)
                       + 0.3 * layout_distance)
        extra_score[(have <= 0) | ~usable] = np.inf
        extra_score[[c for c in chosen if c != USER_PHOTO]] = np.inf
        best = int(np.argmin(extra_score))
        while np.isfinite(extra_score[best]) and not index.detailed(bank, best):
            extra_score[best] = np.inf
            best = int(np.argmin(extra_score))
        kept = [i for i in keep[1:] if extra_score[i] <= extra_score[best] + settings.keep_margin]
        best = kept[0] if kept else best
        if np.isfinite(extra_score[best]):
            chosen.append(best)
    return chosen


def _moved_toward(source: np.ndarray, target: np.ndarray, strength: float) -> tuple[np.ndarray, np.ndarray]:
    """(scale [3], offset [3]) of the per-channel affine map in [0, 1] that moves colour statistics `source`
    (6 numbers: means then stds) `strength` of the way to `target` (`_colour_moved` applies it to pixels)."""
    goal_mean = (1 - strength) * source[:3] + strength * target[:3]
    goal_std = (1 - strength) * source[3:] + strength * target[3:]
    scale = goal_std / (source[3:] + 1e-4)
    return scale.astype(np.float32), (goal_mean - scale * source[:3]).astype(np.float32)


def _colour_moved(rgb: np.ndarray, target: np.ndarray, strength: float) -> np.ndarray:
    """float [.., 3] in [0, 1] with its per-channel mean and std moved `strength` of the way to `target`
    (6 numbers: means then stds)."""
    pixels = rgb.reshape(-1, 3)
    scale, offset = _moved_toward(np.concatenate([pixels.mean(0), pixels.std(0)]), target, strength)
    return np.clip(rgb * scale + offset, 0.0, 1.0).astype(np.float32)


def _one_hot_guide(labels: np.ndarray, num_classes: int, size: tuple[int, int]) -> np.ndarray:
    """float32 [h, w, num_classes]: blurred class indicators at GUIDE_SIZE scale, resized to `size` (h, w)."""
    height, width = labels.shape
    small = (max(2, round(width * GUIDE_SIZE / max(height, width))), max(2, round(height * GUIDE_SIZE / max(height, width))))
    reduced = np.asarray(Image.fromarray(labels).resize(small, Image.Resampling.NEAREST))
    channels = []
    for cls in range(num_classes):
        blurred = ndimage.gaussian_filter((reduced == cls).astype(np.float32), GUIDE_SIGMA, mode="nearest")
        channels.append(np.asarray(Image.fromarray(blurred).resize((size[1], size[0]), Image.Resampling.BILINEAR)))
    return np.ascontiguousarray(np.stack(channels, -1), np.float32)


@dataclass
class _Sources:
    """The chosen exemplars at one level, stacked and padded to one size."""

    rgb: np.ndarray  # float32 [N, H, W, 3] in [0, 1]
    labels: np.ndarray  # uint8 [N, H, W]
    centres: np.ndarray  # uint8 [N, H, W]: the class a position may be a patch centre for, else INVALID
    guide: np.ndarray  # float32 [N, H, W, C]
    class_positions: np.ndarray  # int64
    class_starts: np.ndarray  # int64 [C + 1]
    shape: np.ndarray  # int64 [N, 2]: each exemplar's own height and width
    class_home: np.ndarray  # int64 [C]: the exemplar a class's first matches come from, -1 if none has it
    nearest: np.ndarray  # int64 [N, C, H, W]: flat position of the nearest valid centre of the class, or -1


def _stacked_sources(exemplars: list[tuple[np.ndarray, np.ndarray]], canvas: int, stretch: tuple[float, float],
             painted: np.ndarray, num_classes: int, radius: int, main_share: float) -> _Sources:
    """The exemplars with their longer side at `canvas`, then resized by `stretch` (y, x), stacked and padded
    to one size. A class is copied from the main exemplar unless it has less than `main_share` of an extra's."""
    sizes = []
    for photo, _ in exemplars:
        base = canvas / max(photo.shape[:2])
        sizes.append((max(2 * radius + 2, round(photo.shape[0] * base * stretch[0])),
                      max(2 * radius + 2, round(photo.shape[1] * base * stretch[1]))))
    height, width = max(s[0] for s in sizes), max(s[1] for s in sizes)
    count = len(exemplars)
    rgb = np.zeros((count, height, width, 3), np.float32)
    labels = np.full((count, height, width), NO_SEGMENT, np.uint8)
    centres = np.full((count, height, width), kernels.INVALID, np.uint8)
    guide = np.zeros((count, height, width, num_classes), np.float32)
    for n, ((photo, label_map), (h, w)) in enumerate(zip(exemplars, sizes)):
        # Lanczos: a photo brought down from its stored size keeps its fine texture (bilinear blurs it).
        rgb[n, :h, :w] = np.asarray(Image.fromarray(photo).resize((w, h), Image.Resampling.LANCZOS), np.float32) / 255
        labels[n, :h, :w] = np.asarray(Image.fromarray(label_map).resize((w, h), Image.Resampling.NEAREST))
        inner = np.zeros((h, w), bool)
        inner[radius:h - radius, radius:w - radius] = True
        own = labels[n, :h, :w]
        usable = inner & (own < num_classes)
        usable &= painted[np.minimum(own, num_classes - 1)]
        centres[n, :h, :w][usable] = own[usable]
        guide[n, :h, :w] = _one_hot_guide(label_map, num_classes, (h, w))
    counts = np.stack([np.bincount(c.ravel(), minlength=kernels.INVALID + 1)[:num_classes] for c in centres])
    # Each class is copied from one exemplar, its home: the main exemplar unless it has less than `main_share`
    # of an extra's. Pieces of one photo share its light; a sky patched from two photos is blotched.
    home = np.where(counts[0] >= main_share * counts.max(0), 0, counts.argmax(0))
    home[counts.max(0) == 0] = -1
    for n in range(count):
        centres[n][(centres[n] < num_classes) & (home[np.minimum(centres[n], num_classes - 1)] != n)] = kernels.INVALID
    flat_centres = centres.ravel()
    order = np.argsort(flat_centres, kind="stable")
    starts = np.searchsorted(flat_centres[order], np.arange(num_classes + 1)).astype(np.int64)
    nearest = np.full((count, num_classes, height, width), -1, np.int64)
    for n in range(count):
        for cls in np.flatnonzero(painted & (home == n)):
            _, (rows, cols) = ndimage.distance_transform_edt(centres[n] != cls, return_indices=True)
            nearest[n, cls] = rows * width + cols
    return _Sources(rgb=rgb, labels=labels, centres=centres, guide=guide,
                    class_positions=order[:starts[-1]].astype(np.int64), class_starts=starts,
                    shape=np.array(sizes, np.int64), class_home=home.astype(np.int64), nearest=nearest)


class LandscapeRenderer:
    """Paints label maps (uint8 [S, S], class ids) with a bank's real photos; see the module docstring."""

    def __init__(self, bank: ExemplarBank, num_classes: int, size: int,
                 settings: SynthesisSettings = SynthesisSettings(), threads: int = 2,
                 cloud_snow: CloudSnowIds | None = None, counts_as: dict[int, int] | None = None):
        """`cloud_snow`: the label set's cloud and snow, given to the bank's photos by their rule;
        `counts_as`: what a painted class no exemplar has is painted as instead."""
        self.bank, self.num_classes, self.size, self.settings = bank, num_classes, size, settings
        self.cloud_snow, self.counts_as = cloud_snow, counts_as or {}
        self.seamless = np.zeros(num_classes, np.bool_)
        self.seamless[[c for c in settings.seamless_classes if c < num_classes]] = True
        if cloud_snow is not None:
            self.seamless[[cloud_snow.cloud, cloud_snow.snow]] = True
        self.index = SceneIndex(bank, num_classes, settings.min_label_agreement, cloud_snow, settings.min_fine_detail,
                                settings.min_class_agreement, settings.max_flat_share, settings.sky_class)
        self._thing_surroundings: np.ndarray | None = None  # see `thing_surroundings`, computed on first use
        self.level_sides = [max(4 * settings.radius, size // d) for d in settings.level_divisors]
        self._source_cache: OrderedDict[tuple, _Sources] = OrderedDict()
        self._lock = threading.Lock()
        # One row band per thread; numba's pool is process-wide, so this only ever lowers it.
        self.threads = max(1, min(threads, numba.config.NUMBA_NUM_THREADS))

    def forget(self) -> None:
        """Drop the stacked exemplars kept for live frames (the benchmark's "from scratch")."""
        with self._lock:
            self._source_cache.clear()

    def render(self, labels: np.ndarray, style: np.ndarray, seed: int, preset: bool = False,
               photo: StylePhoto | None = None, aspect: float = 1.0) -> np.ndarray:
        """The finished picture, uint8 [S, S, 3]."""
        for frame in self.frames(labels, style, seed, preset=preset, photo=photo, aspect=aspect):
            pass
        return frame.rgb

    def frames(self, labels: np.ndarray, style: np.ndarray, seed: int,
               state: RenderState | None = None, preset: bool = False,
               photo: StylePhoto | None = None, aspect: float = 1.0) -> Iterator[Frame]:
        """A picture per pyramid level, coarse first, at the renderer's size whatever the label map's (square).
        With a `state` from this painter's last picture and the
        same exemplars, only the neighbourhood of what changed is searched again. A painter's own `photo` is
        the main exemplar. `aspect`: the width / height the square picture is shown at (an upload's label map
        of 4:3 comes back 4:3); the exemplars are stretched against it, so that shown, their textures keep
        their own proportions."""
        cfg = self.settings
        numba.set_num_threads(self.threads)
        style = np.asarray(style, np.float32)
        # A label map smaller than the picture (the painter's drawing) is enlarged to it: the exemplars are then
        # copied at their own resolution, not shrunk to the drawing's.
        labels = _unpainted_filled(_resized_labels(np.asarray(labels, np.uint8), self.size), self.num_classes)
        weather = Weather()
        if self.cloud_snow is not None:
            weather = Weather(cloud=bool((labels == self.cloud_snow.cloud).any()),
                              snow=bool((labels == self.cloud_snow.snow).any()))
        if photo is not None and (weather.cloud or weather.snow):
            photo = replace(photo, labels=apply_cloud_snow(photo.rgb, photo.labels, self.cloud_snow,
                                                           cloud=weather.cloud, snow=weather.snow))
        # A sliver of an upload (1 x 4000 px) must not stretch the exemplars without bound.
        aspect = round(min(max(float(aspect), 1 / MAX_ASPECT), MAX_ASPECT), 3)
        settings_key = (tuple(np.round(style, 4)), seed, preset, photo.key if photo is not None else None, aspect)
        keep = state.key[0] if state is not None and state.key is not None and state.key[1][1:] == settings_key else ()
        chosen = retrieve(self.index, self.bank, labels, style, seed, cfg, keep, photo)
        labels = self._painted_as_available(labels, chosen, photo)
        if weather.cloud:  # after retrieval, which reads the painting as painted
            labels = billowed_clouds(labels, self.cloud_snow, seed, cfg.cloud_billow)
        # A stroke that adds or removes the weather relabels the exemplars: no warm start across it.
        key = (tuple(chosen), (weather, *settings_key))
        warm = state is not None and state.key == key and state.labels is not None and len(state.levels) == len(self.level_sides)
        changed = None
        if warm:
            changed = ndimage.binary_dilation(labels != state.labels, iterations=4 * cfg.radius + 2)
        exemplars: list = []  # decoded on the first level whose stacked sources are not cached
        painted = np.zeros(self.num_classes, bool)
        painted[np.unique(labels[labels < self.num_classes])] = True
        main_style = self._main_style(chosen, photo)
        things_rgb, things_mask, labels = self._things(labels, style, seed, main_style, aspect)
        strength = cfg.preset_style_strength if preset else cfg.style_strength
        new_levels: list[_Level] = []
        previous: tuple[_Level, _Sources] | None = None  # the coarser level and its sources
        for number, side in enumerate(self.level_sides):
            level_labels = _resized_labels(labels, side)
            stuff = ~np.isin(level_labels, cfg.thing_classes) & (level_labels < self.num_classes)
            sources = self._sources(chosen, photo, weather, exemplars, side, painted, aspect)
            fixed_rgb = _resized_rgb(things_rgb, side)
            fixed = _resized_mask(things_mask, side)
            stuff &= ~fixed
            if warm:
                old = state.levels[number]
                active = stuff & _resized_mask(changed, side)
                nnf, rgb = old.nnf.copy(), old.rgb.copy()
                nnf[active, 0] = -1
            else:
                active = stuff
                nnf = np.full((side, side, 3), -1, np.int32)
                if previous is not None:
                    coarse, coarse_sources = previous
                    kernels.upsample_nnf(coarse.nnf, level_labels, sources.centres,
                                         sources.rgb.shape[1] / coarse_sources.rgb.shape[1],
                                         sources.rgb.shape[2] / coarse_sources.rgb.shape[2], nnf)
                    rgb = _resized_rgb(coarse.rgb, side)
                else:
                    rgb = np.zeros((side, side, 3), np.float32)
            rgb[fixed] = fixed_rgb[fixed]
            self._synthesise(number, level_labels, stuff, active, nnf, rgb, sources, seed)
            level = _Level(nnf=nnf, rgb=rgb)
            new_levels.append(level)
            previous = level, sources
            picture = _feathered(rgb, fixed) if fixed.any() else rgb
            if weather.cloud:
                picture = _soft_cloud_edges(picture, level_labels, self.cloud_snow, cfg.cloud_fade * side)
            if strength > 0:
                moved = _colour_moved(picture, style, strength)
                if weather.snow:  # snow takes a preset's light, not its colours: under a lush look it was green
                    snow = (level_labels == self.cloud_snow.snow)[..., None]
                    moved = np.where(snow, picture + cfg.snow_style_share * (moved - picture), moved)
                picture = moved
            if state is not None and len(new_levels) == len(self.level_sides):
                # Kept before the last yield: a consumer that stops at the finished picture still warm-starts.
                state.labels, state.key, state.levels = labels, key, new_levels
            yield Frame(rgb=_to_uint8(_resized_rgb(picture, self.size)), level=number + 1, levels=len(self.level_sides))

    def _painted_as_available(self, labels: np.ndarray, chosen: list[int], photo: StylePhoto | None) -> np.ndarray:
        """The painting with each class that no chosen exemplar has (cloud in a bank without clouds) painted
        as the class it counts as."""
        shares = [class_shares(photo.labels, self.num_classes) if i == USER_PHOTO else self.index.class_shares[i]
                  for i in chosen]
        available = np.max(shares, axis=0) > 0
        for cls, instead in self.counts_as.items():
            if not available[cls] and (labels == cls).any():
                labels[labels == cls] = instead
        return labels

    def _sources(self, chosen: list[int], photo: StylePhoto | None, weather: Weather, exemplars: list, side: int,
                 painted: np.ndarray, aspect: float) -> _Sources:
        """The exemplars stacked at one level; the last few are kept, since live frames reuse them.
        `exemplars` is filled with the decoded photos the first time they are needed."""
        key = (tuple(chosen), photo.key if photo is not None else None, weather, side, painted.tobytes(), aspect)
        with self._lock:
            if key in self._source_cache:
                self._source_cache.move_to_end(key)
                return self._source_cache[key]
        if not exemplars:
            exemplars.extend(self._exemplars(chosen, photo, weather))
        # An exemplar is brought to the scale of the picture as shown, both with their longer side at the
        # canvas's (a photo stored larger is sharper for it); the square picture's exemplars are then
        # stretched along the axis the showing shrinks.
        level_scale = side / self.size
        stretch = (level_scale * max(aspect, 1.0), level_scale * max(1.0 / aspect, 1.0))
        sources = _stacked_sources(exemplars, self.size, stretch, painted, self.num_classes, self.settings.radius,
                                   self.settings.min_main_share)
        with self._lock:
            self._source_cache[key] = sources
            while len(self._source_cache) > SOURCE_CACHE:
                self._source_cache.popitem(last=False)
        return sources

    def _main_style(self, chosen: list[int], photo: StylePhoto | None) -> np.ndarray:
        """[6]: the main exemplar's colour statistics, the light the other photos' pixels are moved toward."""
        return colour_style(photo.rgb) if chosen[0] == USER_PHOTO else self.bank.photo_styles[chosen[0]]

    def _exemplars(self, chosen: list[int], photo: StylePhoto | None,
                   weather: Weather) -> list[tuple[np.ndarray, np.ndarray]]:
        """(photo, labels) of each chosen exemplar; extras' colours moved toward the main one's, except a
        snow-only photo's. A class an exemplar's pixels disagree with is unlabelled there where another
        exemplar has it trusted, and so are thin dark lines across its sky (`thin_dark_lines`)."""
        cfg = self.settings
        exemplars = [(photo.rgb, photo.labels) if index == USER_PHOTO else bank_labels(self.bank, index, self.cloud_snow, weather)
                     for index in chosen]
        trusted = np.stack([np.ones(self.num_classes, bool) if index == USER_PHOTO else self.index.class_trusted[index]
                            for index in chosen])
        air = (cfg.sky_class,) if self.cloud_snow is None else (cfg.sky_class, self.cloud_snow.cloud)
        for n, (rgb, labels) in enumerate(exemplars):
            distrusted = [cls for cls in np.flatnonzero(~trusted[n]) if trusted[:, cls].any()]
            uncopied = np.isin(labels, distrusted) | thin_dark_lines(rgb, np.isin(labels, air), cfg.wire_width,
                                                                      cfg.wire_contrast)
            exemplars[n] = (rgb, np.where(uncopied, NO_SEGMENT, labels).astype(np.uint8))
        main_style = self._main_style(chosen, photo)
        for i in range(1, len(exemplars)):
            if chosen[i] != USER_PHOTO and self.bank.snow_only[chosen[i]]:
                continue  # its look is its snow's: moved toward a green summer photo's, the snow turns green
            rgb, labels = exemplars[i]
            moved = _colour_moved(rgb.astype(np.float32) / 255, main_style, cfg.extra_colour_strength)
            exemplars[i] = (_to_uint8(moved), labels)
        return exemplars

    def _synthesise(self, number: int, labels: np.ndarray, stuff: np.ndarray, active: np.ndarray, nnf: np.ndarray,
                    rgb: np.ndarray, sources: _Sources, seed: int) -> None:
        """One pyramid level: `nnf` and `rgb` improved in place where `active` (inside `stuff`, the pixels
        patch synthesis paints; pasted objects are not)."""
        cfg = self.settings
        side = labels.shape[0]
        if not active.any():
            return
        kernels.fill_invalid(nnf, active, labels, sources.shape, sources.class_home, sources.nearest)
        active &= nnf[..., 0] >= 0  # a class no exemplar has stays as it is (never: retrieval covers it)
        occurrences = np.zeros(sources.labels.shape, np.float64)
        expected = max(active.sum() * (2 * cfg.radius + 1) ** 2 / max(len(sources.class_positions), 1), 1e-6)
        costs = np.zeros(labels.shape, np.float64)
        if number == 0 or not rgb[active].any():  # no estimate yet: start from the initial matches' colours
            kernels.copy_matches(nnf, active, sources.rgb, rgb)
        last_level = number == len(self.level_sides) - 1
        guide = _target_guide(labels, self.num_classes)
        for iteration in range(cfg.em_iterations[number]):
            if cfg.occurrence_weight > 0:
                kernels.count_occurrences(nnf, active, occurrences, cfg.radius)
                occurrences /= expected
            kernels.patchmatch(rgb, labels, guide, active, sources.rgb,
                               sources.labels, sources.centres, sources.guide, sources.shape[:, 0].astype(np.float64),
                               sources.class_positions, sources.class_starts, occurrences, nnf, costs,
                               cfg.radius, 0.0 if number == iteration == 0 else 1.0, cfg.label_weight, cfg.guide_weight, cfg.height_weight,
                               cfg.occurrence_weight, cfg.coherence_weight, cfg.max_search[number], cfg.passes[number],
                               seed * 131 + number * 17 + iteration, self.threads)
            sharpness = cfg.vote_sharpness * max(float(np.median(costs[active])), 1e-3)
            weights = np.exp(-costs / sharpness)
            if not last_level:
                kernels.vote(nnf, weights, active, labels, sources.rgb, sources.labels, cfg.radius, rgb)
                continue
            # The finest level compares with real pixels, not averages, and ends on them: each pixel is its
            # match's copy. The last round joins the copies in the gradient domain, with the votes' smooth
            # tones as the anchor, so the steps in light between neighbouring pieces (a sky made of three
            # skies, a road of tiles) are gone and no texture is averaged away.
            copied = rgb.copy()
            kernels.copy_matches(nnf, active, sources.rgb, copied)
            if iteration < cfg.em_iterations[number] - 1:
                rgb[active] = copied[active]
                continue
            voted = copied.copy()
            kernels.vote(nnf, weights, active, labels, sources.rgb, sources.labels, cfg.radius, voted)
            gx = np.empty((side, side - 1, 3), np.float32)
            gy = np.empty((side - 1, side, 3), np.float32)
            gradient_domain.seam_free_gradients(nnf, stuff & (nnf[..., 0] >= 0), labels, self.seamless, sources.rgb,
                                                voted, copied, gx, gy)
            joined = gradient_domain.screened_poisson(voted, gx, gy, cfg.tone_anchor)
            rgb[active] = joined[active]

    def _placed_thing(self, segment: int, region: Region, frame_shape: tuple[int, int], aspect: float,
                      gain: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray, tuple[slice, slice]]:
        """A segment whole at its `placed_box` for the region: (uint8 rgb, bool mask, the frame's slices they
        cover), cropped to the frame."""
        y0, x0, y1, x1 = placed_box(region.box, self.bank.seg_box[segment], frame_shape, aspect)
        # Lanczos, as for the stuff's exemplars: an object is as sharp as its photo has it.
        patch, paste = warped_segment(self.bank, segment, (y1 - y0, x1 - x0), (0, 0), gain, Image.Resampling.LANCZOS)
        inside = (slice(max(0, -y0), paste.shape[0] - max(0, y1 - frame_shape[0])),
                  slice(max(0, -x0), paste.shape[1] - max(0, x1 - frame_shape[1])))
        frame = (slice(max(0, y0), min(y1, frame_shape[0])), slice(max(0, x0), min(x1, frame_shape[1])))
        return patch[inside], paste[inside], frame

    def thing_surroundings(self) -> np.ndarray:
        """float32 [segments, classes]: the stuff around each object segment of the human-labelled photos in
        its own photo (`surrounding_classes`); other segments' rows are zero. Computed once per renderer."""
        with self._lock:
            if self._thing_surroundings is not None:
                return self._thing_surroundings
        bank = self.bank
        table = np.zeros((len(bank.seg_class), self.num_classes), np.float32)
        things = np.flatnonzero(np.isin(bank.seg_class, self.settings.thing_classes)
                                & self.index.human_labelled[bank.seg_photo])
        for photo in np.unique(bank.seg_photo[things]):
            label_map = bank.label_map(int(photo))
            for segment in things[bank.seg_photo[things] == photo]:
                y0, x0, y1, x1 = (int(v) for v in bank.seg_box[segment])
                mask = label_map[y0:y1, x0:x1] == bank.seg_class[segment]
                table[segment] = surrounding_classes(label_map, Region(int(bank.seg_class[segment]), (y0, x0, y1, x1),
                                                                       mask), self.num_classes)
        with self._lock:
            self._thing_surroundings = table
        return table

    def _things(self, labels: np.ndarray, style: np.ndarray, seed: int, main_style: np.ndarray,
                aspect: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Foreground objects pasted whole at full size: (float32 [S, S, 3], bool [S, S] where pasted, the
        label map for the stuff). A painted object region takes one retrieved object, whole and in its own
        proportions as shown at `aspect` (`placed_box`), standing where the region stands; what of the region
        it leaves is left to the stuff around it, so an object is never a rectangle cut out of another photo,
        nor a person cut to a cow's outline."""
        cfg = self.settings
        rgb = np.zeros((*labels.shape, 3), np.float32)
        mask = np.zeros(labels.shape, bool)
        photo_distance = cfg.thing_photo_weight * (
            np.linalg.norm(self.bank.photo_styles - style, axis=1)
            + cfg.thing_context_weight * photo_layout_distance(self.index, layout_descriptor(labels, self.num_classes),
                                                               class_shares(labels, self.num_classes)))
        photo_distance = np.where(self.index.human_labelled, photo_distance, np.inf)
        surroundings = self.thing_surroundings()
        rng = np.random.default_rng([seed, 1])
        things = np.isin(labels, cfg.thing_classes)
        used: list[int] = []
        for region in connected_regions(labels, self.num_classes, 12):
            if region.cls not in cfg.thing_classes:
                continue
            # A cow stands on grass and a boat on water: what surrounds the painted region counts too.
            around = surrounding_classes(labels, region, self.num_classes)
            surround_cost = cfg.thing_surround_weight * np.abs(surroundings - around).sum(1)
            surround_cost[used] = np.inf  # two painted cars are two cars, not one twice
            ranked = ranked_segments(self.bank, region, labels.shape, photo_distance, None, cfg.thing_cut_weight,
                                     surround_cost)
            if ranked.size == 0:
                continue
            # Of the best few, those that cover the region whole in their own proportions come first.
            candidates = ranked[:cfg.thing_candidates]
            fits = [whole_fit(self.bank, int(c), region, labels.shape, aspect) for c in candidates]
            candidates = candidates[np.argsort(-np.asarray(fits), kind="stable")]
            segment = int(candidates[rng.integers(min(3, candidates.size))])
            used.append(segment)
            gain = _moved_toward(self.bank.photo_styles[self.bank.seg_photo[segment]], main_style,
                                 cfg.thing_colour_strength)
            patch, paste, frame = self._placed_thing(segment, region, labels.shape, aspect, gain)
            region_mask = labels[frame] == region.cls
            if (paste & region_mask).sum() < cfg.thing_whole_min_iou * (paste | region_mask).sum():
                # No whole object fits the outline (a lamp post painted joined to the cars beside it): the
                # segment is fitted to the region's box and cut to it instead.
                y0, x0, y1, x1 = region.box
                patch, paste = warped_segment(self.bank, segment, (y1 - y0, x1 - x0), (0, 0), gain,
                                              Image.Resampling.LANCZOS)
                paste = paste & region.mask
                frame = (slice(y0, y1), slice(x0, x1))
            rgb[frame][paste] = patch[paste] / 255.0
            mask[frame] |= paste
        leftover = things & ~mask
        if not leftover.any() or things.all():
            return rgb, mask, labels
        _, (rows, cols) = ndimage.distance_transform_edt(things, return_indices=True)
        stuff_labels = labels.copy()
        stuff_labels[leftover] = labels[rows[leftover], cols[leftover]]
        return rgb, mask, stuff_labels


def placed_box(region_box: tuple[int, int, int, int], segment_box: np.ndarray, frame: tuple[int, int],
               aspect: float, max_overhang: float = 1.25) -> tuple[int, int, int, int]:
    """Where a segment (its box in its own photo, y0, x0, y1, x1) goes for a painted region (its box on the
    square canvas shown at `aspect`): scaled evenly, so that shown it keeps its proportions, to the region's
    area (at most `max_overhang` of the region's height or width), standing on the region's bottom, centred
    across it; a side the frame cuts the region at holds the segment's edge there (a car the frame cuts
    stays cut at the frame, not set adrift). The box may reach outside the frame."""
    y0, x0, y1, x1 = region_box
    height, width = y1 - y0, x1 - x0
    seg_height, seg_width = float(segment_box[2] - segment_box[0]), float(segment_box[3] - segment_box[1])
    # On the square canvas a shape keeps its proportions when its height is stretched by `aspect` (wide
    # pictures) or its width by 1 / `aspect` (tall ones), as the exemplars' textures are.
    stretch_y, stretch_x = max(aspect, 1.0), max(1.0 / aspect, 1.0)
    scale = min(np.sqrt(height * width / (seg_height * seg_width * stretch_y * stretch_x)),
                max_overhang * height / (seg_height * stretch_y), max_overhang * width / (seg_width * stretch_x))
    new_height = max(1, round(seg_height * scale * stretch_y))
    new_width = max(1, round(seg_width * scale * stretch_x))
    top, left, bottom, right = frame_cut(np.array(region_box), *frame)[0]
    new_y0 = y0 if top and not bottom else y1 - new_height
    if left and not right:
        new_x0 = x0
    elif right and not left:
        new_x0 = x1 - new_width
    else:
        new_x0 = (x0 + x1 - new_width) // 2
    return new_y0, new_x0, new_y0 + new_height, new_x0 + new_width


def whole_fit(bank: ExemplarBank, segment: int, region: Region, frame: tuple[int, int], aspect: float) -> float:
    """Intersection over union of a region and a segment's outline (its stored shape descriptor) placed
    whole at its `placed_box`: how well the object fits without being cut."""
    y0, x0, y1, x1 = placed_box(region.box, bank.seg_box[segment], frame, aspect)
    coverage = Image.fromarray(bank.seg_shape[segment].reshape(SHAPE_GRID, SHAPE_GRID))
    outline = np.asarray(coverage.resize((x1 - x0, y1 - y0), Image.Resampling.BILINEAR)) >= 128
    top, left = min(y0, region.box[0]), min(x0, region.box[1])
    bottom, right = max(y1, region.box[2]), max(x1, region.box[3])
    placed = np.zeros((bottom - top, right - left), bool)
    placed[y0 - top:y1 - top, x0 - left:x1 - left] = outline
    painted = np.zeros_like(placed)
    ry0, rx0, ry1, rx1 = region.box
    painted[ry0 - top:ry1 - top, rx0 - left:rx1 - left] = region.mask
    # The frame crops both alike: what lies outside it counts for neither.
    inside = np.zeros_like(placed)
    inside[max(0, -top):frame[0] - top, max(0, -left):frame[1] - left] = True
    placed &= inside
    return float((placed & painted).sum() / max((placed | painted).sum(), 1))


def surrounding_classes(labels: np.ndarray, region: Region, num_classes: int) -> np.ndarray:
    """float32 [num_classes]: the class shares of a ring around a region (a quarter of its box's shorter side
    wide, at least 2 pixels), over its pixels of a class other than the region's."""
    y0, x0, y1, x1 = region.box
    margin = max(2, min(y1 - y0, x1 - x0) // 4)
    top, left = max(0, y0 - margin), max(0, x0 - margin)
    window = labels[top:min(labels.shape[0], y1 + margin), left:min(labels.shape[1], x1 + margin)]
    inside = np.zeros(window.shape, bool)
    inside[y0 - top:y1 - top, x0 - left:x1 - left] = region.mask
    ring = ndimage.binary_dilation(inside, iterations=margin) & ~inside & (window < num_classes) & (window != region.cls)
    shares = np.bincount(window[ring], minlength=num_classes)[:num_classes].astype(np.float32)
    return shares / max(shares.sum(), 1.0)


def thin_dark_lines(rgb: np.ndarray, within: np.ndarray, width: int, contrast: float) -> np.ndarray:
    """bool [H, W]: the pixels of uint8 [H, W, 3] inside `within` on a dark line or speck narrower than `width`
    pixels, at least `contrast` (0..1) darker than what is around it (a grey closing's black top-hat), with
    their one-pixel rim."""
    if not within.any():
        return within
    grey = rgb.astype(np.float32).mean(-1) / 255
    darker = ndimage.grey_closing(grey, size=(width, width)) - grey
    return ndimage.binary_dilation((darker > contrast) & within) & within


def _feathered(rgb: np.ndarray, pasted: np.ndarray) -> np.ndarray:
    """The picture with each pasted object's outermost ring of pixels half blended with the stuff beside it,
    so its edge reads as an edge in the scene, not as a cut-out."""
    ring = pasted & ~ndimage.binary_erosion(pasted)
    _, (rows, cols) = ndimage.distance_transform_edt(pasted, return_indices=True)  # the nearest stuff pixel
    out = rgb.copy()
    out[ring] = 0.5 * rgb[ring] + 0.5 * rgb[rows[ring], cols[ring]]
    return out


def _soft_cloud_edges(rgb: np.ndarray, labels: np.ndarray, ids: CloudSnowIds, width: float) -> np.ndarray:
    """The picture with each painted cloud's edge against the sky blurred away over `width` pixels on either
    side (at most about a third of the painted clouds' typical thickness): a cloud has no outline, and copied
    from a photo's cloud cores a painted ellipse reads as a disk. The blur is taken over sky and cloud alone,
    so no mountain bleeds into it."""
    clouds = labels == ids.cloud
    air = clouds | (labels == ids.sky)
    inside = ndimage.distance_transform_edt(clouds)
    outside = ndimage.distance_transform_edt(~clouds)
    thickness = cloud_thickness(clouds, inside)[1]
    if len(thickness):  # a small cloud fades over less, or it is all fade: a blurred blob
        width = min(width, 0.35 * float(np.median(thickness)))
    distance = np.where(clouds, inside - 0.5, outside - 0.5)
    band = air & (distance < width)
    if not (band & clouds).any() or not (band & ~clouds).any():
        return rgb
    sigma = width / 2
    weight = ndimage.gaussian_filter(air.astype(np.float32), sigma)[band]
    blurred = np.stack([ndimage.gaussian_filter(rgb[..., c] * air, sigma)[band] for c in range(3)], -1)
    blurred /= np.maximum(weight, 1e-6)[:, None]
    t = np.clip(distance[band] / width, 0.0, 1.0)[:, None]
    kept = t * t * (3 - 2 * t)
    out = rgb.copy()
    out[band] = kept * rgb[band] + (1 - kept) * blurred
    return out


def _unpainted_filled(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Pixels of no class (a dataset's "unknown", ids >= num_classes) take the nearest painted pixel's class:
    a photo has something there, so the picture must too, not a black hole."""
    unpainted = labels >= num_classes
    if not unpainted.any() or unpainted.all():
        return labels
    nearest = ndimage.distance_transform_edt(unpainted, return_distances=False, return_indices=True)
    return labels[nearest[0], nearest[1]]


def _target_guide(labels: np.ndarray, num_classes: int) -> np.ndarray:
    return _one_hot_guide(labels, num_classes, labels.shape)


def _resized_labels(labels: np.ndarray, side: int) -> np.ndarray:
    """A writable copy: numba compiles a kernel again for a read-only array (Pillow's are), and the image
    ships the kernels compiled for writable ones (`patch_synthesis.compile_kernels`)."""
    if labels.shape == (side, side):
        return np.array(labels, np.uint8)
    return np.array(Image.fromarray(labels).resize((side, side), Image.Resampling.NEAREST))


def _resized_mask(mask: np.ndarray, side: int) -> np.ndarray:
    return _resized_labels(mask.astype(np.uint8), side).astype(bool)


def _resized_rgb(rgb: np.ndarray, side: int) -> np.ndarray:
    if rgb.shape[:2] == (side, side):
        return np.ascontiguousarray(rgb, np.float32)
    channels = [np.asarray(Image.fromarray(np.ascontiguousarray(rgb[..., c], np.float32)).resize(
        (side, side), Image.Resampling.BILINEAR)) for c in range(3)]
    return np.ascontiguousarray(np.stack(channels, -1), np.float32)


def compile_kernels() -> None:
    """Compile every kernel the renderer runs (or load numba's cache): the Docker image calls this at build
    time, so a cold container starts with them cached."""
    kernels.compile_kernels()
    gradient_domain.compile_kernels()


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    return (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)


__all__ = ["LandscapeRenderer", "RenderState", "StylePhoto", "SynthesisSettings", "Frame", "colour_style", "retrieve"]
