"""Measure a trained run on held-out data and write `metrics.json` + an `evaluation.png` sample sheet.

- segmenter: pixel accuracy, mean class accuracy and mIoU on validation (ignore label excluded).
- labels -> photo (SPADE, pix2pix): the FCN-score of the pix2pix paper, i.e. the segmenter's accuracy on
  images generated from validation label maps, next to the same segmenter on the real photos (oracle).
  SPADE is scored with random styles (drawn as the painter draws them, and at other truncations), each
  photo's own style and the mean style, and reports style control: output diversity across random styles,
  and how far a style image pulls the output's colour statistics toward it, against a random and the mean
  style.
- sketch -> photo: L1 and PSNR against the real photos.
- pix2pix (labels or sketch), with `c2st_seeds`: a classifier two-sample test of its pictures against the
  validation photos (model_training.c2st), its pictures stored as JPEGs as the photos were (evaluate-realism's
  fair protocol).
- CycleGAN: cycle-reconstruction L1 both ways, colour-statistics distance to the target domain, and (with
  `c2st_seeds`) a domain C2ST: filtered photos against held-out target pictures, next to the unfiltered
  photos against the same targets.
- every generator: the checkerboard index of its validation pictures (model_training.checkerboard).

An exported graph is measured with `--onnx`; with a config file in place of a run folder, the graph alone
is measured (the shipped models, whose training runs are not kept), without the figures that need the
run's other networks (CycleGAN's way back, SPADE's style encoder).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from backend.cards import LabelSet, load_card
from model_training import runtime as rt
from model_training.c2st import c2st
from model_training.c2st_protocols import fair
from model_training.checkerboard import measured_or_why_not
from model_training.checkpoints import load_run
from model_training.config import load_config
from model_training.data.transforms import tensor_to_uint8
from model_training.datasets import build_dataset, label_set_of
from model_training.labelsets import colourise, num_classes
from model_training.models.spade import one_hot
from model_training.style_codes import training_code_distribution

BATCH = 8
# SPADE's random styles are also scored at these truncations (spread of the training codes' Gaussian), so
# the choice of `export.style_truncation` rests on numbers this command prints. Truncation 0 is the mean
# style, scored on its own row.
TRUNCATION_SWEEP = (0.5, 0.7, 1.0)


class Confusion:
    """Accumulates a confusion matrix over the classes, skipping every other id (ignore label)."""

    def __init__(self, label_set: LabelSet):
        self.classes = num_classes(label_set)
        self.names = {c.id: c.name for c in label_set.classes}
        self.matrix = np.zeros((self.classes, self.classes), np.int64)

    def add(self, truth: torch.Tensor, predicted: torch.Tensor) -> None:
        t, p = truth.flatten().numpy(), predicted.flatten().numpy()
        valid = (t >= 0) & (t < self.classes)
        self.matrix += np.bincount(t[valid] * self.classes + p[valid], minlength=self.classes ** 2).reshape(
            self.classes, self.classes)

    def scores(self) -> dict:
        m = self.matrix.astype(np.float64)
        present = m.sum(1) > 0
        class_acc = np.diag(m)[present] / m.sum(1)[present]
        union = m.sum(0) + m.sum(1) - np.diag(m)
        iou = np.diag(m)[present] / union[present]
        scores = {"pixel_accuracy": round(float(np.diag(m).sum() / m.sum()), 4),
                  "mean_class_accuracy": round(float(class_acc.mean()), 4),
                  "miou": round(float(iou.mean()), 4)}
        # Per class too: a mean can hide one class gone wrong.
        scores["class_accuracy"] = {self.names.get(i, str(i)): round(float(acc), 4)
                                    for i, acc in zip(np.flatnonzero(present), class_acc)}
        return scores


def _mean(values: list[torch.Tensor]) -> float:
    return round(float(torch.cat(values).mean()), 4)


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = F.mse_loss((a + 1) / 2, (b + 1) / 2).item()
    return 10 * float(np.log10(1.0 / max(mse, 1e-10)))


def colour_stats(images: torch.Tensor) -> torch.Tensor:
    """Per-image mean and std of each RGB channel: the coarse 'look' a style sets."""
    return torch.cat([images.mean(dim=(2, 3)), images.std(dim=(2, 3))], 1)


def _labels_rgb(labels: torch.Tensor, label_set) -> torch.Tensor:
    return torch.from_numpy(colourise(labels[0].numpy(), label_set)).permute(2, 0, 1).float() / 127.5 - 1


class OnnxGraph:
    """An exported graph in onnxruntime, called with named tensors like the torch module it stands for."""

    def __init__(self, path: str | Path):
        import onnxruntime as ort

        from backend.engine import session_options

        self.session = ort.InferenceSession(str(path), session_options(torch.get_num_threads()),
                                            providers=["CPUExecutionProvider"])

    def __call__(self, **inputs: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.session.run(None, {k: v.numpy() for k, v in inputs.items()})[0])


def _labels_to_photo(config, modules: dict, onnx: Path | None):
    """(labels, style code) -> photo, from the run's torch generator or from its exported graph."""
    classes = num_classes(label_set_of(config))
    if onnx is not None:
        graph = OnnxGraph(onnx)
        if config.family == "spade":
            return lambda labels, z: graph(labels=labels.long(), style=z)
        return lambda labels, z: graph(labels=labels.long())
    g = modules["generator"]
    if config.family == "spade":
        return lambda labels, z: g(one_hot(labels, classes), z)
    return lambda labels, z: g(one_hot(labels, classes))


