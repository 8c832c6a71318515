"""Issue 15 on tiny models: CLADE, distilling an exported SPADE teacher into a CLADE student (distill_spade),
exporting the student with its teacher's style encoder, and static int8 quantisation (quantize)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from backend.cards import ModelCard, load_card
from backend.engine import file_sha256
from model_training import distill_spade, train_spade
from model_training.__main__ import main
from model_training.checkpoints import load_run
from model_training.config import TrainConfig
from model_training.datasets import build_dataset
from model_training.export import PARITY_TOLERANCE, export
from model_training.labelsets import LANDSCAPE, num_classes
from model_training.models.spade import CLADE, SPADEGenerator, one_hot, with_no_class
from tests.helpers.tiny_runs import student_config, tiny_teacher

REPO = Path(__file__).resolve().parent.parent
CLASSES = num_classes(LANDSCAPE)
IGNORE = LANDSCAPE.ignore_id
NORMS = ("norm_0", "norm_1", "norm_s")


def session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def paint(graph: ort.InferenceSession, labels: torch.Tensor, styles: torch.Tensor) -> np.ndarray:
    return graph.run(["image"], {"labels": labels.numpy(), "style": styles.numpy().astype(np.float32)})[0]


def labels_with_ignore(seed: int, height: int, width: int) -> torch.Tensor:
    labels = torch.randint(0, CLASSES, (1, 1, height, width), generator=torch.Generator().manual_seed(seed))
    labels[..., :4, :4] = IGNORE
    return labels


def blocks(generator: SPADEGenerator) -> list:
    return [generator.head_0, *generator.middle, *generator.up_blocks]


def validation_maps(config: TrainConfig) -> torch.Tensor:
    val_set = build_dataset(config, train=False)
    return torch.stack([val_set[i]["labels"] for i in range(len(val_set))])


@pytest.fixture(scope="module")
def teacher_card(fixture_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny separable SPADE after 4 adversarial steps, exported: the teacher every test distils."""
    return tiny_teacher(fixture_data, tmp_path_factory.mktemp("teacher"))


