"""Export a trained run to `weights/<id>.onnx` + `weights/<id>.json` (the model card).

The graphs follow docs/ARCHITECTURE.md: label maps go in as int64 class indices and are one-hot encoded
inside the graph; images are float32 NCHW in [-1, 1]. Every export is checked against PyTorch in
onnxruntime and fails loudly when they disagree.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from backend.cards import (DataSource, ExemplarBankFile, ModelCard, StyleEncoder, StylePreset, Training, load_card,
                          write_card)
from backend.engine import file_sha256
from backend.hybrid import ExemplarBank, colour_style
from model_training.checkpoints import load_run
from model_training.config import TrainConfig
from model_training.datasets import label_set_of
from model_training.labelsets import num_classes
from model_training.models.spade import one_hot
from model_training.profile import count_gmacs, count_params
from model_training.style_codes import training_code_distribution

PARITY_TOLERANCE = 1e-3
OPSET = 17
# Shipped sample sheets are JPEGs at this quality: photographs, a fifth of their PNG's bytes, and
# `weights/` has a size budget; a run keeps its PNG.
SHEET_JPEG_QUALITY = 92


def ship_sheet(sheet: Path, weights: Path, name: str) -> str:
    """Copy a run's PNG sample sheet into `weights/samples/NAME.jpg`; returns its path relative to `weights`."""
    relative = f"samples/{name}.jpg"
    (weights / "samples").mkdir(parents=True, exist_ok=True)
    Image.open(sheet).convert("RGB").save(weights / relative, quality=SHEET_JPEG_QUALITY)
    return relative


