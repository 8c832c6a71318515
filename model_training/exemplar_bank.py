"""Build the hybrid renderer's exemplar bank: every sizeable connected segment of every class, cut from
labelled photos (Stanford Background's own labels, and photos labelled by the segmenter).

One `.npz` file (no pickles): the photos as JPEG and their label maps as PNG, both at most `max_side`
pixels (a JPEG photo no larger is stored as its own file's bytes: its pixels as they are, never compressed
twice), each label map with a thin band at class boundaries set to NO_SEGMENT (mixed pixels there would
paste a halo of the neighbouring class), and a table of segments with their class, box and mask shape.
The server reads it with `backend.hybrid.ExemplarBank`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from backend.cloud_snow import WinterSnowRule, winter_snowfield
from backend.hybrid import NO_SEGMENT, SNOW_ROOT, colour_style, connected_regions, shape_descriptor
from model_training.data.folders import LabelPhotoFolder
from model_training.data.transforms import Geometry


@dataclass(frozen=True)
class BankConfig:
    # Photos larger than this are brought down to it. Stanford's own 320 x 240 stay as they are: the landscape
    # renderer brings each exemplar to the canvas's scale itself, and from a larger photo it is sharper.
    max_side: int = 320
    jpeg_quality: int = 85
    min_segment_pixels: int = 150
    boundary_band: int = 1  # pixels removed from each side of a class boundary


def scaled_pair(image_path: Path, label_path: Path, max_side: int) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 photo [h, w, 3], uint8 labels [h, w]) with the longer side `max_side`."""
    photo = Image.open(image_path).convert("RGB")
    labels = Image.open(label_path)
    scale = max_side / max(photo.size)
    size = (round(photo.width * scale), round(photo.height * scale))
    return (np.asarray(photo.resize(size, Image.Resampling.BICUBIC)),
            np.asarray(labels.resize(size, Image.Resampling.NEAREST)))


def _stored_photo(image_path: Path, label_path: Path, max_side: int, quality: int) -> tuple[bytes, np.ndarray, np.ndarray]:
    """(the JPEG bytes the bank stores, uint8 photo [h, w, 3], uint8 labels [h, w]): a photo larger than
    `max_side` brought down to it; a JPEG no larger, its own file's bytes."""
    with Image.open(image_path) as stored:
        fits = max(stored.size) <= max_side
        as_is = fits and stored.format == "JPEG" and stored.mode == "RGB"
    if not fits:
        photo, labels = scaled_pair(image_path, label_path, max_side)
        return _encode(Image.fromarray(photo), "JPEG", quality=quality), photo, labels
    photo = Image.open(image_path).convert("RGB")
    labels = np.asarray(Image.open(label_path).resize(photo.size, Image.Resampling.NEAREST))
    data = image_path.read_bytes() if as_is else _encode(photo, "JPEG", quality=quality)
    return data, np.asarray(photo), labels


def bank_photo_name(image_path: Path) -> str:
    """How the bank names a photo: its dataset root's folder and its file name."""
    return f"{image_path.parent.parent.name}/{image_path.name}"


def segment_labels(labels: np.ndarray, num_classes: int, band: int) -> np.ndarray:
    """Class ids inside each class's eroded mask, NO_SEGMENT elsewhere."""
    out = np.full(labels.shape, NO_SEGMENT, np.uint8)
    for cls in range(num_classes):
        mask = labels == cls
        if band > 0 and mask.any():
            mask = ndimage.binary_erosion(mask, iterations=band, border_value=1)
        out[mask] = cls
    return out


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def build_bank(roots: list[str | Path], out: Path, num_classes: int, config: BankConfig = BankConfig(),
               limit: int | None = None, snow_roots: list[str | Path] = ()) -> dict[int, int]:
    """Write the bank of the roots' training photos to `out`, then the snow-only photos of `snow_roots`
    (`snow_photo_folder`: no segments); returns segments per class."""
    geometry = Geometry(config.max_side, config.max_side, False)
    items = LabelPhotoFolder([str(r) for r in roots], "train", geometry).items[:limit]
    if snow_roots:
        items += LabelPhotoFolder([str(r) for r in snow_roots], "train", geometry).items
    photos, label_maps, sizes, styles, names = [], [], [], [], []
    seg_photo, seg_class, seg_box, seg_shape = [], [], [], []
    for image_path, label_path in items:
        data, photo, labels = _stored_photo(image_path, label_path, config.max_side, config.jpeg_quality)
        segments = segment_labels(labels, num_classes, config.boundary_band)
        index = len(photos)
        snow_only = bank_photo_name(image_path).startswith(f"{SNOW_ROOT}/")
        for region in [] if snow_only else connected_regions(segments, num_classes, config.min_segment_pixels):
            seg_photo.append(index)
            seg_class.append(region.cls)
            seg_box.append(region.box)
            seg_shape.append(np.round(shape_descriptor(region.mask) * 255).astype(np.uint8))
        photos.append(data)
        label_maps.append(_encode(Image.fromarray(segments, "L"), "PNG", optimize=True))
        sizes.append(photo.shape[:2])
        styles.append(colour_style(photo))
        names.append(bank_photo_name(image_path))
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out,
             photo_jpeg=np.frombuffer(b"".join(photos), np.uint8),
             photo_offsets=np.cumsum([0] + [len(p) for p in photos]).astype(np.int64),
             labels_png=np.frombuffer(b"".join(label_maps), np.uint8),
             labels_offsets=np.cumsum([0] + [len(p) for p in label_maps]).astype(np.int64),
             photo_size=np.array(sizes, np.int32).reshape(-1, 2),
             photo_style=np.array(styles, np.float32).reshape(-1, 6),
             photo_names=np.array(names),
             seg_photo=np.array(seg_photo, np.int32),
             seg_class=np.array(seg_class, np.uint8),
             seg_box=np.array(seg_box, np.int32).reshape(-1, 4),
             seg_shape=np.array(seg_shape, np.uint8).reshape(len(seg_photo), -1))
    return {cls: seg_class.count(cls) for cls in range(num_classes)}


