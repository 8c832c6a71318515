"""`python -m model_training landscape-card`: the model card of the patch-synthesis landscape renderer.

It has no network: the card names the exemplar bank it paints from (built by `build-bank`), the label set
(the hybrid card's, which shares the bank, plus cloud and snow) and the style presets (the hybrid's), and,
once `evaluate-realism` has measured it, that run's figures for this model.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from backend.cards import DataSource, LabelSet, ModelCard, Training, load_card, write_card
from backend.cloud_snow import cloud_snow_ids, with_cloud_and_snow
from backend.engine import file_sha256, weights_file
from backend.hybrid import ExemplarBank
from backend.landscape import INDEX_ARRAYS, SceneIndex, SynthesisSettings, Weather, bank_labels, index_arrays
from model_training.export import SHEET_JPEG_QUALITY
from model_training.labelsets import colourise

MODEL_ID = "photo-landscape"
# The side it paints at: the Stanford photos' own width, so that their pixels are copied at their own
# resolution (painted at the hybrid's 256, a picture shown at a photo's 320 x 240 was enlarged 1.25 x).
PICTURE_SIZE = 320
# The bank's snow-only photos (`snow-photos`), which the hybrid's card does not list: it never uses them.
WINTER_PHOTOS = DataSource(
    name="summer2winter_yosemite winter training photos ({count}, for snow only; sky labelled by segmenter-landscape)",
    citation="Zhu, Park, Isola and Efros, Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial "
             "Networks, ICCV 2017",
    terms="Research dataset of Flickr photos; no licence is stated for the data. The bank ships pixels of these "
          "photos; the data's own terms apply.")


def index_bank(source_card: Path, label_set: LabelSet, reindex: bool = False) -> ModelCard:
    """Store retrieval's index for `label_set` (the hybrid's plus cloud and snow) in the card's bank (rewritten
    in place) and the bank's new hash in the card; returns the updated card. Prints how many photos the
    label-agreement rule leaves out."""
    source = load_card(source_card)
    if source.kind != "hybrid" or source.exemplar_bank is None:
        raise ValueError(f"{source_card} is not a hybrid card with an exemplar bank")
    path = weights_file(Path(source_card).parent, source.exemplar_bank.file)
    bank = ExemplarBank.load(path)
    classes = max(c.id for c in label_set.classes) + 1
    cloud_snow = cloud_snow_ids(label_set)
    stored = all(name in bank.arrays for name in INDEX_ARRAYS) and bank.arrays["photo_class_shares"].shape[1] == classes
    if reindex or not stored:
        # Rewritten only when asked or missing: every rewrite is a new 30 MB file in the repository's history.
        arrays = {name: value for name, value in bank.arrays.items()}
        arrays |= index_arrays(bank, classes, cloud_snow)
        arrays["photo_layout"] = arrays["photo_layout"].astype(np.float16)
        np.savez(path, **arrays)
        bank = ExemplarBank.load(path)
    settings = SynthesisSettings()
    index = SceneIndex(bank, classes, settings.min_label_agreement, cloud_snow,
                       min_class_agreement=settings.min_class_agreement, max_flat_share=settings.max_flat_share,
                       sky_class=settings.sky_class)
    segmenter_labelled = ~index.human_labelled & ~index.snow_only
    left_out = int((segmenter_labelled & ~index.trusted).sum())
    print(f"{path}: {left_out} of {int(segmenter_labelled.sum())} segmenter-labelled photos left out "
          f"(label agreement < {settings.min_label_agreement}); {int(index.snow_only.sum())} snow-only photos")
    kept = index.trusted & segmenter_labelled
    distrusted = {c.name: f"{int((kept & (index.class_shares[:, c.id] > 0) & ~index.class_trusted[:, c.id]).sum())} of "
                          f"{int((kept & (index.class_shares[:, c.id] > 0)).sum())}"
                  for c in label_set.classes if c.id < bank.arrays["photo_class_agreement"].shape[1]}
    print(f"{path}: of the others, a class is not copied from (its blocks' agreement < "
          f"{settings.min_class_agreement}, or over {settings.max_flat_share:.0%} of it flat): {distrusted}")
    flat = index.mostly_flat
    for name, photos in (("segmenter-labelled", kept), ("human-labelled", index.human_labelled)):
        has = index.class_shares[photos, :flat.shape[1]] > 0
        counts = {c.name: f"{int((flat[photos, c.id] & has[:, c.id]).sum())} of {int(has[:, c.id].sum())}"
                  for c in label_set.classes if c.id < flat.shape[1] and c.id != settings.sky_class}
        print(f"{path}: {name} photos, a class over {settings.max_flat_share:.0%} flat: {counts}")
    bank_spec = source.exemplar_bank.model_copy(update={"sha256": file_sha256(path)})
    source = source.model_copy(update={"exemplar_bank": bank_spec})
    # The hybrid never copies the snow-only photos, but its bank file ships their pixels: its card says so.
    snow_photos = int(index.snow_only.sum())
    data = [d for d in source.training.data if not d.name.startswith(WINTER_PHOTOS.name.partition(" (")[0])]
    if snow_photos:
        name = f"{WINTER_PHOTOS.name.format(count=snow_photos)}; exemplar bank only"
        data.append(WINTER_PHOTOS.model_copy(update={"name": name}))
    source = source.model_copy(update={"training": source.training.model_copy(update={"data": data})})
    write_card(source, source_card)
    return source


def write_cloud_snow_sheet(bank: ExemplarBank, label_set: LabelSet, out: Path, per_class: int = 6) -> None:
    """What the cloud and snow rules give: rows of photo | the labels the bank stores | with cloud and snow,
    for the bank photos with the most cloud, then the most snow (half of them snow-only winter photos, by
    `winter_snowfield`), in rows of two photos each."""
    ids = cloud_snow_ids(label_set)
    shares = bank.arrays["photo_class_shares"]
    # The snow of the most snowy photos of each kind: summer photos' by the rule, winter ones' by their own.
    kinds = [photos for photos in (np.flatnonzero(~bank.snow_only), np.flatnonzero(bank.snow_only)) if len(photos)]
    picks = [int(i) for i in np.argsort(-shares[:, ids.cloud], kind="stable")[:per_class]]
    for k, photos in enumerate(kinds):
        count = per_class // len(kinds) + (k < per_class % len(kinds))
        picks += [int(photos[i]) for i in np.argsort(-shares[photos, ids.snow], kind="stable")[:count]]
    tiles = []
    for index in picks:
        photo, labels = bank.photo(index, keep=False)
        relabelled = bank_labels(bank, index, ids, Weather(cloud=True, snow=True), keep=False)[1]
        shown = [photo, colourise(labels, label_set), colourise(relabelled, label_set)]  # unlabelled: black
        tiles.append(np.concatenate([np.asarray(Image.fromarray(t).resize((192, 144))) for t in shown], 1))
    rows = [np.concatenate(tiles[i:i + 2], 1) for i in range(0, len(tiles), 2)]
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(rows, 0)).save(out, quality=SHEET_JPEG_QUALITY)
    print(f"{out}: the cloud and snow rule on {len(picks)} bank photos")


def write_landscape_card(source_card: Path, out: Path, realism: Path | None, command: str,
                         reindex: bool = False, picture_size: int | None = None) -> ModelCard:
    """A card for the renderer beside `source_card` (a hybrid card whose bank and presets it shares), after
    indexing the bank if it has no index yet, or again with `reindex` (`index_bank`). `picture_size`: the side
    it paints at (`PICTURE_SIZE` for the shipped one), None for the hybrid's."""
    label_set = with_cloud_and_snow(load_card(source_card).label_set)
    source = index_bank(source_card, label_set, reindex)
    bank_path = weights_file(Path(source_card).parent, source.exemplar_bank.file)
    bank = ExemplarBank.load(bank_path)
    write_cloud_snow_sheet(bank, label_set, out.parent / "samples" / f"{out.stem}-cloud-snow.jpg")
    metrics: dict = {}
    evaluation = None
    if realism is not None:
        report = json.loads(Path(realism).read_text())
        if out.stem not in report.get("models", {}):
            raise ValueError(f"{realism} has no figures for {out.stem}; run evaluate-realism with --models {out.stem}")
        metrics = {"realism": report["models"][out.stem] | {"images": report["images"]}}
        if "real_snow" in report["oracles"]:  # the most painted snow can read back: the judges on real snow
            metrics["realism"]["real_snow_read_back"] = report["oracles"]["real_snow"]
        evaluation = report["command"]
    data = [DataSource(name=d.name.replace("; exemplar bank only", "")
                       .replace(": exemplar bank and training pairs", ""), citation=d.citation, terms=d.terms)
            for d in source.training.data]
    training = Training(
        data=data,
        command=f"{source.training.command.split(' && ')[0].replace('train hybrid', 'build-bank')}; {command}",
        steps=0, images_seen=0, cpu_hours=0.0, device="cpu")
    card = source.model_copy(update={
        "id": out.stem, "title": "Landscape painter (real photo pixels)",
        "description": ("Paint sky, trees, water, mountains and more: the picture is copied, pixel by pixel, from "
                        "real photos chosen for your painting (label-guided patch synthesis), objects are pasted "
                        "whole. Server only."),
        "onnx": None, "onnx_sha256": None, "renderer": "patch-synthesis", "params": 0, "gmacs": 0.0,
        "picture_size": picture_size,
        "label_set": label_set,
        "training": training, "metrics": metrics, "evaluation_command": evaluation,
        "samples": f"samples/{out.stem}.jpg",
        "server_only": (f"Paints by patch synthesis over a {bank_path.stat().st_size / 1e6:.0f} MB bank of photos, "
                        "in compiled code the page does not have."),
    })
    card = ModelCard.model_validate(card.model_dump())
    write_card(card, out)
    return card
