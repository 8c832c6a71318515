"""Typed run configurations. A config is data: a TOML file maps onto these dataclasses, command-line
overrides (`run.max_steps=100`) are applied on top, and every run writes the resolved config it used."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class RunConfig:
    out_dir: str = "runs/default"
    max_steps: int = 1000
    batch_size: int = 4
    checkpoint_minutes: float = 5.0
    sample_every: int = 500
    log_every: int = 10
    seed: int = 0
    num_workers: int = 2
    device: str = "auto"  # auto | cpu | cuda
    amp: bool = True  # mixed precision on CUDA; ignored on CPU
    threads: int = 0  # torch CPU threads; 0 = all cores
    max_cpu_minutes: float = 0.0  # stop (with a checkpoint) after this much CPU time; 0 = no limit


@dataclass
class DataConfig:
    dataset: str = "label_folders"  # label_folders | facades | sketch_photos | unpaired
    roots: list[str] = field(default_factory=list)
    label_set: str | None = None
    load_size: int = 256
    crop_size: int = 256
    train_split: str = "train"
    val_split: str = "val"
    folder_a: str | None = None
    folder_b: str | None = None
    # Unpaired: every n-th training image of each domain is held out for validation (0: none; named
    # folders have no test split, so they need it).
    hold_out_every: int = 0
    val_limit: int = 64  # validation images used for sample sheets and quick metrics
    # Label folders, training split only: colour jitter plus clouds or dusk painted into the sky pixels
    # (data.photometric), so skies of any weather read as sky.
    photo_augment: bool = False


@dataclass
class OptimConfig:
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    decay_from: float = 1.0  # fraction of max_steps after which the lr decays linearly to 0


@dataclass
class SpadeModelConfig:
    ngf: int = 64
    nhidden: int = 128
    z_dim: int = 256
    num_up: int = 5  # upsamplings from the starting grid: the grid is size / 2**num_up
    separable: bool = False  # depthwise-separable gamma/beta convs: the cheap variant
    modulation: str = "spade"  # spade (gamma/beta convolved from the label map) | clade (looked up per class)
    # An exported SPADE's card: distil it into this (CLADE) generator instead of training adversarially
    # (distill_spade.py); the other model fields must match the teacher's architecture.
    teacher: str | None = None
    encoder_ndf: int = 64
    encoder_layers: int = 6  # stride-2 convs: the input side must be at least 2**(layers + 1)
    ndf: int = 64
    num_d: int = 2
    d_layers: int = 4
    lambda_feat: float = 10.0
    lambda_kl: float = 0.05
    lambda_l1: float = 0.0  # reconstruction with the photo's own style code
    l1_until: float = 1.0  # fraction of max_steps during which the L1 term is on
    # Median-frequency class weights (losses.median_frequency_weights) on the L1 term and on the GAN loss's
    # patches, so rare classes such as water are not drowned by road and building.
    balance_l1: bool = False
    balance_gan: bool = False
    # OASIS (Schoenfeld et al. 2021): the discriminator sees only the image and labels each patch with one of
    # the classes or "fake", so the generator is pushed to make every region look like its class, not just
    # real. In place of the hinge loss; feature matching still applies.
    segmenting_discriminator: bool = False


@dataclass
class Pix2PixModelConfig:
    ngf: int = 64
    ndf: int = 64
    depth: int = 8  # U-Net levels: the input side must be a multiple of 2**depth
    d_layers: int = 3  # 3 layers = the 70x70 PatchGAN
    dropout: float = 0.5
    norm: str = "batch"  # batch (paper) | instance (same statistics in training and at export)
    # resize (bilinear x2, then a 3x3 conv) | transposed (the paper's 4x4 stride-2 transposed conv, whose
    # uneven kernel overlap prints a checkerboard; the first shipped models used it). See models.upsampling.
    upsample: str = "resize"
    lambda_l1: float = 100.0


@dataclass
class CycleGanModelConfig:
    ngf: int = 64
    ndf: int = 64
    n_blocks: int = 9
    n_downsampling: int = 2
    upsample: str = "resize"  # resize | transposed (the paper's, with checkerboards): see models.upsampling
    d_layers: int = 3
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5  # times lambda_cycle
    pool_size: int = 50


@dataclass
class SegmenterModelConfig:
    width: int = 32
    depth: int = 4
    # Median-frequency class weights (losses.median_frequency_weights) on the cross-entropy: unweighted, a
    # class with ~1 % of the pixels (mountain) is never predicted.
    balance_classes: bool = False
    # The balanced weights raised to this power: 1 is full median-frequency balancing, below 1 milder (the
    # rare classes still count more, the common ones lose less pixel accuracy).
    class_weight_power: float = 1.0
    # A segmenter run whose trained weights this run starts from (self-training's second round).
    init_from: str | None = None
    # encoder_decoder (models.segmenter, shipped) | dilated (models.dilated_segmenter: the independent judge)
    architecture: str = "encoder_decoder"
    dilations: list[int] = field(default_factory=lambda: [1, 2, 4, 8, 1])  # dilated: one residual block each


@dataclass
class HybridModelConfig:
    """The hybrid renderer (SIMS): an exemplar bank built from the data roots, and a refining U-Net."""

    bank: str = "runs/hybrid-bank.npz"  # built by `python -m model_training build-bank`
    # Labelled roots whose photos join the bank after the training photos of data.roots (the pseudo-labelled
    # landscape photos): their segments are pasted, but the refiner never trains on their photos.
    bank_roots: list[str] = field(default_factory=list)
    # Winter photo roots (`snow-photos`) that join last, for the landscape renderer's snow only: no segments.
    snow_roots: list[str] = field(default_factory=list)
    canvases_per_photo: int = 6  # precomputed training canvases per photo (each from other photos' segments)
    widths: list[int] = field(default_factory=lambda: [16, 32, 64, 96, 128])
    res_blocks: int = 2
    ndf: int = 32
    num_d: int = 2
    d_layers: int = 3
    lambda_l1: float = 10.0
    lambda_feat: float = 10.0


MODEL_CONFIGS = {
    "spade": SpadeModelConfig,
    "hybrid": HybridModelConfig,
    "pix2pix": Pix2PixModelConfig,
    "cyclegan": CycleGanModelConfig,
    "segmenter": SegmenterModelConfig,
}


@dataclass
class ExportConfig:
    id: str = ""
    title: str = ""
    description: str = ""
    input_kind: str = "labels"
    size: int = 256
    data: list[dict[str, str]] = field(default_factory=list)  # name, citation, terms
    presets: list[dict[str, str]] = field(default_factory=list)  # SPADE style presets: id, name, photo
    # SPADE random styles: the training codes' Gaussian with its spread scaled by this (the truncation trick
    # of BigGAN: below 1, fewer extreme looks, more faithful classes). Evaluation samples the same way.
    style_truncation: float = 1.0


@dataclass
class TrainConfig:
    family: str
    run: RunConfig
    data: DataConfig
    optim: OptimConfig
    model: Any
    export: ExportConfig

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _build(cls, values: dict, where: str):
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"unknown keys in [{where}]: {', '.join(sorted(unknown))}")
    return cls(**values)


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # a bare string such as a path


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    for override in overrides:
        key, sep, value = override.partition("=")
        if not sep or "." not in key:
            raise ValueError(f"override {override!r} must look like section.key=value")
        section, name = key.split(".", 1)
        raw.setdefault(section, {})[name] = _parse_value(value)
    return raw


def config_from_dict(raw: dict) -> TrainConfig:
    family = raw.get("family")
    if family not in MODEL_CONFIGS:
        raise ValueError(f"family must be one of {sorted(MODEL_CONFIGS)}, got {family!r}")
    unknown = set(raw) - {"family", "run", "data", "optim", "model", "export"}
    if unknown:
        raise ValueError(f"unknown sections: {', '.join(sorted(unknown))}")
    return TrainConfig(
        family=family,
        run=_build(RunConfig, raw.get("run", {}), "run"),
        data=_build(DataConfig, raw.get("data", {}), "data"),
        optim=_build(OptimConfig, raw.get("optim", {}), "optim"),
        model=_build(MODEL_CONFIGS[family], raw.get("model", {}), "model"),
        export=_build(ExportConfig, raw.get("export", {}), "export"),
    )


def load_config(path: str | Path, overrides: list[str] = ()) -> TrainConfig:
    raw = tomllib.loads(Path(path).read_text())
    return config_from_dict(apply_overrides(raw, list(overrides)))


def dump_toml(config: TrainConfig) -> str:
    """The resolved config as TOML (written next to every run's checkpoints)."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + "}"
        return repr(v)

    lines = [f'family = "{config.family}"']
    for section, values in config.to_dict().items():
        if section == "family":
            continue
        lines.append(f"\n[{section}]")
        lines += [f"{k} = {value(v)}" for k, v in values.items() if v is not None]
    return "\n".join(lines) + "\n"
