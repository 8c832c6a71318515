"""The hybrid renderer's first stage (SIMS, Qi et al. CVPR 2018): a canvas of real photo segments.

For each connected region of a painted label map, retrieve segments of the same class from the exemplar
bank (by mask shape, size, position in the frame and how close their photo's colours are to the style),
warp each segment's bounding box onto the region's and paste its pixels where both masks agree, a few
segments deep; pixels still uncovered take the nearest pasted pixel, and `filled` tells the refining network
which pixels are real. numpy + scipy + Pillow only: the server and training both call it.
"""

from __future__ import annotations

import io
import threading
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from backend import seeded

STYLE_DIM = 6  # mean and std of R, G, B in [0, 1]
SHAPE_GRID = 16  # a segment's mask inside its bounding box, resampled to 16 x 16
NO_SEGMENT = 255  # in a bank label map: a pixel no segment uses (boundaries, unknown)
# Bank photos under this root (`python -m model_training snow-photos`) only lend the landscape renderer their
# snow and sky: they have no segments and are not among the random looks.
SNOW_ROOT = "winter-snow"
MIN_REGION_PIXELS = 12  # smaller painted specks are left to the nearest-pixel fill
TOP_K = 6  # the seed picks among this many best-scoring segments
MAX_LAYERS = 3  # segments pasted per region before the rest is filled
DONE_FRACTION = 0.02  # a region counts as covered when less than this much of it is still empty
PHOTO_CACHE = 384  # decoded bank photos kept in memory (each ~260 kB at 256 px)
# Retrieval score weights: 1 - mask IoU, |log| size ratios, offset in the frame, style distance.
SHAPE_WEIGHT, SCALE_WEIGHT, POSITION_WEIGHT, STYLE_WEIGHT = 1.0, 0.5, 1.5, 4.0

BANK_ARRAYS = ("photo_jpeg", "photo_offsets", "labels_png", "labels_offsets", "photo_size", "photo_style",
               "photo_names", "seg_photo", "seg_class", "seg_box", "seg_shape")


def colour_style(rgb: np.ndarray) -> np.ndarray:
    """uint8 [H, W, 3] -> [6] float32: per-channel mean and std in [0, 1]."""
    pixels = rgb.reshape(-1, 3).astype(np.float32) / 255.0
    return np.concatenate([pixels.mean(0), pixels.std(0)]).astype(np.float32)


def shape_descriptor(mask: np.ndarray) -> np.ndarray:
    """bool [h, w] (a region inside its bounding box) -> [SHAPE_GRID**2] float32 coverage in [0, 1]."""
    image = Image.fromarray(mask.astype(np.uint8) * 255, "L").resize((SHAPE_GRID, SHAPE_GRID), Image.Resampling.BOX)
    return np.asarray(image, np.float32).ravel() / 255.0


@dataclass
class Canvas:
    rgb: np.ndarray  # uint8 [H, W, 3]
    filled: np.ndarray  # bool [H, W]: True where the pixel is a bank photo's own


@dataclass(frozen=True)
class Augmentation:
    """Training only: the canvas a real painting would give is imperfect, so the network learns to fix it."""

    colour_jitter: float = 0.12  # per segment, per channel gain in 1 +- this, offset in +- this / 2
    max_shift: int = 4  # pixels a pasted segment may slip
    drop: float = 0.1  # chance a pasted segment is left out (a hole)


