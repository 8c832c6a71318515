"""Cloud and snow, two labels the segmenter does not know, given to the exemplar photos by a colour rule.

The rule: a pixel that is bright and grey (high value, low saturation) is cloud when the photo's labels say
sky, and snow when they say grass, road, mountain or tree; a bright grey region the segmenter left
unlabelled (it is unsure of clouds and snow, which it was never taught) takes the label of the part of it
that touches sky or that ground. Snow must be brighter and greyer still, and not
warm (blue at least red), since pale concrete, sand and sunlit dry grass are bright and nearly grey too;
a photo has snow at all only with at least 2 % of it snowy off the road (a sunlit pavement in a city is white); and
bright grey inside a tree's label that touches the sky is the sky showing through bare branches.
Speckles smaller than `min_pixels` keep their label, so a white fence post or a glint on a leaf does not
become a patch of snow. The landscape renderer
applies it to its bank when it reads it; the bank file itself keeps the segmenter's 8 classes, which the
hybrid model shares.

Winter photos need a rule of their own (`winter_snowfield`): the segmenter, never taught snow, reads their
snowfields as water, road or "foreground object" and snowy slopes as trees, so the rule above finds
no ground to look in. In a photo known to be a winter one, snow is any large, cool, pale region the
segmenter does not call sky that lies low in the frame; the bank keeps such photos' sky and nothing else.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from backend.cards import LabelClass, LabelSet

CLOUD, SNOW = "cloud", "snow"
SKY, ROAD, TREE = "sky", "road", "tree"
SNOW_GROUND = ("grass", ROAD, "mountain", TREE)
# What a model without these classes reads them as (the painter maps a drawing with this when it goes to one).
COUNTS_AS = {CLOUD: SKY, SNOW: "grass"}
COLOURS = {CLOUD: "#dfe6ee", SNOW: "#fafcff"}


@dataclass(frozen=True)
class CloudSnowRule:
    cloud_min_value: float = 0.72  # brightness: the largest channel, in [0, 1]
    cloud_max_saturation: float = 0.16  # (max - min) / max: grey, not the blue of a clear sky
    snow_min_value: float = 0.82
    snow_max_saturation: float = 0.12
    snow_max_warmth: float = 0.02  # red minus blue, in [0, 1]: snow is neutral or blue in its shadows
    min_pixels: int = 80  # a component smaller than this keeps its label
    min_snowy_scene: float = 0.02  # snow off the road, as a share of the photo, that makes a scene snowy


@dataclass(frozen=True)
class WinterSnowRule:
    """`winter_snowfield`'s thresholds: snow in shadow is darker and bluer than sunlit snow, so a winter photo's
    snow is looked for more widely than `CloudSnowRule`'s, and only in large regions low in the frame, where
    clouds and fog the segmenter missed do not lie."""

    min_value: float = 0.65
    max_saturation: float = 0.22
    max_warmth: float = 0.02
    min_share: float = 0.02  # a region smaller than this share of the photo is not a snowfield
    min_centre: float = 0.5  # ... nor one whose centre lies above this fraction of the photo's height


@dataclass(frozen=True)
class CloudSnowIds:
    sky: int
    cloud: int
    snow: int
    snow_ground: tuple[int, ...]
    road: int
    tree: int


def with_cloud_and_snow(label_set: LabelSet) -> LabelSet:
    """The label set plus cloud and snow as its next two ids (each names the class it counts as)."""
    ids = {c.name: c.id for c in label_set.classes}
    if CLOUD in ids or SNOW in ids:
        return label_set
    missing = [name for name in (SKY, *SNOW_GROUND) if name not in ids]
    if missing:
        raise ValueError(f"label set {label_set.name!r} has no {', '.join(missing)}: cloud and snow need them")
    next_id = max(ids.values()) + 1
    added = [LabelClass(id=next_id + i, name=name, colour=COLOURS[name], group="weather", counts_as=ids[COUNTS_AS[name]])
             for i, name in enumerate((CLOUD, SNOW))]
    return label_set.model_copy(update={"classes": [*label_set.classes, *added]})


def cloud_snow_ids(label_set: LabelSet) -> CloudSnowIds | None:
    """The ids the rule needs, or None when the label set has no cloud and snow classes."""
    ids = {c.name: c.id for c in label_set.classes}
    if CLOUD not in ids or SNOW not in ids:
        return None
    return CloudSnowIds(sky=ids[SKY], cloud=ids[CLOUD], snow=ids[SNOW], snow_ground=tuple(ids[n] for n in SNOW_GROUND),
                        road=ids[ROAD], tree=ids[TREE])


def bright_grey(rgb: np.ndarray, min_value: float, max_saturation: float,
                max_warmth: float | None = None) -> np.ndarray:
    """bool [H, W]: the pixels of uint8 [H, W, 3] that are bright and grey (and not warm, if given)."""
    pixels = rgb.astype(np.float32) / 255.0
    value = pixels.max(-1)
    saturation = (value - pixels.min(-1)) / np.maximum(value, 1e-6)
    grey = (value >= min_value) & (saturation <= max_saturation)
    if max_warmth is not None:
        grey &= pixels[..., 0] - pixels[..., 2] <= max_warmth
    return grey


def apply_cloud_snow(rgb: np.ndarray, labels: np.ndarray, ids: CloudSnowIds, rule: CloudSnowRule = CloudSnowRule(),
                     cloud: bool = True, snow: bool = True) -> np.ndarray:
    """A copy of uint8 labels [H, W] with the rule's cloud and snow (or only one of them); `rgb` is the
    photo, uint8 [H, W, 3]."""
    out = labels.copy()
    unlabelled = labels >= min(ids.cloud, ids.snow)  # the segmenter's ignore label and the bank's boundary band
    sky = labels == ids.sky
    if cloud:
        clouds = _touching(bright_grey(rgb, rule.cloud_min_value, rule.cloud_max_saturation) & (sky | unlabelled), sky, 1)
        out[_without_speckles(clouds, rule.min_pixels)] = ids.cloud
    if not snow:
        return out
    snowy = bright_grey(rgb, rule.snow_min_value, rule.snow_max_saturation, rule.snow_max_warmth)
    snowy &= ~_touching(snowy & (labels == ids.tree), sky)
    ground = np.isin(labels, ids.snow_ground)
    off_road = np.isin(labels, [c for c in ids.snow_ground if c != ids.road])
    snowfield = _touching(snowy & (ground | unlabelled), ground, 1)
    if (snowfield & off_road).sum() >= rule.min_snowy_scene * labels.size:
        out[_without_speckles(snowfield, rule.min_pixels)] = ids.snow
    return out


def winter_snowfield(rgb: np.ndarray, not_sky: np.ndarray, rule: WinterSnowRule = WinterSnowRule()) -> np.ndarray:
    """bool [H, W]: the snowfields of a winter photo, uint8 [H, W, 3], among the pixels `not_sky` (bool [H, W])."""
    candidates = bright_grey(rgb, rule.min_value, rule.max_saturation, rule.max_warmth) & not_sky
    components, count = ndimage.label(candidates)
    if not count:
        return candidates
    sizes = np.bincount(components.ravel(), minlength=count + 1)
    rows = np.bincount(components.ravel(), np.repeat(np.arange(rgb.shape[0]), rgb.shape[1]), count + 1)
    centres = rows / np.maximum(sizes, 1) / rgb.shape[0]
    kept = (sizes >= rule.min_share * components.size) & (centres >= rule.min_centre)
    kept[0] = False
    return kept[components]


CLOUD_SCALES = (0.1, 0.05, 0.025)  # the billows' largest scales, as shares of the picture's side


def billowed_clouds(labels: np.ndarray, ids: CloudSnowIds, seed: int, reach: float) -> np.ndarray:
    """A copy of uint8 labels [H, W] whose painted clouds have a cloud's outline: each cloud's edge against the
    sky pushed in and out by seeded smooth noise of three scales, up to `reach` of the picture's side (less for
    a thin cloud, so it keeps its place), its upper edge more than its underside (a cumulus billows up, its
    base stays level). The noise's scales follow each cloud's size: a small cloud gets small heaps, not one
    bulge. A painted ellipse copied from photos' cloud cores reads as a grey disk on the sky."""
    clouds = labels == ids.cloud
    if not clouds.any():
        return labels
    air = clouds | (labels == ids.sky)
    inside = ndimage.distance_transform_edt(clouds)
    outside, (rows, cols) = ndimage.distance_transform_edt(~clouds, return_indices=True)
    signed = inside - outside  # pixels; positive inside a cloud
    components, thickness = cloud_thickness(clouds, inside)
    nearest = components[rows, cols]  # each pixel's nearest cloud, 1..count
    side = max(labels.shape)
    reaches = np.minimum(reach * side, 0.6 * thickness)
    white = _white_noise(tuple(labels.shape), seed)
    noise = np.zeros(labels.shape)
    for cloud, box in enumerate(ndimage.find_objects(components), start=1):
        sigmas = [min(scale * side / 2, thickness[cloud - 1] * share)
                  for scale, share in zip(CLOUD_SCALES, (0.5, 0.25, 0.125))]
        pad = int(reaches[cloud - 1] + 3 * sigmas[0]) + 1
        box = tuple(slice(max(b.start - pad, 0), b.stop + pad) for b in box)
        layers = [ndimage.gaussian_filter(layer[box], sigma) for layer, sigma in zip(white, sigmas)]
        field = sum(layer / (layer.std() + 1e-9) * 0.5 ** octave for octave, layer in enumerate(layers))
        own = nearest[box] == cloud
        noise[box][own] = field[own] / sum(0.5 ** octave for octave in range(len(layers)))
    amplitude = reaches[nearest - 1]
    faces_up = np.clip(0.5 + 0.5 * np.gradient(signed, axis=0), 0.3, 1.0)  # the edge's outward normal points up
    billowed = (signed + amplitude * faces_up * (np.abs(noise) + 0.6 * noise) > 0) & air
    out = labels.copy()
    out[air] = np.where(billowed[air], ids.cloud, ids.sky)
    return out