def _image_to_image(modules: dict, name: str, onnx: Path | None, input_name: str):
    """A sketch or photo -> picture generator: the run's torch module `name`, or the exported graph."""
    if onnx is not None:
        graph = OnnxGraph(onnx)
        return lambda images: graph(**{input_name: images})
    return modules[name]


def _load(run_or_config: Path, onnx: Path | None) -> tuple:
    """A run folder (its config, networks and counters), or a config file whose exported graph is measured."""
    if run_or_config.suffix != ".toml":
        return load_run(run_or_config)
    if onnx is None:
        raise ValueError(f"{run_or_config} is a config, not a run: pass the exported graph with --onnx")
    config = load_config(run_or_config)
    if config.family not in ("pix2pix", "cyclegan", "segmenter"):
        raise ValueError("a config with --onnx measures pix2pix, CycleGAN and segmenter graphs; other families "
                         "need their run")
    return config, {}, {"step": None}


DOMAIN_C2ST_SIDE = 128


def _photo_c2st(real: list[torch.Tensor], others: list[torch.Tensor], seeds: int, generated: bool = True,
                judged_side: int | None = None) -> dict:
    """C2ST of `others` against real photos (or paintings), paired by index, under evaluate-realism's fair
    protocol at `judged_side` (default: the pictures' own side; model_training.c2st_protocols): a real
    picture was a stored JPEG before it was decoded here, so each generated picture is stored as one too, at
    the same size, before both are resized to the judged side."""
    as_uint8 = lambda images: [tensor_to_uint8(image) for image in torch.cat(images)]
    real_pictures = as_uint8(real)
    side = real_pictures[0].shape[0]
    protocol = fair(judged_side or side)
    prepared = (lambda picture: protocol.generated(picture, (side, side))) if generated else protocol.real
    real_side = np.stack([protocol.real(picture) for picture in real_pictures])
    other_side = np.stack([prepared(picture) for picture in as_uint8(others)])
    with torch.enable_grad():  # the classifier trains; evaluate runs under no_grad
        return c2st(real_side, other_side, seeds, protocol.classifier)