class LabelsToImage(nn.Module):
    """int64 label indices [N, 1, H, W] (+ style code) -> image: one-hot inside the graph."""

    def __init__(self, generator: nn.Module, classes: int, with_style: bool):
        super().__init__()
        self.generator, self.classes, self.with_style = generator, classes, with_style

    def forward(self, labels: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        segmap = one_hot(labels, self.classes)
        return self.generator(segmap, style) if self.with_style else self.generator(segmap)


class CanvasToImage(nn.Module):
    """The hybrid renderer's refiner: (labels int64, canvas, filled) -> image, one-hot inside the graph."""

    def __init__(self, refiner: nn.Module, classes: int):
        super().__init__()
        self.refiner, self.classes = refiner, classes

    def forward(self, labels: torch.Tensor, canvas: torch.Tensor, filled: torch.Tensor) -> torch.Tensor:
        return self.refiner(canvas, filled, one_hot(labels, self.classes))


class ImageToLabels(nn.Module):
    """Segmenter logits -> int64 class indices [N, 1, H, W]."""

    def __init__(self, segmenter: nn.Module):
        super().__init__()
        self.segmenter = segmenter

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.segmenter(image).argmax(1, keepdim=True)


def strip_spectral_norm(module: nn.Module) -> nn.Module:
    """Fold spectral normalisation into plain weights, so the graph does not redo the power iteration."""
    for child in module.modules():
        if hasattr(child, "weight_orig"):
            torch.nn.utils.remove_spectral_norm(child)
    return module


def export_graph(module: nn.Module, inputs: dict[str, torch.Tensor], outputs: list[str], path: Path) -> None:
    """torch -> ONNX with dynamic batch/height/width, then onnxruntime parity on fresh random inputs."""
    module.eval()
    dynamic = {name: ({0: "batch", 2: "height", 3: "width"} if t.dim() == 4 else {0: "batch"})
               for name, t in inputs.items()}
    dynamic |= {name: ({0: "batch", 2: "height", 3: "width"}) for name in outputs}
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(module, tuple(inputs.values()), str(path), input_names=list(inputs),
                          output_names=outputs, dynamic_axes=dynamic, opset_version=OPSET, dynamo=False)
    check_parity(module, path, inputs)


def check_parity(module: nn.Module, path: Path, examples: dict[str, torch.Tensor]) -> float:
    """Run torch and onnxruntime on two random batches (the second twice as wide, which every network
    accepts); raise if they differ."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for widen in (1, 2):
        feeds = {}
        for name, t in examples.items():
            shape = list(t.shape)
            if t.dim() == 4:
                shape[3] *= widen
            if t.dtype == torch.int64:
                feeds[name] = torch.randint(0, int(t.max()) + 1, shape)
            else:
                feeds[name] = torch.randn(shape).clamp(-1, 1) if t.dim() == 4 else torch.randn(shape)
        with torch.no_grad():
            expected = module(*feeds.values())
        expected = expected if isinstance(expected, tuple) else (expected,)
        got = session.run(None, {k: v.numpy() for k, v in feeds.items()})
        for e, g in zip(expected, got):
            if e.dtype == torch.int64:  # class indices: near-ties may flip, anything more is a bug
                agreement = float((e.numpy() == g).mean())
                if agreement < 0.999:
                    raise RuntimeError(f"{path.name}: onnxruntime labels agree with torch on only {agreement:.4f}")
            else:
                worst = max(worst, float(np.abs(e.numpy() - g).max()))
    if worst > PARITY_TOLERANCE:
        raise RuntimeError(f"{path.name}: onnxruntime differs from torch by {worst:.2e} > {PARITY_TOLERANCE}")
    return worst


def _style_presets(config: TrainConfig, style_of, weights: Path) -> list[StylePreset]:
    """Style codes of the chosen photos (`style_of`: uint8 [size, size, 3] square -> code), with 96x96
    thumbnails beside the weights."""
    presets = []
    size = config.export.size
    for preset in config.export.presets:
        photo = Image.open(preset["photo"]).convert("RGB")
        side = min(photo.size)
        square = photo.crop(((photo.width - side) // 2, (photo.height - side) // 2,
                             (photo.width + side) // 2, (photo.height + side) // 2))
        code = style_of(np.asarray(square.resize((size, size), Image.Resampling.BICUBIC)))
        thumbnail = Path("styles") / config.export.id / f"{preset['id']}.jpg"
        (weights / thumbnail).parent.mkdir(parents=True, exist_ok=True)
        square.resize((96, 96), Image.Resampling.LANCZOS).save(weights / thumbnail, quality=88)
        presets.append(StylePreset(id=preset["id"], name=preset["name"], thumbnail=thumbnail.as_posix(),
                                   code=[round(float(v), 5) for v in code]))
    return presets


def _encoder_code(encoder: nn.Module):
    def code(rgb: np.ndarray) -> np.ndarray:
        tensor = torch.from_numpy(rgb.astype(np.float32) / 127.5 - 1).permute(2, 0, 1)[None]
        with torch.no_grad():
            return encoder(tensor)[0][0].numpy()
    return code


def ship_bank(config: TrainConfig, weights: Path) -> ExemplarBankFile:
    """Copy the run's exemplar bank beside the refiner graph; its card entry counts segments per class."""
    source = Path(config.model.bank)
    target = weights / f"{config.export.id}.bank.npz"
    shutil.copy(source, target)
    bank = ExemplarBank.load(target)
    names = [c.name for c in label_set_of(config).classes]
    return ExemplarBankFile(file=target.name, sha256=file_sha256(target), photos=bank.num_photos,
                            segments={names[c]: n for c, n in sorted(bank.segments_per_class().items())
                                      if c < len(names)})


def _composes_on_server(weights: Path, bank: ExemplarBankFile) -> str:
    return (f"Composes the picture from photo segments of a {(weights / bank.file).stat().st_size / 1e6:.1f} MB "
            "exemplar bank before the network; that step runs on the server only.")


def ship_rebuilt_bank(config: TrainConfig, weights: Path) -> Path:
    """A bank built again (new photos or labels) replaces the exported hybrid's, without a new refiner: the
    card gets the bank's hash, counts and the config's data sources. Returns the card's path."""
    card_path = weights / f"{config.export.id}.json"
    card = load_card(card_path)
    bank = ship_bank(config, weights)
    training = card.training.model_copy(update={"data": [DataSource(**d) for d in config.export.data]})
    write_card(card.model_copy(update={"exemplar_bank": bank, "training": training,
                                       "server_only": _composes_on_server(weights, bank)}), card_path)
    return card_path


def export(run_dir: str | Path, weights: Path, metrics_path: Path | None = None, command: str | None = None) -> Path:
    run_dir = Path(run_dir)
    config, modules, counters = load_run(run_dir)
    e = config.export
    size = e.size
    weights.mkdir(parents=True, exist_ok=True)
    onnx_path = weights / f"{e.id}.onnx"
    label_set = label_set_of(config) if config.data.label_set else None
    style_encoder, presets, bank = None, [], None

    outputs = ["image"]
    if config.family == "spade":
        generator = strip_spectral_norm(modules["generator"]).eval()
        encoder = strip_spectral_norm(modules["encoder"]).eval()
        z_dim = config.model.z_dim
        graph = LabelsToImage(generator, num_classes(label_set), with_style=True)
        inputs = {"labels": torch.randint(0, num_classes(label_set), (1, 1, size, size)), "style": torch.randn(1, z_dim)}
        encoder_path = weights / f"{e.id}.style-encoder.onnx"
        export_graph(encoder, {"image": torch.zeros(1, 3, size, size)}, ["mu", "logvar"], encoder_path)
        if config.model.teacher:
            # A distilled student keeps its teacher's style encoder, so the teacher's codes and presets hold.
            teacher = ModelCard.model_validate_json(Path(config.model.teacher).read_text())
            style_encoder = teacher.style_encoder.model_copy(
                update={"onnx": encoder_path.name, "onnx_sha256": file_sha256(encoder_path)})
        else:
            codes = training_code_distribution(config, encoder).truncated(e.style_truncation)
            style_encoder = StyleEncoder(onnx=encoder_path.name, onnx_sha256=file_sha256(encoder_path), z_dim=z_dim,
                                         code_mean=[round(float(v), 5) for v in codes.mean],
                                         code_scale=[[round(float(v), 5) for v in row] for row in codes.scale])
        presets = _style_presets(config, _encoder_code(encoder), weights)
    elif config.family == "hybrid":
        classes = num_classes(label_set)
        graph = CanvasToImage(modules["generator"].eval(), classes)
        inputs = {"labels": torch.randint(0, classes, (1, 1, size, size)),
                  "canvas": torch.zeros(1, 3, size, size), "filled": torch.ones(1, 1, size, size)}
        bank = ship_bank(config, weights)
        presets = _style_presets(config, colour_style, weights)
    elif config.family == "pix2pix" and e.input_kind == "labels":
        graph = LabelsToImage(modules["generator"].eval(), num_classes(label_set), with_style=False)
        inputs = {"labels": torch.randint(0, num_classes(label_set), (1, 1, size, size))}
    elif config.family == "pix2pix":
        graph = modules["generator"].eval()
        inputs = {"sketch": torch.zeros(1, 1, size, size)}
    elif config.family == "cyclegan":
        graph = modules["G_AB"].eval()
        inputs = {"photo": torch.zeros(1, 3, size, size)}
    elif config.family == "segmenter":
        graph = ImageToLabels(modules["model"].eval())
        inputs, outputs = {"image": torch.zeros(1, 3, size, size)}, ["labels"]
    else:
        raise ValueError(f"cannot export family {config.family!r}")
    export_graph(graph, inputs, outputs, onnx_path)

    metrics_path = metrics_path or (run_dir / "metrics.json")
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    samples = None
    if (run_dir / "evaluation.png").exists():
        samples = ship_sheet(run_dir / "evaluation.png", weights, e.id)

    card = ModelCard(
        id=e.id, kind=config.family, title=e.title, description=e.description, input_kind=e.input_kind,
        size=size, onnx=onnx_path.name, onnx_sha256=file_sha256(onnx_path), label_set=label_set,
        style_encoder=style_encoder, exemplar_bank=bank, style_presets=presets,
        params=count_params(graph) + (count_params(modules["encoder"]) if config.family == "spade" else 0),
        gmacs=round(count_gmacs(graph, *inputs.values()), 3),
        training=_training(run_dir, config, counters, e.data, command),
        metrics={k: v for k, v in metrics.items() if k != "command"},
        evaluation_command=metrics.get("command"),
        samples=samples,
        server_only=None if bank is None else _composes_on_server(weights, bank),
    )
    card_path = weights / f"{e.id}.json"
    write_card(card, card_path)
    print(f"exported {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB, {card.gmacs} GMACs) and {card_path}")
    return card_path


def _training(run_dir: Path, config: TrainConfig, counters: dict, data: list[dict], command: str | None) -> Training:
    """The card's training record. A run started from another run's weights (a segmenter's
    `model.init_from`) counts that run too: its commands first, its steps and CPU time added."""
    runs = [(run_dir, counters)]
    while getattr(config.model, "init_from", None):
        earlier = Path(config.model.init_from)
        config, _, earlier_counters = load_run(earlier)
        runs.insert(0, (earlier, earlier_counters))
    return Training(
        data=[DataSource(**d) for d in data],
        command=command or " && ".join(_training_commands(run) for run, _ in runs),
        steps=sum(c["step"] for _, c in runs), images_seen=sum(c["images_seen"] for _, c in runs),
        cpu_hours=round(sum(c.get("cpu_seconds", 0.0) for _, c in runs) / 3600, 2),
        device=counters.get("device", "cpu"),
    )


def _training_commands(run_dir: Path) -> str:
    log = run_dir / "commands.txt"
    return " && ".join(log.read_text().split("\n")[:-1]) if log.exists() else "unknown"
