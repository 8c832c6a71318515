"""Distil an exported SPADE (the teacher) into a CLADE generator: the same network with per-class gamma/beta
tables in place of SPADE's gamma/beta convs (`model.modulation = "clade"`), for a faster served model.

The student starts as close to the teacher as the architecture allows: every conv and style layer is copied,
and each class's table entry is what the teacher's gamma/beta convs compute inside a uniform region of that
class (they differ only within a few pixels of class boundaries). Training then fits the teacher's picture:
L1 between student and teacher on the training label maps, with random styles drawn the way the painter
draws them and wider. The style encoder is the teacher's, unchanged, so styles, presets and codes carry over.

Run with `python -m model_training train spade --config model_training/configs/spade-landscape.toml`.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper
from torch import nn

from model_training import runtime as rt
from model_training.config import SpadeModelConfig, TrainConfig
from model_training.datasets import build_dataset, label_set_of
from model_training.distributed import unwrap
from model_training.export import strip_spectral_norm
from model_training.labelsets import colourise, num_classes
from model_training.models.spade import CLADE, SPADE, SPADEGenerator, StyleEncoder, one_hot

# The teacher the shipped landscape model was distilled from: ngf 16, nhidden 32, separable gamma/beta.
TEACHER_MODEL_FIELDS = ("ngf", "nhidden", "z_dim", "num_up", "encoder_ndf", "encoder_layers")
# Random styles for distillation: mean + spread * scale @ N(0, I), spread uniform in [0, MAX_STYLE_SPREAD].
# The card's scale is already truncated to the painter's spread (0.5 of the training codes'), so 2 covers
# the whole distribution of training codes, as style images do.
MAX_STYLE_SPREAD = 2.0


def onnx_state(path: Path, prefix: str = "") -> dict[str, torch.Tensor]:
    """A state dict from an exported graph's initializers (our exports keep module parameter names).

    `GammaBetaConv` exports its weights as two unnamed halves: they are joined again from the node names."""
    graph = onnx.load(str(path)).graph
    arrays = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    state = {name[len(prefix):]: torch.from_numpy(a.copy()) for name, a in arrays.items() if name.startswith(prefix)}
    halves: dict[str, list[tuple[bool, str, str]]] = {}
    for node in graph.node:
        if node.op_type == "Conv" and "/gamma_beta/" in node.name:
            # "/generator/head_0/norm_0/gamma_beta/gamma_beta.1/Conv" (and ".../Conv_1": the beta half)
            parts = node.name.strip("/").split("/")
            module = ".".join([*parts[1:-2], parts[-2].rsplit(".", 1)[-1]])
            halves.setdefault(module, []).append((parts[-1].endswith("_1"), node.input[1], node.input[2]))
    for module, parts in halves.items():
        parts.sort()
        state[f"{module}.weight"] = torch.from_numpy(np.concatenate([arrays[w] for _, w, _ in parts]))
        state[f"{module}.bias"] = torch.from_numpy(np.concatenate([arrays[b] for _, _, b in parts]))
    return state


def load_teacher(card_path: Path, student: SpadeModelConfig, classes: int) -> tuple[SPADEGenerator, StyleEncoder]:
    """The teacher's generator and style encoder as torch modules, from its card's ONNX files."""
    card = json.loads(card_path.read_text())
    folder = card_path.parent
    teacher_cfg = SpadeModelConfig(**{k: getattr(student, k) for k in TEACHER_MODEL_FIELDS},
                                   separable=True, modulation="spade")
    generator = SPADEGenerator(classes, teacher_cfg)
    strip_spectral_norm(generator)
    copy_parameters(generator, onnx_state(folder / card["onnx"], "generator."))
    encoder = StyleEncoder(teacher_cfg)
    strip_spectral_norm(encoder)
    copy_parameters(encoder, onnx_state(folder / card["style_encoder"]["onnx"]))
    return generator.eval(), encoder.eval()


@torch.no_grad()
def copy_parameters(module: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Parameter by parameter: `load_state_dict` still runs spectral norm's load hook after its removal."""
    parameters = dict(module.named_parameters())
    if parameters.keys() != state.keys():
        raise ValueError(f"graph and module differ: {sorted(parameters.keys() ^ state.keys())[:6]}")
    for name, value in state.items():
        parameters[name].copy_(value)