@torch.no_grad()
def evaluate(run_dir: str | Path, out: Path | None = None, segmenter_run: str | None = None,
             limit: int | None = None, onnx: Path | None = None, baseline_run: str | None = None,
             reference: Path | None = None, c2st_seeds: int = 0) -> dict:
    """`run_dir`: a run folder, or a config file (then `onnx` is required and the graph alone is measured).
    `onnx`: measure this exported graph of the run instead of its torch generator (what the server
    runs). `baseline_run`: a labels -> photo run trained on the same data for the same CPU time,
    evaluated alongside for the comparison table. `reference`: the real photos the checkerboard index is
    measured against (model_training.checkerboard.REFERENCE_PHOTOS from the command line). `c2st_seeds`:
    seeds of pix2pix's C2ST against the photos and of CycleGAN's domain C2ST (0: not run)."""
    run_dir = Path(run_dir)
    config, modules, counters = _load(run_dir, onnx)
    torch.set_num_threads(config.run.threads or torch.get_num_threads())
    val_set = build_dataset(config, train=False)
    rows: list[list[torch.Tensor]] = []
    pictures: list[torch.Tensor] = []  # the generated pictures the checkerboard index is measured on
    trained = counters["step"] is not None  # not when a config's graph is measured alone
    metrics: dict = {"family": config.family, "images": min(limit or len(val_set), len(val_set)),
                     "size": config.data.load_size, "step": counters["step"],
                     "cpu_minutes": round(counters.get("cpu_seconds", 0.0) / 60, 1) if trained else None}
    labels_to_photo = config.family in ("spade", "pix2pix") and config.export.input_kind == "labels"
    if baseline_run and not labels_to_photo:
        raise ValueError("--baseline applies to label -> photo models (SPADE, pix2pix on labels)")
    if onnx is not None:
        metrics["graph"] = Path(onnx).name

    if config.family == "segmenter":
        label_set = label_set_of(config)
        confusion = Confusion(label_set)
        graph = OnnxGraph(onnx) if onnx is not None else None
        for batch in rt.in_order_batches(val_set, BATCH, limit):
            predicted = (graph(image=batch["image"]) if graph is not None
                         else modules["model"](batch["image"]).argmax(1, keepdim=True))
            confusion.add(batch["labels"], predicted)
            rows += [[img, _labels_rgb(p, label_set), _labels_rgb(t, label_set)]
                     for img, p, t in zip(batch["image"], predicted, batch["labels"])]
        metrics["validation"] = confusion.scores()

    elif labels_to_photo:
        label_set = label_set_of(config)
        segment = load_segmenter(segmenter_run, label_set.name)
        generate = _labels_to_photo(config, modules, onnx)
        oracle, generated = Confusion(label_set), Confusion(label_set)
        own_style, mean_style_fcn = Confusion(label_set), Confusion(label_set)
        l1, toward, away, from_mean, photos = [], [], [], [], []
        if config.family == "spade":
            # Random styles as the painter draws them (see style_codes), and at the sweep's truncations: each
            # truncation draws two styles per map (FCN-score of the first, diversity between the two).
            codes = training_code_distribution(config, modules["encoder"])
            painter_truncation = config.export.style_truncation
            sweep = {t: {"codes": codes.truncated(t), "seed": torch.Generator().manual_seed(0),
                         "confusion": Confusion(label_set), "diversity": []}
                     for t in sorted({*TRUNCATION_SWEEP, painter_truncation})}
            generated = sweep[painter_truncation]["confusion"]  # the main row: what the painter draws
        for batch in rt.in_order_batches(val_set, BATCH, limit):
            labels, real = batch["labels"], batch["image"]
            if config.family == "spade":
                enc = modules["encoder"]
                for t, entry in sweep.items():
                    first, second = (generate(labels, entry["codes"].sample(len(real), entry["seed"])) for _ in "ab")
                    entry["diversity"].append((first - second).abs().mean(dim=(1, 2, 3)))
                    if segment is not None:
                        entry["confusion"].add(labels, segment(first))
                    if t == painter_truncation:
                        fake = first
                pictures.append(fake)
                own = generate(labels, enc(real)[0])
                # A style photo from another scene: does the output's look move toward it, compared with a
                # random style and with the neutral (mean) style?
                style_photo = real.roll(1, 0)
                styled = generate(labels, enc(style_photo)[0])
                mean_style = generate(labels, codes.mean.expand(len(real), -1).contiguous())
                target = colour_stats(style_photo)
                toward.append((colour_stats(styled) - target).abs().mean(1))
                away.append((colour_stats(fake) - target).abs().mean(1))
                from_mean.append((colour_stats(mean_style) - target).abs().mean(1))
                l1.append((own - real).abs().mean(dim=(1, 2, 3)))
                if segment is not None:
                    own_style.add(labels, segment(own))
                    mean_style_fcn.add(labels, segment(mean_style))
                rows += [[_labels_rgb(t, label_set), f, o, r] for t, f, o, r in zip(labels, fake, own, real)]
            else:
                fake = generate(labels, None)
                pictures.append(fake)
                photos.append(real)
                l1.append((fake - real).abs().mean(dim=(1, 2, 3)))
                rows += [[_labels_rgb(t, label_set), f, r] for t, f, r in zip(labels, fake, real)]
                if segment is not None:
                    generated.add(labels, segment(fake))
            if segment is not None:
                oracle.add(labels, segment(real))
        if segment is not None:
            fcn = {"generated": generated.scores(), "real_photos_oracle": oracle.scores()}
            if config.family == "spade":
                fcn["generated"]["style"] = ("random codes from the training codes' Gaussian, truncation "
                                             f"{config.export.style_truncation}")
                fcn["generated_own_style"] = own_style.scores()
                fcn["generated_mean_style"] = mean_style_fcn.scores()
                fcn["random_styles_by_truncation"] = {
                    str(t): entry["confusion"].scores() | {"diversity_l1": _mean(entry["diversity"])}
                    for t, entry in sweep.items()}
            fcn["generated_over_oracle_pixel_accuracy"] = round(
                fcn["generated"]["pixel_accuracy"] / fcn["real_photos_oracle"]["pixel_accuracy"], 3)
            metrics["fcn_score"] = fcn
            metrics["segmenter"] = str(segmenter_run)
        if baseline_run is not None:
            metrics["equal_cpu_time_comparison"] = _comparison(run_dir, metrics, baseline_run, segmenter_run, limit)
        key = "l1_with_own_style" if config.family == "spade" else "l1"
        metrics[key] = _mean(l1)
        if c2st_seeds and config.family == "pix2pix":
            metrics["c2st_against_the_photos"] = _photo_c2st(photos, pictures, c2st_seeds)
        if config.family == "spade":
            metrics["style"] = {
                "diversity_l1_between_random_codes": _mean(sweep[painter_truncation]["diversity"]),
                "colour_stats_distance_to_style_photo_with_it": _mean(toward),
                "colour_stats_distance_to_style_photo_without_it": _mean(away),
                "colour_stats_distance_to_style_photo_with_the_mean_code": _mean(from_mean),
            }

    elif config.family == "pix2pix":
        generate = _image_to_image(modules, "generator", onnx, "sketch")
        l1, scores, photos = [], [], []
        for batch in rt.in_order_batches(val_set, BATCH, limit):
            fake = generate(batch["sketch"])
            pictures.append(fake)
            photos.append(batch["image"])
            l1.append((fake - batch["image"]).abs().mean(dim=(1, 2, 3)))
            scores += [psnr(f, r) for f, r in zip(fake, batch["image"])]
            rows += [[s, f, r] for s, f, r in zip(batch["sketch"], fake, batch["image"])]
        metrics["l1"] = round(float(torch.cat(l1).mean()), 4)
        metrics["psnr_db"] = round(float(np.mean(scores)), 2)
        if c2st_seeds:
            metrics["c2st_against_the_photos"] = _photo_c2st(photos, pictures, c2st_seeds)

    elif config.family == "cyclegan":
        g_ab = _image_to_image(modules, "G_AB", onnx, "photo")
        g_ba = modules.get("G_BA")  # only the forward graph is exported
        cycle_a, cycle_b, before, after, photos, targets = [], [], [], [], [], []
        for batch in rt.in_order_batches(val_set, BATCH, limit):
            a, b = batch["A"], batch["B"]
            fake_b = g_ab(a)
            pictures.append(fake_b)
            photos.append(a)
            targets.append(b)
            domain_b = colour_stats(b).mean(0, keepdim=True)
            before.append((colour_stats(a) - domain_b).abs().mean(1))
            after.append((colour_stats(fake_b) - domain_b).abs().mean(1))
            if g_ba is None:
                rows += [[x, y] for x, y in zip(a, fake_b)]
                continue
            cycle_a.append((g_ba(fake_b) - a).abs().mean(dim=(1, 2, 3)))
            cycle_b.append((g_ab(g_ba(b)) - b).abs().mean(dim=(1, 2, 3)))
            rows += [[x, y, z] for x, y, z in zip(a, fake_b, g_ba(fake_b))]
        if g_ba is not None:
            metrics["cycle_l1_a_b_a"] = _mean(cycle_a)
            metrics["cycle_l1_b_a_b"] = _mean(cycle_b)
        metrics["colour_stats_distance_to_domain_b"] = {
            "input": _mean(before),
            "translated": _mean(after),
        }
        if c2st_seeds:
            # Does the filter move photos toward the held-out targets? Told apart less often than unfiltered.
            # Judged at 128 px (filtered at 256): a 256-px classifier would take ~4x the CPU per seed.
            metrics["domain_c2st_against_held_out_targets"] = {
                "judged_side": DOMAIN_C2ST_SIDE,
                "filtered": _photo_c2st(targets, pictures, c2st_seeds, judged_side=DOMAIN_C2ST_SIDE),
                "unfiltered": _photo_c2st(targets, photos, c2st_seeds, generated=False, judged_side=DOMAIN_C2ST_SIDE)}
    else:
        raise ValueError(f"cannot evaluate family {config.family!r}")

    if config.family != "segmenter":
        metrics["checkerboard"] = measured_or_why_not(torch.cat(pictures), reference)
    options = {"--segmenter": segmenter_run, "--onnx": onnx, "--baseline": baseline_run, "--limit": limit,
               "--reference": reference, "--c2st-seeds": c2st_seeds or None}
    metrics["command"] = shlex.join(["python", "-m", "model_training", "evaluate", str(run_dir)] + [
        part for flag, value in options.items() if value is not None for part in (flag, str(value))])
    # A config has no run folder: its graph's figures go next to the output.
    out = out or (Path("runs/evaluate") / config.export.id / "metrics.json" if run_dir.suffix == ".toml"
                  else run_dir / "metrics.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(metrics, indent=2) + "\n")
    rt.save_sheet(rows[:6], out.parent / "evaluation.png" if run_dir.suffix == ".toml" else run_dir / "evaluation.png")
    print(json.dumps(metrics, indent=2))
    return metrics


def segmenter_label_set(graph: str | Path) -> LabelSet:
    """The label set of an exported segmenter graph, read from the card beside it."""
    card = load_card(Path(graph).with_suffix(".json"))
    if card.kind != "segmenter" or card.label_set is None:
        raise ValueError(f"{graph}: its card is not a segmenter's")
    return card.label_set


def exported_segmenter(graph: str | Path) -> tuple[OnnxGraph, LabelSet]:
    """An exported segmenter graph (images -> class indices [N, 1, H, W]) and its label set."""
    return OnnxGraph(graph), segmenter_label_set(graph)


def load_segmenter(segmenter: str | Path | None, label_set_name: str):
    """images -> int64 class indices [N, 1, H, W], from a segmenter run or an exported segmenter graph
    (`weights/<id>.onnx` next to its card), so a fresh clone can score with the shipped segmenter."""
    if segmenter is None:
        return None
    if str(segmenter).endswith(".onnx"):
        graph, label_set = exported_segmenter(segmenter)
        if label_set.name != label_set_name:
            raise ValueError(f"{segmenter} is not a segmenter for the label set {label_set_name!r}")
        return lambda images: graph(image=images)
    config, modules, _ = load_run(segmenter)
    if config.family != "segmenter" or config.data.label_set != label_set_name:
        raise ValueError(f"{segmenter} is not a segmenter for the label set {label_set_name!r}")
    return lambda images: modules["model"](images).argmax(1, keepdim=True)


def _comparison(run_dir: Path, metrics: dict, baseline_run: str, segmenter_run: str | None,
                limit: int | None) -> dict:
    """Both rows of the FCN-score table, each with the CPU time its training took."""
    baseline = evaluate(baseline_run, segmenter_run=segmenter_run, limit=limit)

    def row(run, run_metrics):
        return {"run": str(run), "step": run_metrics["step"], "cpu_minutes": run_metrics["cpu_minutes"],
                "fcn_score": run_metrics.get("fcn_score")}

    return {"note": "the same data, crops and validation label maps; compare at equal cpu_minutes",
            "model": row(run_dir, metrics), "baseline": row(baseline_run, baseline)}