@pytest.fixture(scope="module")
def distilled(fixture_data: Path, teacher_card: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(run folder, exported card) of the student after 4 distillation steps, started through train_spade."""
    root = tmp_path_factory.mktemp("student")
    train_spade.train(student_config(fixture_data, root / "run", teacher_card))
    return root / "run", export(root / "run", root / "weights")


def test_no_class_channel_marks_exactly_the_pixels_of_no_class():
    labels = torch.tensor([[[[0, 7, IGNORE], [3, 200, 1]]]])
    segmap = with_no_class(one_hot(labels, CLASSES))
    assert segmap.shape == (1, CLASSES + 1, 2, 3)
    assert torch.equal(segmap.sum(1), torch.ones(1, 2, 3))  # still one-hot, now with C + 1 classes
    assert torch.equal(segmap[0, CLASSES], (labels[0, 0] >= CLASSES).float())


def test_clade_is_a_per_pixel_lookup_of_each_pixels_class_row():
    torch.manual_seed(0)
    channels, z_dim = 5, 3
    clade = CLADE(channels, CLASSES + 1, z_dim)
    torch.nn.init.normal_(clade.gamma)
    torch.nn.init.normal_(clade.beta)
    labels = torch.randint(0, CLASSES + 1, (2, 1, 6, 7))
    labels[labels == CLASSES] = IGNORE  # some pixels of no class
    x, z = torch.randn(2, channels, 6, 7), torch.randn(2, z_dim)

    got = clade(x, with_no_class(one_hot(labels, CLASSES)), z)

    rows = labels[:, 0].clamp(max=CLASSES)  # the ignore id looks up the no-class row
    gamma, beta = clade.gamma[rows].permute(0, 3, 1, 2), clade.beta[rows].permute(0, 3, 1, 2)
    style_gamma, style_beta = clade.style(z)[:, :, None, None].chunk(2, dim=1)
    expected = F.instance_norm(x) * (1 + gamma + style_gamma) + beta + style_beta
    assert torch.allclose(got, expected, atol=1e-5)


def test_load_teacher_reproduces_the_exported_graphs(teacher_card: Path, fixture_data: Path, tmp_path: Path):
    config = student_config(fixture_data, tmp_path, teacher_card)
    teacher, encoder = distill_spade.load_teacher(teacher_card, config.model, CLASSES)
    card = load_card(teacher_card)
    labels, style = labels_with_ignore(1, 32, 64), torch.randn(1, config.model.z_dim)
    with torch.no_grad():
        picture = teacher(one_hot(labels, CLASSES), style).numpy()
        mu = encoder(torch.from_numpy(picture))[0].numpy()
    # Within the export's own parity tolerance: onnx_state rejoined the two halves of each gamma/beta conv.
    assert np.abs(picture - paint(session(teacher_card.parent / card.onnx), labels, style)).max() < PARITY_TOLERANCE
    teacher_mu = session(teacher_card.parent / card.style_encoder.onnx).run(["mu"], {"image": picture})[0]
    assert np.abs(mu - teacher_mu).max() < PARITY_TOLERANCE


def test_student_copies_every_shared_parameter_and_adds_only_class_tables(teacher_card: Path, fixture_data: Path,
                                                                           tmp_path: Path):
    config = student_config(fixture_data, tmp_path, teacher_card)
    teacher, _ = distill_spade.load_teacher(teacher_card, config.model, CLASSES)
    student = distill_spade.student_from_teacher(teacher, config.model, CLASSES)
    teacher_parameters = dict(teacher.named_parameters())
    student_parameters = dict(student.named_parameters())

    shared = student_parameters.keys() & teacher_parameters.keys()
    tables = {name for name in student_parameters if name.rsplit(".", 1)[-1] in ("gamma", "beta")}
    assert shared and student_parameters.keys() - shared == tables
    for name in shared:
        assert torch.equal(student_parameters[name], teacher_parameters[name]), name
    assert not any("gamma_beta" in name or "embed" in name for name in student_parameters)  # no label-map convs


@pytest.mark.parametrize("label", [*range(CLASSES), IGNORE], ids=[*map(str, range(CLASSES)), "no-class"])
def test_clade_tables_reproduce_the_teachers_modulation_inside_a_uniform_region(teacher_card: Path,
                                                                                fixture_data: Path, tmp_path: Path,
                                                                                label: int):
    config = student_config(fixture_data, tmp_path, teacher_card)
    teacher, _ = distill_spade.load_teacher(teacher_card, config.model, CLASSES)
    student = distill_spade.student_from_teacher(teacher, config.model, CLASSES)
    segmap = one_hot(torch.full((1, 1, 12, 12), label), CLASSES)
    z = torch.randn(1, config.model.z_dim, generator=torch.Generator().manual_seed(label))
    compared = 0
    with torch.no_grad():
        for t_block, s_block in zip(blocks(teacher), blocks(student)):
            for name in (n for n in NORMS if hasattr(s_block, n)):
                t_norm, s_norm = getattr(t_block, name), getattr(s_block, name)
                x = torch.randn(1, s_norm.gamma.shape[1], 12, 12, generator=torch.Generator().manual_seed(compared))
                spade = t_norm(x, t_block.embed[0](segmap), z)
                clade = s_norm(x, with_no_class(segmap), z)
                # The embedding and depthwise 3x3 convs see zero padding within two pixels of the border.
                assert torch.allclose(spade[..., 2:-2, 2:-2], clade[..., 2:-2, 2:-2], atol=1e-5), name
                compared += 1
    assert compared == sum(isinstance(module, CLADE) for module in student.modules())  # every norm


def test_the_student_starts_at_the_teachers_picture(teacher_card: Path, fixture_data: Path, tmp_path: Path):
    config = student_config(fixture_data, tmp_path, teacher_card)
    teacher, _ = distill_spade.load_teacher(teacher_card, config.model, CLASSES)
    teacher_graph = session(teacher_card.parent / load_card(teacher_card).onnx)
    styles = distill_spade.random_styles(distill_spade.style_gaussian(teacher_card), 3,
                                         torch.Generator().manual_seed(0))

    def l1_to_teacher(generator: SPADEGenerator) -> float:
        with torch.no_grad():
            return float(np.mean([np.abs(generator.eval()(one_hot(labels[None], CLASSES), style[None]).numpy()
                                         - paint(teacher_graph, labels[None], style[None])).mean()
                                  for labels in validation_maps(config) for style in styles]))

    # Only near class boundaries may the student differ: observed 0.03, against 0.8-1.0 from a random start.
    torch.manual_seed(0)
    assert l1_to_teacher(distill_spade.student_from_teacher(teacher, config.model, CLASSES)) < \
        0.1 * l1_to_teacher(SPADEGenerator(CLASSES, config.model))


def test_distillation_trains_the_student_and_keeps_the_teachers_encoder(distilled: tuple[Path, Path],
                                                                        teacher_card: Path):
    run_dir, _ = distilled
    config, modules, counters = load_run(run_dir)
    assert config.model.teacher == str(teacher_card) and counters["step"] == 4
    lines = (run_dir / "losses.jsonl").read_text().splitlines()
    losses = [json.loads(line) for line in lines]
    assert [row["step"] for row in losses] == [0, 1, 2, 3]
    assert all(row.keys() == {"step", "l1_to_teacher"} for row in losses)  # the distillation loop, not the GAN's
    assert losses[0]["l1_to_teacher"] < 0.1  # it starts at the teacher (a random CLADE is at ~0.9)
    assert sorted(p.name for p in (run_dir / "samples").iterdir()) == ["000002.png", "000004.png"]

    teacher, encoder = distill_spade.load_teacher(teacher_card, config.model, CLASSES)
    initial = distill_spade.student_from_teacher(teacher, config.model, CLASSES)
    trained = dict(modules["generator"].named_parameters())
    assert any(not torch.equal(trained[name], p) for name, p in initial.named_parameters())  # the optimiser stepped
    for name, p in modules["encoder"].named_parameters():  # not in the optimiser: the teacher's codes hold
        assert torch.equal(p, dict(encoder.named_parameters())[name]), name


def test_distilled_export_matches_torch_and_carries_the_teachers_style_encoder(distilled: tuple[Path, Path],
                                                                              teacher_card: Path):
    run_dir, card_path = distilled
    card, teacher = load_card(card_path), load_card(teacher_card)
    weights = card_path.parent

    assert card.style_encoder.code_mean == teacher.style_encoder.code_mean
    assert card.style_encoder.code_scale == teacher.style_encoder.code_scale
    assert card.style_encoder.z_dim == teacher.style_encoder.z_dim
    assert card.style_encoder.onnx_sha256 == file_sha256(weights / card.style_encoder.onnx)
    assert card.onnx_sha256 == file_sha256(weights / card.onnx)
    # Same photos through the same encoder: the presets' codes carry over too.
    assert np.allclose([p.code for p in card.style_presets], [p.code for p in teacher.style_presets], atol=1e-4)
    assert card.gmacs < teacher.gmacs  # the point of CLADE: no convs on the label map

    image = np.random.default_rng(0).uniform(-1, 1, (1, 3, 64, 64)).astype(np.float32)
    mu = session(weights / card.style_encoder.onnx).run(["mu"], {"image": image})[0]
    assert np.allclose(mu, session(teacher_card.parent / teacher.style_encoder.onnx).run(["mu"], {"image": image})[0],
                       atol=1e-5)

    _, modules, _ = load_run(run_dir)
    labels, style = labels_with_ignore(2, 64, 96), torch.randn(1, card.style_encoder.z_dim)
    with torch.no_grad():
        expected = modules["generator"](one_hot(labels, CLASSES), style).numpy()
    assert np.abs(paint(session(weights / card.onnx), labels, style) - expected).max() < PARITY_TOLERANCE


def fp32_and_int8_pictures(fp32: Path, int8: Path, card: ModelCard, labels_folder: Path) -> tuple[np.ndarray, ...]:
    """Both graphs on the fixture's validation maps (not used for calibration), in three random styles each."""
    mean, scale = np.asarray(card.style_encoder.code_mean), np.asarray(card.style_encoder.code_scale)
    rng = np.random.default_rng(1)
    feeds = [{"labels": np.asarray(Image.open(labels_folder / f"scene{i:02d}.png")
                                   .resize((card.size, card.size), Image.Resampling.NEAREST), np.int64)[None, None],
              "style": (mean + scale @ rng.standard_normal(len(mean))).astype(np.float32)[None]}
             for i in (8, 9) for _ in range(3)]
    return tuple(np.concatenate([session(graph).run(["image"], feed)[0] for feed in feeds]) for graph in (fp32, int8))


def test_quantize_cli_writes_an_int8_graph_close_to_float(distilled: tuple[Path, Path], fixture_data: Path,
                                                          tmp_path: Path, capsys: pytest.CaptureFixture):
    weights = tmp_path / "weights"
    shutil.copytree(distilled[1].parent, weights)
    card_path = weights / distilled[1].name
    graph = weights / load_card(card_path).onnx
    fp32 = shutil.copy(graph, tmp_path / "fp32.onnx")

    main(["quantize", str(card_path), "--data", str(fixture_data / "landscape")])
    assert str(graph) in capsys.readouterr().out

    card = load_card(card_path)
    nodes = onnx.load(str(graph)).graph.node
    produced_by = {output: node.op_type for node in nodes for output in node.output}
    convs = [node for node in nodes if node.op_type == "Conv"]
    assert convs and all(produced_by.get(node.input[i]) == "DequantizeLinear" for node in convs for i in (0, 1))
    assert any(node.op_type == "QuantizeLinear" for node in nodes)
    assert card.onnx_sha256 == file_sha256(graph)
    # The default --limit (64) is more than the fixture's 8 training maps: the note counts the maps used.
    assert "calibrated on 8 label maps of landscape" in card.metrics["quantization"]

    float_pictures, int8_pictures = fp32_and_int8_pictures(fp32, graph, card, fixture_data / "landscape" / "labels")
    error = np.abs(float_pictures - int8_pictures)
    # Observed: mean 0.015 (max 0.11) on pictures in [-1, 1] whose own spread (std) is 0.35, i.e. about two
    # grey levels of 255 on average after uint8 activations through every conv. 0.04 (five grey levels) leaves
    # room for other seeds while still an order of magnitude under the picture's spread.
    assert 0 < error.mean() < 0.04

    with pytest.raises(SystemExit) as refused:
        main(["quantize", str(card_path), "--data", str(fixture_data / "landscape")])
    assert "already quantised" in str(refused.value.code)
    assert file_sha256(graph) == card.onnx_sha256  # the int8 graph was left alone


def test_quantize_cli_without_a_card_exits_with_a_message():
    result = subprocess.run([sys.executable, "-m", "model_training", "quantize", "no/such/card.json"],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode != 0
    assert "no model card at no/such/card.json" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("case", ["segmenter card", "no splits", "limit 0"])
def test_quantize_cli_refuses_bad_input_and_leaves_the_graph_alone(case: str, distilled: tuple[Path, Path],
                                                                   tiny_weights: Path, fixture_data: Path,
                                                                   tmp_path: Path):
    data, limit = fixture_data / "landscape", "8"
    if case == "segmenter card":
        weights = shutil.copytree(tiny_weights, tmp_path / "weights")
        card_path, message = weights / "segmenter-test.json", "segmenter model: only SPADE cards are quantised"
    else:
        weights = shutil.copytree(distilled[1].parent, tmp_path / "weights")
        card_path = weights / distilled[1].name
        if case == "no splits":
            data, message = tmp_path, "--data must be a label-folder dataset"
        else:
            limit, message = "0", "lists no label maps"
    graph = weights / load_card(card_path).onnx
    before = file_sha256(graph)

    with pytest.raises(SystemExit) as refused:
        main(["quantize", str(card_path), "--data", str(data), "--limit", limit])
    assert refused.value.code not in (0, None) and message in str(refused.value.code)
    assert file_sha256(graph) == before
