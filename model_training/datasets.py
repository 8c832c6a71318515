"""Build the dataset a config names."""

from __future__ import annotations

from torch.utils.data import Dataset, Subset

from backend.cards import LabelSet
from model_training.config import TrainConfig
from model_training.data import FacadePairs, LabelPhotoFolder, SketchPhotoFolder, UnpairedFolders
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
    geometry = Geometry(d.load_size, d.crop_size, True) if train else Geometry(d.load_size, d.load_size, False)
    split = d.train_split if train else d.val_split
    if d.dataset == "label_folders":
        dataset = LabelPhotoFolder(d.roots, split, geometry)
    elif d.dataset == "facades":
        dataset = FacadePairs(d.roots[0], split, geometry, label_set_of(config))
    elif d.dataset == "sketch_photos":
        # The last root holds out validation photos; the others train.
        dataset = SketchPhotoFolder(d.roots[:-1] if train else d.roots[-1:], geometry)
    elif d.dataset == "unpaired":
        dataset = UnpairedFolders(d.roots[0], split, geometry, d.folder_a, d.folder_b)
    else:
        raise ValueError(f"unknown data.dataset {d.dataset!r}")
    if not train and len(dataset) > d.val_limit:
        dataset = Subset(dataset, range(d.val_limit))
    return dataset
