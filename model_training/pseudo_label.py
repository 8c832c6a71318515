"""Label unlabelled photo folders with a trained segmenter, as GauGAN's own landscape data was labelled, and
draw sheets of how it reads photos.

Writes `OUT/images/<folder>_<name>.jpg` and `OUT/labels/<folder>_<name>.png` (index PNG): a root that
`LabelPhotoFolder` reads as extra training data. Only confident, consistent labels are kept; the rest become
the ignore label, so self-training does not learn the segmenter's own mistakes back:
- pixels whose top class probability is below `min_confidence`;
- specks: connected regions of one class smaller than `min_component` of the image;
- sky out of order: sky lies above the ground, so in a column where a grounded class (road, grass, water,
  building, mountain) lies above sky, one of them is misread (a cloud read as building, a reflection read
  as sky), and the stretch of the column from the highest such grounded pixel to the lowest sky pixel is
  ignored. Trees and foreground objects may overhang the sky and are not checked;
- with a second segmenter (`agree_with`), pixels the two read as different classes: two segmenters that
  err differently (one reads granite cliffs as tree, the other sand as grass) keep what both see.

A segmenter is a training run's folder, or an exported graph (`<id>.onnx` beside its card), whose class
scores before its ArgMax give the probabilities."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from scipy import ndimage

from backend.cards import LabelSet
from model_training.checkpoints import load_run
from model_training.data.folders import list_photos
from model_training.data.transforms import photo_tensor
from model_training.datasets import label_set_of
from model_training.evaluate import segmenter_label_set
from model_training.labelsets import colourise


GROUNDED_CLASSES = ("road", "grass", "water", "building", "mountain")


def drop_specks(labels: np.ndarray, ignore: int, min_pixels: int) -> np.ndarray:
    """Set every connected region (8-connected) of one class smaller than `min_pixels` to `ignore`."""
    labels = labels.copy()
    for class_id in np.unique(labels):
        if class_id == ignore:
            continue
        regions, count = ndimage.label(labels == class_id, structure=np.ones((3, 3)))
        sizes = np.bincount(regions.ravel(), minlength=count + 1)
        small = sizes < min_pixels
        small[0] = False  # region 0 is everything outside this class
        labels[small[regions]] = ignore
    return labels


def drop_sky_out_of_order(labels: np.ndarray, label_set: LabelSet, ignore: int) -> np.ndarray:
    """Ignore each column's stretch from its highest grounded pixel down to its lowest sky pixel, where
    the grounded pixel is the higher of the two."""
    ids = {c.name: c.id for c in label_set.classes}
    sky = labels == ids["sky"]
    grounded = np.isin(labels, [ids[name] for name in GROUNDED_CLASSES if name in ids])
    height = labels.shape[0]
    rows = np.arange(height)[:, None]
    highest_grounded = np.where(grounded.any(0), grounded.argmax(0), height)
    lowest_sky = np.where(sky.any(0), height - 1 - sky[::-1].argmax(0), -1)
    out_of_order = (rows >= highest_grounded) & (rows <= lowest_sky)
    return np.where(out_of_order, ignore, labels)


def consistent_labels(labels: np.ndarray, label_set: LabelSet, ignore: int, min_component: float) -> np.ndarray:
    """The module's consistency rules on a confident label map [H, W]: specks first, so a stray speck of
    grass in the clouds does not wipe a column."""
    labels = drop_specks(labels, ignore, round(min_component * labels.size))
    if "sky" in {c.name for c in label_set.classes}:
        labels = drop_sky_out_of_order(labels, label_set, ignore)
    return labels


Reader = Callable[[Image.Image, int], tuple[np.ndarray, np.ndarray]]


def _square_image(photo: Image.Image, size: int) -> torch.Tensor:
    """[1, 3, size, size]: the segmenter needs sides divisible by 32, so the photo is labelled squashed to a
    fixed square."""
    return photo_tensor(photo.resize((size, size), Image.Resampling.BICUBIC))[None]


def _top_class(scores: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """The top class probability and the class of each pixel of one image's scores [1, C, H, W]."""
    confidence, labels = scores.softmax(1).max(1)
    return confidence[0].numpy(), labels[0].numpy()


@torch.no_grad()
def _read_with_model(model: torch.nn.Module, photo: Image.Image, size: int) -> tuple[np.ndarray, np.ndarray]:
    """A torch segmenter's top class probability and class of each pixel, [size, size] each."""
    return _top_class(model(_square_image(photo, size)))


