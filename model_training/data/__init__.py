"""Dataset readers. Every sample is a dict of tensors: images float32 [C, H, W] in [-1, 1], label maps
int64 [1, H, W] of class indices."""

from model_training.data.folders import (
    FacadePairs,
    LabelPhotoFolder,
    PhotoFolder,
    SketchPhotoFolder,
    UnpairedFolders,
)

__all__ = ["FacadePairs", "LabelPhotoFolder", "PhotoFolder", "SketchPhotoFolder", "UnpairedFolders"]
