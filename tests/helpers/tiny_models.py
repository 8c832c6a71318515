"""Tiny ONNX models and valid cards that satisfy docs/ARCHITECTURE.md, built with onnx.helper (no torch).

`write_tiny_weights(directory)` is used by the server tests and by the browser tests (which start
`python -m backend --weights <dir>`): keep its signature, the model ids and the preset ids stable.

Every generator is one-hot (Equal against an arange) or the input image -> 1x1 Conv -> Tanh, so outputs are
cheap, deterministic and depend on every input (SPADE adds a projection of its style code). The segmenter
is a 1x1 Conv followed by ArgMax. `write_tiny_hybrid` adds a hybrid model whose exemplar bank is built from
the labelled fixture photos and whose refiner is a 1x1 Conv over the one-hot labels, canvas and filled mask.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from backend.cards import (DataSource, ExemplarBankFile, LabelSet, ModelCard, StyleEncoder, StylePreset, Training,
                           write_card)
from backend.hybrid import ExemplarBank
from model_training.exemplar_bank import BankConfig, build_bank
from model_training.labelsets import FACADES, LANDSCAPE, num_classes

OPSET = 17
IR_VERSION = 8
Z_DIM = 8
SPADE_ID = "spade-test"
FACADES_ID = "pix2pix-facades-test"
SKETCH_ID = "pix2pix-sketch-test"
CYCLEGAN_ID = "cyclegan-test"
SEGMENTER_ID = "segmenter-test"
HYBRID_ID = "hybrid-test"
LANDSCAPE_ID = "photo-test"  # the patch-synthesis renderer's card on the hybrid's bank (tests/conftest.py)
PRESET_IDS = ("sunny", "misty")
HYBRID_SERVER_ONLY = "Composes the picture from photo segments of a bank before the network (server only)."
# Hybrid styles are colour statistics: mean R, G, B then std R, G, B, in [0, 1].
HYBRID_PRESETS = {"golden": [0.8, 0.6, 0.3, 0.2, 0.15, 0.1], "grey": [0.45, 0.47, 0.5, 0.1, 0.1, 0.1]}
# The Gaussian random styles are drawn from (the card's code_mean, code_scale): off-centre and not
# isotropic, so a test can tell it from N(0, I).
CODE_MEAN = [0.3 - 0.05 * i for i in range(Z_DIM)]
CODE_SCALE = [[0.5 if i == j else (0.1 if i > j else 0.0) for j in range(Z_DIM)] for i in range(Z_DIM)]
SIZES = {SPADE_ID: 64, FACADES_ID: 64, SKETCH_ID: 64, CYCLEGAN_ID: 48, SEGMENTER_ID: 64, HYBRID_ID: 64}


def _image_input(name: str, channels: int, element_type: int = TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, element_type, ["N", channels, "H", "W"])


def _model(nodes, inputs, outputs, initializers) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "tiny", inputs, outputs, initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION,
                              producer_name="tests.helpers.tiny_models")
    onnx.checker.check_model(model)
    return model


def _init(name: str, array: np.ndarray):
    return numpy_helper.from_array(array, name)


def _one_hot_nodes(label_set: LabelSet) -> tuple[list, list]:
    """labels int64 [N,1,H,W] -> 'one_hot' float [N,C,H,W]; ids outside 0..C-1 give all-zero vectors."""
    classes = np.arange(num_classes(label_set), dtype=np.int64).reshape(1, -1, 1, 1)
    nodes = [helper.make_node("Equal", ["labels", "classes"], ["is_class"]),
             helper.make_node("Cast", ["is_class"], ["one_hot"], to=TensorProto.FLOAT)]
    return nodes, [_init("classes", classes)]


def _conv(rng: np.random.Generator, source: str, target: str, c_in: int, c_out: int, prefix: str):
    weight = rng.normal(0, 1.0, (c_out, c_in, 1, 1)).astype(np.float32)
    bias = rng.normal(0, 0.1, (c_out,)).astype(np.float32)
    node = helper.make_node("Conv", [source, f"{prefix}_w", f"{prefix}_b"], [target])
    return node, [_init(f"{prefix}_w", weight), _init(f"{prefix}_b", bias)]


def spade_generator(label_set: LabelSet, seed: int) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    nodes, inits = _one_hot_nodes(label_set)
    conv, conv_inits = _conv(rng, "one_hot", "painted", num_classes(label_set), 3, "conv")
    style_weight = rng.normal(0, 0.5, (Z_DIM, 3)).astype(np.float32)
    nodes += [conv,
              helper.make_node("MatMul", ["style", "style_w"], ["style_rgb"]),
              helper.make_node("Unsqueeze", ["style_rgb", "spatial_axes"], ["style_shift"]),
              helper.make_node("Add", ["painted", "style_shift"], ["styled"]),
              helper.make_node("Tanh", ["styled"], ["image"])]
    inits += conv_inits + [_init("style_w", style_weight), _init("spatial_axes", np.array([2, 3], np.int64))]
    inputs = [_image_input("labels", 1, TensorProto.INT64),
              helper.make_tensor_value_info("style", TensorProto.FLOAT, ["N", Z_DIM])]
    return _model(nodes, inputs, [_image_input("image", 3)], inits)


def style_encoder(seed: int) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    nodes = [helper.make_node("GlobalAveragePool", ["image"], ["pooled"]),
             helper.make_node("Flatten", ["pooled"], ["colour"], axis=1),
             helper.make_node("MatMul", ["colour", "mu_w"], ["mu"]),
             helper.make_node("MatMul", ["colour", "logvar_w"], ["logvar"])]
    inits = [_init("mu_w", rng.normal(0, 1, (3, Z_DIM)).astype(np.float32)),
             _init("logvar_w", rng.normal(0, 0.1, (3, Z_DIM)).astype(np.float32))]
    outputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["N", Z_DIM]) for name in ("mu", "logvar")]
    return _model(nodes, [_image_input("image", 3)], outputs, inits)


def label_generator(label_set: LabelSet, seed: int) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    nodes, inits = _one_hot_nodes(label_set)
    conv, conv_inits = _conv(rng, "one_hot", "painted", num_classes(label_set), 3, "conv")
    nodes += [conv, helper.make_node("Tanh", ["painted"], ["image"])]
    inputs = [_image_input("labels", 1, TensorProto.INT64)]
    return _model(nodes, inputs, [_image_input("image", 3)], inits + conv_inits)


def image_generator(input_name: str, channels: int, seed: int) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    conv, inits = _conv(rng, input_name, "painted", channels, 3, "conv")
    nodes = [conv, helper.make_node("Tanh", ["painted"], ["image"])]
    return _model(nodes, [_image_input(input_name, channels)], [_image_input("image", 3)], inits)


def hybrid_refiner(label_set: LabelSet, seed: int) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    nodes, inits = _one_hot_nodes(label_set)
    nodes.append(helper.make_node("Concat", ["one_hot", "canvas", "filled"], ["stacked"], axis=1))
    conv, conv_inits = _conv(rng, "stacked", "painted", num_classes(label_set) + 4, 3, "conv")
    nodes += [conv, helper.make_node("Tanh", ["painted"], ["image"])]
    inputs = [_image_input("labels", 1, TensorProto.INT64), _image_input("canvas", 3), _image_input("filled", 1)]
    return _model(nodes, inputs, [_image_input("image", 3)], inits + conv_inits)


def segmenter(label_set: LabelSet, seed: int) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    conv, inits = _conv(rng, "image", "scores", 3, num_classes(label_set), "conv")
    nodes = [conv, helper.make_node("ArgMax", ["scores"], ["labels"], axis=1, keepdims=1)]
    outputs = [_image_input("labels", 1, TensorProto.INT64)]
    return _model(nodes, [_image_input("image", 3)], outputs, inits)


def _save(model: onnx.ModelProto, path: Path) -> tuple[str, int]:
    data = model.SerializeToString()
    path.write_bytes(data)
    params = sum(int(np.prod(init.dims)) for init in model.graph.initializer)
    return hashlib.sha256(data).hexdigest(), params


def _training() -> Training:
    return Training(data=[DataSource(name="none", citation="synthetic test fixture", terms="test only")],
                    command="tests/helpers/tiny_models.py", steps=0, images_seen=0, cpu_hours=0.0, device="cpu")


def _swatch(path: Path, colour: tuple[int, int, int], size: int = 16) -> None:
    Image.new("RGB", (size, size), colour).save(path)


def _write_card(directory: Path, model_id: str, model: onnx.ModelProto, **fields) -> None:
    sha, params = _save(model, directory / f"{model_id}.onnx")
    write_card(ModelCard(id=model_id, title=model_id.replace("-", " "), description=f"Tiny test model {model_id}.",
                         size=SIZES[model_id], onnx=f"{model_id}.onnx", onnx_sha256=sha, params=params, gmacs=0.0,
                         training=_training(), metrics={"note": "untrained"}, **fields),
               directory / f"{model_id}.json")


def write_tiny_weights(directory: Path) -> None:
    """Write the five tiny models, their cards, two SPADE preset thumbnails and a sample sheet."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "thumbnails").mkdir(exist_ok=True)

    def card(model_id: str, model: onnx.ModelProto, **fields) -> None:
        _write_card(directory, model_id, model, **fields)

    encoder_sha, _ = _save(style_encoder(seed=11), directory / f"{SPADE_ID}-style.onnx")
    presets = []
    for preset_id, colour, sign in [(PRESET_IDS[0], (250, 200, 60), 1.0), (PRESET_IDS[1], (150, 170, 190), -1.0)]:
        thumbnail = f"thumbnails/{SPADE_ID}-{preset_id}.jpg"
        _swatch(directory / thumbnail, colour)
        code = [sign * (1.0 + 0.1 * i) for i in range(Z_DIM)]
        presets.append(StylePreset(id=preset_id, name=preset_id.title(), thumbnail=thumbnail, code=code))
    _swatch(directory / f"{SPADE_ID}-samples.png", (90, 120, 60), size=32)
    card(SPADE_ID, spade_generator(LANDSCAPE, seed=1), kind="spade", input_kind="labels", label_set=LANDSCAPE,
         style_encoder=StyleEncoder(onnx=f"{SPADE_ID}-style.onnx", onnx_sha256=encoder_sha, z_dim=Z_DIM,
                                   code_mean=CODE_MEAN, code_scale=CODE_SCALE),
         style_presets=presets, samples=f"{SPADE_ID}-samples.png")
    card(FACADES_ID, label_generator(FACADES, seed=2), kind="pix2pix", input_kind="labels", label_set=FACADES)
    card(SKETCH_ID, image_generator("sketch", 1, seed=3), kind="pix2pix", input_kind="sketch")
    card(CYCLEGAN_ID, image_generator("photo", 3, seed=4), kind="cyclegan", input_kind="photo")
    card(SEGMENTER_ID, segmenter(LANDSCAPE, seed=5), kind="segmenter", input_kind="photo", label_set=LANDSCAPE)