class ExemplarBank:
    """Photos (JPEG) with their segment label maps (PNG), and a table of segments to retrieve from."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        missing = [name for name in BANK_ARRAYS if name not in arrays]
        if missing:
            raise ValueError(f"exemplar bank lacks {', '.join(missing)}")
        self.arrays = arrays
        self.num_photos = len(arrays["photo_size"])
        self.photo_size = arrays["photo_size"].astype(np.int64)  # [P, 2] height, width
        self.photo_styles = arrays["photo_style"].astype(np.float32)
        self.snow_only = np.char.startswith(arrays["photo_names"].astype(str), f"{SNOW_ROOT}/")
        self.look_photos = np.flatnonzero(~self.snow_only)
        self.seg_photo = arrays["seg_photo"].astype(np.int64)
        self.seg_class = arrays["seg_class"].astype(np.int64)
        self.seg_box = arrays["seg_box"].astype(np.int64)  # [S, 4] y0, x0, y1, x1 (exclusive)
        self.seg_shape = arrays["seg_shape"].astype(np.float32) / 255.0
        if len(arrays["photo_offsets"]) != self.num_photos + 1 or len(arrays["labels_offsets"]) != self.num_photos + 1:
            raise ValueError("exemplar bank offsets do not match its photo count")
        if self.seg_photo.size and (self.seg_photo.min() < 0 or self.seg_photo.max() >= self.num_photos):
            raise ValueError("exemplar bank segments name photos it does not have")
        heights, widths = self.photo_size[self.seg_photo, 0], self.photo_size[self.seg_photo, 1]
        box = self.seg_box.astype(np.float64)
        # A segment's size as a fraction of its photo's longer side: photos may be stored at any size.
        longer = np.maximum(heights, widths)
        self.seg_height, self.seg_width = (box[:, 2] - box[:, 0]) / longer, (box[:, 3] - box[:, 1]) / longer
        # Where the segment sits in its photo, as fractions of the frame (perspective depends on it).
        self.seg_centre = np.stack([(box[:, 0] + box[:, 2]) / 2 / heights, (box[:, 1] + box[:, 3]) / 2 / widths], 1)
        self.seg_cut = frame_cut(self.seg_box, heights, widths)
        self.by_class = {int(c): _ClassSegments.of(self, np.flatnonzero(self.seg_class == c))
                         for c in np.unique(self.seg_class)}
        self._cache: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: Path) -> "ExemplarBank":
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
            raise ValueError(f"cannot read exemplar bank {Path(path).name}: {exc}") from exc
        return cls(arrays)

    def segments_per_class(self) -> dict[int, int]:
        return {c: len(segments.ids) for c, segments in self.by_class.items()}

    def photo_style(self, index: int) -> np.ndarray:
        return self.photo_styles[index]

    def random_style(self, seed: int) -> np.ndarray:
        """A seeded draw from the bank's looks: look photo floor(u * look photos) for the seed's first uniform
        u (backend/seeded.py); the snow-only photos are not looks."""
        return self.photo_styles[self.look_photos[int(seeded.uniforms(seed, 1)[0] * len(self.look_photos))]]

    def photo(self, index: int, keep: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """(uint8 [h, w, 3] photo, uint8 [h, w] segment labels), decoded once and kept while used (unless
        `keep` is False: a pass over the whole bank must not evict the photos in use)."""
        with self._lock:
            if index in self._cache:
                self._cache.move_to_end(index)
                return self._cache[index]
        decoded = (self._decode("photo_jpeg", "photo_offsets", index, "RGB"),
                   self._decode("labels_png", "labels_offsets", index, "L"))
        if not keep:
            return decoded
        with self._lock:
            self._cache[index] = decoded
            while len(self._cache) > PHOTO_CACHE:
                self._cache.popitem(last=False)
        return decoded

    def label_map(self, index: int) -> np.ndarray:
        """uint8 [h, w] segment labels of one photo, decoded without its photo (retrieval indexes them all)."""
        return self._decode("labels_png", "labels_offsets", index, "L")

    def _decode(self, blob: str, offsets: str, index: int, mode: str) -> np.ndarray:
        start, end = self.arrays[offsets][index], self.arrays[offsets][index + 1]
        with Image.open(io.BytesIO(self.arrays[blob][start:end].tobytes())) as image:
            return np.asarray(image.convert(mode))


@dataclass(frozen=True)
class _ClassSegments:
    """One class's rows of the segment table, gathered once so retrieval scores them without copying."""

    ids: np.ndarray
    photo: np.ndarray
    shape: np.ndarray  # [n, SHAPE_GRID**2]
    shape_area: np.ndarray
    log_height: np.ndarray
    log_width: np.ndarray
    centre: np.ndarray  # [n, 2]
    cut: np.ndarray  # bool [n, 4]: the frame cuts the segment at its top, left, bottom, right

    @classmethod
    def of(cls, bank: "ExemplarBank", ids: np.ndarray) -> "_ClassSegments":
        shape = bank.seg_shape[ids]
        return cls(ids=ids, photo=bank.seg_photo[ids], shape=shape, shape_area=shape.sum(1),
                   log_height=np.log(bank.seg_height[ids]), log_width=np.log(bank.seg_width[ids]),
                   centre=bank.seg_centre[ids], cut=bank.seg_cut[ids])