@torch.no_grad()
def clade_tables(norm: SPADE, embed: nn.Module, classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(gamma, beta) [classes + 1, channels]: the teacher's gamma/beta inside a uniform region of each class,
    and for no class (an all-zero one-hot map). Both norms add the `1 +` themselves."""
    uniform = torch.cat([torch.eye(classes), torch.zeros(1, classes)])[:, :, None, None].expand(-1, -1, 5, 5)
    gamma, beta = norm.gamma_beta(embed(uniform.contiguous()))
    return gamma[:, :, 2, 2], beta[:, :, 2, 2]


@torch.no_grad()
def student_from_teacher(teacher: SPADEGenerator, cfg: SpadeModelConfig, classes: int) -> SPADEGenerator:
    """A CLADE generator with the teacher's convs and style layers, and tables from its gamma/beta convs."""
    student = SPADEGenerator(classes, cfg)
    strip_spectral_norm(student)
    shared = dict(teacher.named_parameters())
    for name, parameter in student.named_parameters():
        if name in shared:
            parameter.copy_(shared[name])
    for t_block, s_block in zip([teacher.head_0, *teacher.middle, *teacher.up_blocks],
                                [student.head_0, *student.middle, *student.up_blocks]):
        for name in ("norm_0", "norm_1", "norm_s"):
            if hasattr(s_block, name):
                clade: CLADE = getattr(s_block, name)
                gamma, beta = clade_tables(getattr(t_block, name), t_block.embed[0], classes)
                clade.gamma.copy_(gamma)
                clade.beta.copy_(beta)
    return student


def teacher_session(card_path: Path, threads: int) -> ort.InferenceSession:
    card = json.loads(card_path.read_text())
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    return ort.InferenceSession(str(card_path.parent / card["onnx"]), options, providers=["CPUExecutionProvider"])


def style_gaussian(card_path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean [z_dim], scale [z_dim, z_dim]) of the teacher card's random-style Gaussian."""
    codes = json.loads(card_path.read_text())["style_encoder"]
    return torch.tensor(codes["code_mean"]), torch.tensor(codes["code_scale"])


def random_styles(gaussian: tuple[torch.Tensor, torch.Tensor], count: int, generator: torch.Generator) -> torch.Tensor:
    """[count, z_dim] codes from the teacher's Gaussian, each at a random spread."""
    mean, scale = gaussian
    spread = torch.rand(count, 1, generator=generator) * MAX_STYLE_SPREAD
    return mean + spread * (torch.randn(count, len(mean), generator=generator) @ scale.T)


def train(config: TrainConfig, resume: bool = False) -> Path:
    run = rt.setup(config)
    m = config.model
    teacher_card = Path(m.teacher)
    label_set = label_set_of(config)
    classes = num_classes(label_set)
    train_set = build_dataset(config, train=True)
    val_set = build_dataset(config, train=False)

    teacher, encoder = load_teacher(teacher_card, m, classes)
    teacher_graph = teacher_session(teacher_card, config.run.threads or 1)
    gaussian = style_gaussian(teacher_card)
    generator = run.wrap(student_from_teacher(teacher, m, classes))
    del teacher
    optimiser = torch.optim.Adam(generator.parameters(), lr=config.optim.lr_g,
                                 betas=(config.optim.beta1, config.optim.beta2))
    ckpt = rt.Checkpointer(config, run, {"generator": generator, "encoder": encoder, "opt_g": optimiser})
    counters = ckpt.resume() if resume else {"step": 0, "images_seen": 0}

    def teacher_picture(labels: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
        pictures = [teacher_graph.run(["image"], {"labels": labels[i:i + 1].numpy(),
                                                  "style": styles[i:i + 1].numpy()})[0]
                    for i in range(labels.shape[0])]
        return torch.from_numpy(np.concatenate(pictures))

    batches = rt.StepBatches(train_set, config.run.batch_size, config.run.seed, run.rank, run.world_size)
    loader = rt.batch_loader(train_set, batches, counters["step"], config.run.max_steps, config.run.num_workers)
    val_batch = rt.collate([val_set[i] for i in range(min(4, len(val_set)))])
    with rt.TrainingLoop(config, run, ckpt, counters) as loop:
        for batch in loader:
            rt.linear_decay(optimiser, config.optim.lr_g, loop.step, config.run.max_steps, config.optim.decay_from)
            labels = batch["labels"]
            # Each example's style is drawn from its own seed, like its augmentation: a resumed run and
            # any number of ranks draw the styles one process would.
            styles = torch.cat([random_styles(gaussian, 1, torch.Generator().manual_seed(seed))
                                for _, seed in batches.keys(loop.step)])
            target = teacher_picture(labels, styles)
            generator.train()
            picture = generator(one_hot(labels.to(run.device), classes), styles.to(run.device))
            losses = {"l1_to_teacher": (picture - target.to(run.device)).abs().mean()}
            optimiser.zero_grad(set_to_none=True)
            losses["l1_to_teacher"].backward()
            optimiser.step()

            sample = lambda path: save_samples(unwrap(generator), teacher_picture, gaussian, val_batch, label_set,
                                               run, path)
            if loop.step_done(labels.shape[0], losses, sample):
                break
    return ckpt.path


@torch.no_grad()
def save_samples(generator, teacher_picture, gaussian: tuple[torch.Tensor, torch.Tensor], batch: dict, label_set, run: rt.Runtime,
                 path: Path) -> None:
    """labels | teacher | student, in two random styles, on validation maps."""
    generator.eval()
    classes = num_classes(label_set)
    labels = batch["labels"]
    styles = random_styles(gaussian, 2 * labels.shape[0], torch.Generator().manual_seed(0))
    rows = []
    for i, label_map in enumerate(labels):
        coloured = torch.from_numpy(colourise(label_map[0].numpy(), label_set)).permute(2, 0, 1).float() / 127.5 - 1
        row = [coloured]
        for style in styles[2 * i:2 * i + 2]:
            row += [teacher_picture(label_map[None], style[None])[0],
                    generator(one_hot(label_map[None].to(run.device), classes), style[None].to(run.device))[0].cpu()]
        rows.append(row)
    rt.save_sheet(rows, path)
