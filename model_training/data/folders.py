"""Readers for the four dataset layouts: paired label/photo folders, side-by-side facades, unpaired
domains and plain photo folders (from which sketches are drawn)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
from PIL import Image
from torch.utils.data import Dataset

from backend.cards import LabelSet
from model_training.data.photometric import PhotoAugment
from model_training.data.transforms import Geometry, label_tensor, photo_tensor
from model_training.labelsets import quantise_colours

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png"}


def list_photos(folder: Path) -> list[Path]:
    paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
    if not paths:
        raise FileNotFoundError(f"no images in {folder}")
    return paths


def unpack_key(key: int | tuple[int, int], train: bool) -> tuple[int, random.Random]:
    """A key is an index, or (index, augmentation seed) from the resumable batch order. Validation samples
    are a pure function of the index; training samples with a bare index are random."""
    if isinstance(key, tuple):
        return key[0], random.Random(key[1])
    return key, (random.Random() if train else random.Random(key))


class LabelPhotoFolder(Dataset):
    """`root/images/NAME.jpg` + `root/labels/NAME.png` (index PNG), optional `root/splits/<split>.txt`.

    Several roots may be given (for example Stanford Background plus pseudo-labelled photos); a root
    without split lists counts as training data only. `augment` changes the photo's colours after the
    geometry (training only)."""

    def __init__(self, roots: list[str | Path] | str | Path, split: str, geometry: Geometry,
                 augment: PhotoAugment | None = None):
        self.geometry, self.augment = geometry, augment
        self.items: list[tuple[Path, Path]] = []
        for root in [roots] if isinstance(roots, (str, Path)) else roots:
            root = Path(root)
            split_file = root / "splits" / f"{split}.txt"
            if split_file.exists():
                names = [n.strip() for n in split_file.read_text().splitlines() if n.strip()]
            elif split == "train":  # a root without split lists (pseudo-labels) only adds training data
                names = [p.stem for p in sorted((root / "labels").glob("*.png"))]
            else:
                continue
            for name in names:
                image = next((root / "images" / f"{name}{s}" for s in (".jpg", ".png", ".jpeg")
                              if (root / "images" / f"{name}{s}").exists()), None)
                if image is None:
                    raise FileNotFoundError(f"no photo for label map {name} in {root / 'images'}")
                self.items.append((image, root / "labels" / f"{name}.png"))
        if not self.items:
            raise FileNotFoundError(f"no label/photo pairs in {roots} for split {split!r}")

    def __len__(self) -> int:
        return len(self.items)

    def class_pixel_counts(self, num_classes: int) -> np.ndarray:
        """Pixels of each class over every label map (other ids, such as the ignore label, not counted)."""
        counts = np.zeros(num_classes, np.int64)
        for _, label_path in self.items:
            counts += np.bincount(np.asarray(Image.open(label_path)).ravel(), minlength=256)[:num_classes]
        return counts

    def __getitem__(self, key) -> dict:
        index, rng = unpack_key(key, self.geometry.train)
        image_path, label_path = self.items[index]
        photo = Image.open(image_path).convert("RGB")
        labels = Image.open(label_path)
        if labels.mode not in ("L", "P"):
            raise ValueError(f"{label_path} is mode {labels.mode}, expected an index PNG (L or P)")
        if labels.size != photo.size:
            labels = labels.resize(photo.size, Image.Resampling.NEAREST)
        plan = self.geometry.plan(*photo.size, rng)
        photo = self.geometry.apply(photo, plan, Image.Resampling.BICUBIC)
        labels = self.geometry.apply(labels, plan, Image.Resampling.NEAREST)
        if self.augment is not None:
            photo = self.augment(photo, labels, rng)
        return {"image": photo_tensor(photo), "labels": label_tensor(labels), "name": image_path.stem}


class FacadePairs(Dataset):
    """pix2pix layout: `root/train/N.jpg` is photo | colour-coded label side by side.

    The colour labels are quantised to the nearest class colour. `split="val"` holds out every
    `val_every`-th training image (there is no official validation split); `split="test"` reads `test/`."""

    def __init__(self, root: str | Path, split: str, geometry: Geometry, label_set: LabelSet, val_every: int = 10):
        folder = Path(root) / ("test" if split == "test" else "train")
        paths = sorted(list_photos(folder), key=lambda p: (len(p.stem), p.stem))
        if split == "train":
            paths = [p for i, p in enumerate(paths) if i % val_every != 0]
        elif split == "val":
            paths = [p for i, p in enumerate(paths) if i % val_every == 0]
        self.paths, self.geometry, self.label_set = paths, geometry, label_set
        self._labels: dict[int, Image.Image] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def _label_map(self, index: int, pair: Image.Image) -> Image.Image:
        if index not in self._labels:  # quantising is the slow part: do it once per image
            half = np.asarray(pair.crop((pair.width // 2, 0, pair.width, pair.height)))
            self._labels[index] = Image.fromarray(quantise_colours(half, self.label_set).astype(np.uint8), "L")
        return self._labels[index]

    def __getitem__(self, key) -> dict:
        index, rng = unpack_key(key, self.geometry.train)
        pair = Image.open(self.paths[index]).convert("RGB")
        photo = pair.crop((0, 0, pair.width // 2, pair.height))
        labels = self._label_map(index, pair)
        plan = self.geometry.plan(*photo.size, rng)
        return {
            "image": photo_tensor(self.geometry.apply(photo, plan, Image.Resampling.BICUBIC)),
            "labels": label_tensor(self.geometry.apply(labels, plan, Image.Resampling.NEAREST)),
            "name": self.paths[index].stem,
        }


class PhotoFolder(Dataset):
    """A single folder of photos (several folders may be given)."""

    def __init__(self, folders: list[str | Path] | str | Path, geometry: Geometry, limit: int | None = None):
        folders = [folders] if isinstance(folders, (str, Path)) else folders
        self.paths = [p for f in folders for p in list_photos(Path(f))][:limit]
        self.geometry = geometry

    def __len__(self) -> int:
        return len(self.paths)

    def load(self, index: int, rng: random.Random) -> Image.Image:
        photo = Image.open(self.paths[index]).convert("RGB")
        plan = self.geometry.plan(*photo.size, rng)
        return self.geometry.apply(photo, plan, Image.Resampling.BICUBIC)

    def __getitem__(self, key) -> dict:
        index, rng = unpack_key(key, self.geometry.train)
        return {"image": photo_tensor(self.load(index, rng)), "name": self.paths[index].stem}


class SketchPhotoFolder(PhotoFolder):
    """Photos paired with the line drawing the sketch extractor makes of the same crop."""

    def __getitem__(self, key) -> dict:
        from backend.sketch import extract_sketch

        index, rng = unpack_key(key, self.geometry.train)
        photo = self.load(index, rng)
        sketch = Image.fromarray(extract_sketch(np.asarray(photo)), "L")
        return {"image": photo_tensor(photo), "sketch": photo_tensor(sketch), "name": self.paths[index].stem}


class UnpairedFolders(Dataset):
    """Two unaligned domains A and B. `root` with `trainA/ trainB/ testA/ testB/`, or two named folders.

    `hold_out_every` n: every n-th training image of each domain is held out for any split other than
    "train" (as FacadePairs does). Named folders have no test split, so there it is all of validation;
    with train/test folders those held-out images join the test folder's (0: the test folder alone)."""

    def __init__(self, root: str | Path, split: str, geometry: Geometry,
                 folder_a: str | None = None, folder_b: str | None = None, hold_out_every: int = 0):
        root = Path(root)
        named = bool(folder_a and folder_b)
        self.a, self.b = (PhotoFolder(root / (folder or f"train{d}"), geometry)
                          for folder, d in ((folder_a, "A"), (folder_b, "B")))
        for domain, d in ((self.a, "A"), (self.b, "B")):
            held_out = domain.paths[::hold_out_every] if hold_out_every else []
            if split == "train":
                domain.paths = [p for i, p in enumerate(domain.paths) if not hold_out_every or i % hold_out_every]
            else:
                test = [] if named else PhotoFolder(root / f"test{d}", geometry).paths
                domain.paths = test + held_out
        self.train = geometry.train

    def __len__(self) -> int:
        return max(len(self.a), len(self.b))

    def __getitem__(self, key) -> dict:
        # Training pairs A with a random B so no fixed pairing is learned; validation is deterministic.
        index, rng = unpack_key(key, self.train)
        b_index = rng.randrange(len(self.b)) if self.train else index % len(self.b)
        return {"A": photo_tensor(self.a.load(index % len(self.a), rng)),
                "B": photo_tensor(self.b.load(b_index, rng))}