@dataclass(frozen=True)
class Region:
    """A connected region of one class in a label map."""

    cls: int
    box: tuple[int, int, int, int]  # y0, x0, y1, x1 (exclusive)
    mask: np.ndarray  # bool, inside the box


def connected_regions(labels: np.ndarray, num_classes: int, min_pixels: int) -> list[Region]:
    """Connected regions of each class with at least `min_pixels`, in class then scan order (deterministic).
    The bank's segments are cut the same way."""
    regions = []
    for cls in np.intersect1d(np.unique(labels), np.arange(num_classes)):
        components, _ = ndimage.label(labels == cls)
        for index, window in enumerate(ndimage.find_objects(components), start=1):
            if window is None:
                continue
            mask = components[window] == index
            if mask.sum() >= min_pixels:
                regions.append(Region(int(cls), (window[0].start, window[1].start, window[0].stop, window[1].stop), mask))
    return regions


def frame_cut(boxes: np.ndarray, heights: np.ndarray | int, widths: np.ndarray | int) -> np.ndarray:
    """bool [n, 4]: whether each box (y0, x0, y1, x1) meets its frame's top, left, bottom, right edge."""
    boxes = np.asarray(boxes).reshape(-1, 4)
    return np.stack([boxes[:, 0] <= 0, boxes[:, 1] <= 0, boxes[:, 2] >= heights, boxes[:, 3] >= widths], 1)


def ranked_segments(bank: ExemplarBank, region: Region, frame: tuple[int, int], photo_distance: np.ndarray,
                     exclude_photo: int | None, cut_weight: float = 0.0,
                     segment_cost: np.ndarray | None = None) -> np.ndarray:
    """The bank's segments of the region's class, best first by the retrieval score.

    `photo_distance` [P]: each bank photo's colour statistics' distance to the style. `cut_weight`: the cost
    of each side on which the segment's photo cut it off but the painting does not cut the region (the
    front half of a row of scooters is no object to paste in the middle of a street). `segment_cost` [S]: a
    further cost per segment of the bank."""
    segments = bank.by_class.get(region.cls)
    if segments is None:
        return np.empty(0, np.int64)
    y0, x0, y1, x1 = region.box
    shape = shape_descriptor(region.mask)
    # einsum's own loop, not `@`: OpenBLAS wakes its thread pool for every one of these small products,
    # which made them about 3x slower on the server's 2 cores, shared with onnxruntime.
    overlap = np.einsum("ij,j->i", segments.shape, shape)
    iou = overlap / np.maximum(segments.shape_area + shape.sum() - overlap, 1e-6)
    longer = max(frame)
    scale = np.abs(segments.log_height - np.log((y1 - y0) / longer)) + np.abs(segments.log_width - np.log((x1 - x0) / longer))
    offset = np.abs(segments.centre - [(y0 + y1) / 2 / frame[0], (x0 + x1) / 2 / frame[1]])
    position = 2.0 * offset[:, 0] + 0.5 * offset[:, 1]
    score = (SHAPE_WEIGHT * (1 - iou) + SCALE_WEIGHT * scale + POSITION_WEIGHT * position
             + STYLE_WEIGHT * photo_distance[segments.photo])
    if cut_weight:
        whole = ~frame_cut(np.array(region.box), *frame)[0]
        score = score + cut_weight * (segments.cut & whole).sum(1)
    if segment_cost is not None:
        score = score + segment_cost[segments.ids]
    if exclude_photo is not None:
        score[segments.photo == exclude_photo] = np.inf
    order = np.argsort(score, kind="stable")
    return segments.ids[order[np.isfinite(score[order])]]