def write_tiny_hybrid(directory: Path, photo_roots: list[Path]) -> None:
    """Add the tiny hybrid model to a weights folder: its bank of the roots' labelled training photos at
    64 px, the refiner, and two presets (one with a thumbnail)."""
    directory = Path(directory)
    (directory / "thumbnails").mkdir(exist_ok=True)
    bank_file = f"{HYBRID_ID}-bank.npz"
    per_class = build_bank(photo_roots, directory / bank_file, num_classes(LANDSCAPE),
                           BankConfig(max_side=SIZES[HYBRID_ID], min_segment_pixels=20))
    names = LANDSCAPE.by_id()
    bank = ExemplarBankFile(file=bank_file, sha256=hashlib.sha256((directory / bank_file).read_bytes()).hexdigest(),
                            photos=ExemplarBank.load(directory / bank_file).num_photos,
                            segments={names[cls].name: count for cls, count in per_class.items()})
    thumbnail = f"thumbnails/{HYBRID_ID}-golden.jpg"
    _swatch(directory / thumbnail, (204, 153, 76))
    presets = [StylePreset(id=preset_id, name=preset_id.title(), thumbnail=thumbnail if preset_id == "golden"
                           else f"thumbnails/{HYBRID_ID}-{preset_id}.jpg", code=code)
               for preset_id, code in HYBRID_PRESETS.items()]
    _write_card(directory, HYBRID_ID, hybrid_refiner(LANDSCAPE, seed=6), kind="hybrid", input_kind="labels",
                label_set=LANDSCAPE, exemplar_bank=bank, style_presets=presets, server_only=HYBRID_SERVER_ONLY)
