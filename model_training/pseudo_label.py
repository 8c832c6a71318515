"""Label unlabelled photo folders with a trained segmenter, as GauGAN's own landscape data was labelled.

Writes `OUT/images/<folder>_<name>.jpg` and `OUT/labels/<folder>_<name>.png` (index PNG): a root that
`LabelPhotoFolder` reads as extra training data."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from model_training.checkpoints import load_run
from model_training.data.folders import list_photos
from model_training.data.transforms import photo_tensor
from model_training.datasets import label_set_of


@torch.no_grad()
def pseudo_label(segmenter_run: str | Path, folders: list[Path], out: Path, size: int, min_confidence: float,
                 limit: int | None = None) -> int:
    config, modules, _ = load_run(segmenter_run)
    torch.set_num_threads(config.run.threads or torch.get_num_threads())
    if config.family != "segmenter":
        raise ValueError(f"{segmenter_run} is a {config.family} run, not a segmenter")
    model, label_set = modules["model"], label_set_of(config)
    ignore = label_set.ignore_id if label_set.ignore_id is not None else 255
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    written, ignored = 0, 0.0
    for folder in folders:
        prefix = folder.parent.name + "_" + folder.name
        for path in list_photos(folder)[:limit]:
            photo = Image.open(path).convert("RGB")
            # The segmenter needs sides divisible by 32: label at a fixed square, then resize back.
            probabilities = model(photo_tensor(photo.resize((size, size), Image.Resampling.BICUBIC))[None]).softmax(1)
            confidence, labels = probabilities.max(1)
            labels[confidence < min_confidence] = ignore
            ignored += float((confidence < min_confidence).float().mean())
            name = f"{prefix}_{path.stem}".replace(" ", "_").replace(":", "-")
            index_map = Image.fromarray(labels[0].numpy().astype(np.uint8), "L").resize(photo.size, Image.Resampling.NEAREST)
            index_map.save(out / "labels" / f"{name}.png")
            shutil.copy(path, out / "images" / f"{name}{path.suffix.lower()}")
            written += 1
    print(f"pseudo-labelled {written} photos into {out} ({ignored / max(written, 1):.1%} of pixels below "
          f"confidence {min_confidence} set to ignore)")
    return written