def _graph_reader(graph: Path) -> Reader:
    """An exported segmenter's reader: its class scores (as they are right before the graph's ArgMax) give the
    probabilities."""
    import onnx

    from model_training.logit_adjust import scoring_session

    session, scores_name = scoring_session(onnx.load(str(graph)))

    def read(photo: Image.Image, size: int) -> tuple[np.ndarray, np.ndarray]:
        scores = session.run([scores_name], {"image": _square_image(photo, size).numpy()})[0]
        return _top_class(torch.from_numpy(scores))

    return read


def load_segmenter(segmenter: str | Path) -> tuple[Reader, LabelSet, int]:
    """(photo, size) -> (top class probability, classes [size, size]), the segmenter's label set and
    its ignore id; from a run folder (on the run's thread count) or an exported graph beside its card."""
    if str(segmenter).endswith(".onnx"):
        label_set = segmenter_label_set(segmenter)
        read = _graph_reader(Path(segmenter))
    else:
        config, modules, _ = load_run(segmenter)
        torch.set_num_threads(config.run.threads or torch.get_num_threads())
        if config.family != "segmenter":
            raise ValueError(f"{segmenter} is a {config.family} run, not a segmenter")
        label_set = label_set_of(config)
        read = lambda photo, size: _read_with_model(modules["model"], photo, size)
    return read, label_set, label_set.ignore_id if label_set.ignore_id is not None else 255


def label_sheet(segmenter_run: str | Path, photos: list[Path], out: Path, size: int, pairs_per_row: int = 4,
                tile: int = 160) -> None:
    """photo | labels pairs, `pairs_per_row` to a row, over a legend of the classes' colours: how the
    segmenter reads photos, for instance ones no training used."""
    read, label_set, _ = load_segmenter(segmenter_run)
    rows = -(-len(photos) // pairs_per_row)
    legend = 22
    sheet = Image.new("RGB", (pairs_per_row * 2 * tile + (pairs_per_row - 1) * 6, rows * (tile + 4) + legend), "white")
    for i, path in enumerate(photos):
        photo = Image.open(path).convert("RGB")
        labels = Image.fromarray(colourise(read(photo, size)[1], label_set))
        left, top = (i % pairs_per_row) * (2 * tile + 6), (i // pairs_per_row) * (tile + 4)
        sheet.paste(photo.resize((tile, tile), Image.Resampling.BICUBIC), (left, top))
        sheet.paste(labels.resize((tile, tile), Image.Resampling.NEAREST), (left + tile, top))
    draw = ImageDraw.Draw(sheet)
    x = 4
    for label_class in label_set.classes:
        draw.rectangle((x, sheet.height - 17, x + 12, sheet.height - 5), fill=label_class.colour)
        draw.text((x + 16, sheet.height - 17), label_class.name, fill="black")
        x += 24 + round(draw.textlength(label_class.name))
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    print(f"labelled {len(photos)} photos into {out}")


def pseudo_label(segmenter_run: str | Path, folders: list[Path], out: Path, size: int, min_confidence: float,
                 limit: int | None = None, min_component: float = 0.0, agree_with: str | Path | None = None) -> int:
    read, label_set, ignore = load_segmenter(segmenter_run)
    second = None
    if agree_with is not None:
        second, second_set, _ = load_segmenter(agree_with)
        if [c.name for c in second_set.classes] != [c.name for c in label_set.classes]:
            raise ValueError(f"{agree_with} reads the label set {second_set.name!r}, not {label_set.name!r}")
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    written, ignored = 0, 0.0
    for folder in folders:
        prefix = folder.parent.name + "_" + folder.name
        for path in list_photos(folder)[:limit]:
            photo = Image.open(path).convert("RGB")
            confidence, labels = read(photo, size)
            if min_confidence > 0:
                labels[confidence < min_confidence] = ignore
            if second is not None:
                labels[second(photo, size)[1] != labels] = ignore
            labels = consistent_labels(labels, label_set, ignore, min_component)
            ignored += float((labels == ignore).mean())
            name = f"{prefix}_{path.stem}".replace(" ", "_").replace(":", "-")
            index_map = Image.fromarray(labels.astype(np.uint8), "L").resize(photo.size, Image.Resampling.NEAREST)
            index_map.save(out / "labels" / f"{name}.png")
            shutil.copy(path, out / "images" / f"{name}{path.suffix.lower()}")
            written += 1
    print(f"pseudo-labelled {written} photos into {out} ({ignored / max(written, 1):.1%} of pixels below "
          f"confidence {min_confidence}, inconsistent or read otherwise by the second segmenter set to ignore)")
    return written
