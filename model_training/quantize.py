"""Static int8 quantisation of an exported SPADE, calibrated on real label maps with the painter's random styles.

`python -m model_training quantize weights/spade-landscape.json --data ../shared/datasets/stanford_background`
rewrites the card's graph in place (QDQ: int8 weights per channel, uint8 activations, convs only; the
norms and the class lookups stay float) and updates the card's hash and its `metrics.quantization` note. Measure the
result with evaluate-realism against the float graph before shipping it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process
from PIL import Image

from backend.cards import ModelCard, write_card
from backend.engine import file_sha256

CALIBRATION_MAPS = 64


class LabelMapCalibration(CalibrationDataReader):
    """Feeds of training label maps (resized to the card's size) with seeded styles from the card's Gaussian."""

    def __init__(self, card: dict, data: Path, limit: int = CALIBRATION_MAPS, seed: int = 0):
        split = data / "splits" / "train.txt"
        if not split.exists():
            raise FileNotFoundError(f"no {split}: --data must be a label-folder dataset (splits/, labels/)")
        names = split.read_text().split()[:limit]
        if not names:
            raise ValueError(f"{split} lists no label maps to calibrate on")
        self.count = len(names)
        size = card["size"]
        codes = card["style_encoder"]
        mean, scale = np.asarray(codes["code_mean"]), np.asarray(codes["code_scale"])
        rng = np.random.default_rng(seed)
        self.feeds = iter([
            {"labels": np.asarray(Image.open(data / "labels" / f"{Path(name).stem}.png")
                                  .resize((size, size), Image.Resampling.NEAREST), np.int64)[None, None],
             "style": (mean + scale @ rng.standard_normal(len(mean))).astype(np.float32)[None]}
            for name in names])

    def get_next(self) -> dict | None:
        return next(self.feeds, None)


def quantizable_card(card_path: Path) -> dict:
    """The card, if its graph is a float SPADE this module can quantise; else a ValueError saying why."""
    if not card_path.is_file():
        raise FileNotFoundError(f"no model card at {card_path}")
    card = ModelCard.model_validate_json(card_path.read_text()).model_dump(mode="json")
    if card["kind"] != "spade" or card["style_encoder"] is None:
        raise ValueError(f"{card_path.name} is a {card['kind']} model: only SPADE cards are quantised")
    # Quantising a QDQ graph again stacks a second set of Q/DQ pairs on the first.
    if any(node.op_type == "QuantizeLinear" for node in onnx.load(str(card_path.parent / card["onnx"])).graph.node):
        raise ValueError(f"{card['onnx']} is already quantised")
    return card


def quantize_card(card_path: Path, data: Path, limit: int = CALIBRATION_MAPS) -> Path:
    card = quantizable_card(card_path)
    graph = card_path.parent / card["onnx"]
    calibration = LabelMapCalibration(card, data, limit)
    with tempfile.TemporaryDirectory() as folder:
        prepared = Path(folder) / "prepared.onnx"
        quant_pre_process(str(graph), str(prepared), skip_symbolic_shape=True)
        quantize_static(str(prepared), str(graph), calibration,
                        quant_format=QuantFormat.QDQ, per_channel=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, op_types_to_quantize=["Conv"])
    card["onnx_sha256"] = file_sha256(graph)
    card["metrics"]["quantization"] = (f"static int8 (QDQ, convs only, per-channel weights), calibrated on "
                                       f"{calibration.count} label maps of {data.name} with random styles")
    write_card(ModelCard.model_validate(card), card_path)
    return graph
