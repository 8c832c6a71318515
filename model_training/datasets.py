"""Build the dataset a config names."""

from __future__ import annotations

from torch.utils.data import Dataset, Subset

from backend.cards import LabelSet
from model_training.config import TrainConfig
from model_training.data import FacadePairs, LabelPhotoFolder, SketchPhotoFolder, UnpairedFolders
from model_training.data.photometric import PhotoAugment
from model_training.data.transforms import Geometry
from model_training.labelsets import LABEL_SETS


def label_set_of(config: TrainConfig) -> LabelSet:
    if config.data.label_set not in LABEL_SETS:
        raise ValueError(f"data.label_set must be one of {sorted(LABEL_SETS)}, got {config.data.label_set!r}")
    return LABEL_SETS[config.data.label_set]


def build_dataset(config: TrainConfig, train: bool) -> Dataset:
    """Training: random crops of `crop_size` at the `load_size` scale. Validation: the centre
    `load_size` square, deterministic, limited to `val_limit` images."""
    d = config.data
    if train:
        return _dataset(config, d.train_split, Geometry(d.load_size, d.crop_size, True), train=True,
                        augment=photo_augment(config) if d.photo_augment else None)
    dataset = _dataset(config, d.val_split, Geometry(d.load_size, d.load_size, False), train=False)
    return Subset(dataset, range(d.val_limit)) if len(dataset) > d.val_limit else dataset


def training_photos(config: TrainConfig) -> Dataset:
    """The training split as the model sees it at inference: whole `load_size` centre squares, no
    augmentation, deterministic."""
    d = config.data
    return _dataset(config, d.train_split, Geometry(d.load_size, d.load_size, False), train=True)


def photo_augment(config: TrainConfig) -> PhotoAugment:
    if config.data.dataset != "label_folders":
        raise ValueError("data.photo_augment needs label-folder data (data.dataset = 'label_folders')")
    sky = [c.id for c in label_set_of(config).classes if c.name == "sky"]
    if not sky:
        raise ValueError(f"data.photo_augment needs a 'sky' class; {config.data.label_set} has none")
    return PhotoAugment(sky_id=sky[0])


def _dataset(config: TrainConfig, split: str, geometry: Geometry, train: bool,
             augment: PhotoAugment | None = None) -> Dataset:
    d = config.data
    if d.dataset == "label_folders":
        return LabelPhotoFolder(d.roots, split, geometry, augment)
    if d.dataset == "facades":
        return FacadePairs(d.roots[0], split, geometry, label_set_of(config))
    if d.dataset == "sketch_photos":
        # The last root holds out validation photos; the others train.
        return SketchPhotoFolder(d.roots[:-1] if train else d.roots[-1:], geometry)
    if d.dataset == "unpaired":
        return UnpairedFolders(d.roots[0], split, geometry, d.folder_a, d.folder_b, d.hold_out_every)
    raise ValueError(f"unknown data.dataset {d.dataset!r}")