def cloud_thickness(clouds: np.ndarray, inside: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(each pixel's connected cloud, 1..N, 0 off clouds; each cloud's thickness [N]: its largest distance to
    its edge, from `inside`, the distance transform of `clouds`)."""
    components, count = ndimage.label(clouds)
    return components, np.asarray(ndimage.maximum(inside, components, np.arange(1, count + 1)), np.float64)


@functools.lru_cache(maxsize=8)  # a live painter's strokes reuse its seed's noise
def _white_noise(shape: tuple[int, int], seed: int) -> tuple[np.ndarray, ...]:
    """One read-only float64 [H, W] layer of white noise per scale of `CLOUD_SCALES`."""
    rng = np.random.default_rng(seed)
    layers = tuple(rng.standard_normal(shape) for _ in CLOUD_SCALES)
    for layer in layers:
        layer.flags.writeable = False
    return layers


def _touching(mask: np.ndarray, other: np.ndarray, reach: int = 4) -> np.ndarray:
    """The connected components of `mask` within `reach` pixels of `other` (the bank's label maps leave an
    unlabelled band between classes)."""
    components, count = ndimage.label(mask)
    if not count:
        return mask
    touched = np.unique(components[ndimage.binary_dilation(other, np.ones((3, 3), bool), reach) & mask])
    return np.isin(components, touched[touched > 0])


def _without_speckles(mask: np.ndarray, min_pixels: int) -> np.ndarray:
    components, count = ndimage.label(mask)
    if not count:
        return mask
    return mask & (np.bincount(components.ravel(), minlength=count + 1)[components] >= min_pixels)