def warped_segment(bank: ExemplarBank, segment: int, size: tuple[int, int], shift: tuple[int, int],
                   gain: np.ndarray | None,
                   resample: Image.Resampling = Image.Resampling.BILINEAR) -> tuple[np.ndarray, np.ndarray]:
    """A segment's bounding box of its photo resized to `size` (h, w): (uint8 rgb, bool mask)."""
    photo, labels = bank.photo(int(bank.seg_photo[segment]))
    y0, x0, y1, x1 = (int(v) for v in bank.seg_box[segment])
    dy, dx = shift
    h, w = photo.shape[:2]
    y0, y1 = np.clip([y0 + dy, y1 + dy], 0, h)
    x0, x1 = np.clip([x0 + dx, x1 + dx], 0, w)
    if y1 <= y0 or x1 <= x0:
        return np.zeros((*size, 3), np.uint8), np.zeros(size, bool)
    target = (size[1], size[0])
    rgb = np.asarray(Image.fromarray(photo[y0:y1, x0:x1]).resize(target, resample))
    mask_image = Image.fromarray(labels[y0:y1, x0:x1] == bank.seg_class[segment])
    mask = np.asarray(mask_image.resize(target, Image.Resampling.NEAREST))
    if gain is not None:
        rgb = np.clip(rgb.astype(np.float32) * gain[0] + gain[1] * 255, 0, 255).astype(np.uint8)
    return rgb, mask


def compose(bank: ExemplarBank, labels: np.ndarray, style: np.ndarray, seed: int, num_classes: int,
            exclude_photo: int | None = None, augment: Augmentation | None = None) -> Canvas:
    """A canvas for the label map (uint8 [H, W]); the same inputs and seed give the same canvas.

    `exclude_photo` keeps a bank photo's own segments out (training rebuilds a photo from the others')."""
    height, width = labels.shape
    rng = np.random.default_rng(seed)
    photo_distance = np.linalg.norm(bank.photo_styles - np.asarray(style, np.float32), axis=1)
    rgb = np.zeros((height, width, 3), np.uint8)
    filled = np.zeros((height, width), bool)
    for region in connected_regions(labels, num_classes, MIN_REGION_PIXELS):
        ranked = ranked_segments(bank, region, (height, width), photo_distance, exclude_photo)
        if ranked.size == 0:
            continue
        # The seed picks the first segment among the best few; the next best patch what it leaves.
        first = int(rng.integers(min(TOP_K, ranked.size)))
        picks = [ranked[first], *np.delete(ranked[:TOP_K + MAX_LAYERS], first)][:MAX_LAYERS]
        y0, x0, y1, x1 = region.box
        window_filled = filled[y0:y1, x0:x1]
        for segment in picks:
            empty = region.mask & ~window_filled
            if empty.sum() < DONE_FRACTION * region.mask.sum():
                break
            shift, gain = (0, 0), None
            if augment is not None:
                if rng.random() < augment.drop:
                    continue
                shift = tuple(int(v) for v in rng.integers(-augment.max_shift, augment.max_shift + 1, 2))
                gain = (1 + rng.uniform(-augment.colour_jitter, augment.colour_jitter, 3),
                        rng.uniform(-augment.colour_jitter, augment.colour_jitter, 3) / 2)
            patch, mask = warped_segment(bank, segment, (y1 - y0, x1 - x0), shift, gain)
            paste = empty & mask
            rgb[y0:y1, x0:x1][paste] = patch[paste]
            window_filled |= paste
    _fill_from_nearest(rgb, filled)
    return Canvas(rgb=rgb, filled=filled)


def _fill_from_nearest(rgb: np.ndarray, filled: np.ndarray) -> None:
    """Every pixel left empty takes the colour of the nearest filled one (mid grey if none is)."""
    if not filled.any():
        rgb[:] = 128
        return
    if filled.all():
        return
    _, (rows, cols) = ndimage.distance_transform_edt(~filled, return_indices=True)
    rgb[:] = rgb[rows, cols]


def refiner_feeds(labels: np.ndarray, canvas: Canvas) -> dict[str, np.ndarray]:
    """The refining network's inputs for one label map and its canvas (docs/ARCHITECTURE.md)."""
    return {
        "labels": labels.astype(np.int64)[None, None],
        "canvas": (canvas.rgb.astype(np.float32).transpose(2, 0, 1)[None] / 127.5 - 1.0),
        "filled": canvas.filled.astype(np.float32)[None, None],
    }