def bank_label_folder(bank_path: Path, root_name: str, photos: Path, out: Path) -> int:
    """Write the bank's photos of one root (`root_name`, e.g. "pseudo-landscape") back as a label folder
    `out/root_name/{images,labels}`: each photo's file from `photos` (the originals, by name), and its label
    map as the bank holds it with the boundary band closed again (build-bank cuts it anew), so that a bank
    can be built again from the same labels at another size. Returns the number of photos written."""
    from backend.hybrid import ExemplarBank

    bank = ExemplarBank.load(bank_path)
    folder = Path(out) / root_name
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "labels").mkdir(parents=True, exist_ok=True)
    written = 0
    for index, name in enumerate(bank.arrays["photo_names"]):
        root, file = str(name).split("/", 1)
        if root != root_name:
            continue
        labels = bank.label_map(index)
        unknown = labels == NO_SEGMENT
        band = unknown & ndimage.binary_dilation(~unknown, iterations=1)
        _, (rows, cols) = ndimage.distance_transform_edt(unknown, return_indices=True)
        closed = labels.copy()
        closed[band] = labels[rows[band], cols[band]]
        (folder / "images" / file).write_bytes((Path(photos) / file).read_bytes())
        Image.fromarray(closed).save(folder / "labels" / f"{Path(file).stem}.png")
        written += 1
    return written


def snow_photo_folder(labelled: Path, out: Path, sky: int, ignore: int, min_snow: float,
                      rule: WinterSnowRule = WinterSnowRule()) -> tuple[int, int]:
    """From winter photos labelled by the segmenter (`pseudo-label`'s images/ and labels/), write the label
    folder OUT/winter-snow: each photo, unless `framed`, whose snowfields (`winter_snowfield`) cover at least
    `min_snow` of it, its file as it is and its labels sky where the segmenter reads sky, `ignore` elsewhere
    (the renderer finds the snow again by the same rule). Returns (photos written, photos read)."""
    folder = Path(out) / SNOW_ROOT
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "labels").mkdir(parents=True, exist_ok=True)
    label_files = sorted((Path(labelled) / "labels").glob("*.png"))
    written = 0
    for label_file in label_files:
        (image_file,) = (Path(labelled) / "images").glob(f"{label_file.stem}.*")
        photo = np.asarray(Image.open(image_file).convert("RGB"))
        labels = np.asarray(Image.open(label_file).resize(photo.shape[1::-1], Image.Resampling.NEAREST))
        if framed(photo) or winter_snowfield(photo, labels != sky, rule).mean() < min_snow:
            continue
        (folder / "images" / image_file.name).write_bytes(image_file.read_bytes())
        Image.fromarray(np.where(labels == sky, sky, ignore).astype(np.uint8)).save(folder / "labels" / label_file.name)
        written += 1
    return written, len(label_files)


def framed(photo: np.ndarray, ring: int = 4, max_step: int = 10, min_flat: float = 0.5) -> bool:
    """Whether a photo has a mat or letterbox bars: at least `min_flat` of its outer `ring` pixels within
    `max_step` grey levels of their median colour (a white mat would be copied as snow)."""
    border = np.concatenate([photo[:ring].reshape(-1, 3), photo[-ring:].reshape(-1, 3),
                             photo[:, :ring].reshape(-1, 3), photo[:, -ring:].reshape(-1, 3)]).astype(np.int16)
    return bool((np.abs(border - np.median(border, 0)).max(1) < max_step).mean() >= min_flat)
