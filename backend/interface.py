"""The ONNX graph interface of docs/ARCHITECTURE.md as data, and the check a loaded session must pass."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.cards import ModelCard

INT64 = "tensor(int64)"
FLOAT = "tensor(float)"


@dataclass(frozen=True)
class GraphSignature:
    inputs: dict[str, str]  # input name -> onnxruntime type string
    outputs: tuple[str, ...]
    # ONNX forbids a name being both a graph input and a node output, so an image -> image graph names its
    # input differently (our exports: "photo"). Its single input may have any name.
    any_input_name: bool = False


GENERATOR_SIGNATURES: dict[tuple[str, str], GraphSignature] = {
    ("spade", "labels"): GraphSignature({"labels": INT64, "style": FLOAT}, ("image",)),
    ("pix2pix", "labels"): GraphSignature({"labels": INT64}, ("image",)),
    ("pix2pix", "sketch"): GraphSignature({"sketch": FLOAT}, ("image",)),
    ("cyclegan", "photo"): GraphSignature({"image": FLOAT}, ("image",), any_input_name=True),
    ("segmenter", "photo"): GraphSignature({"image": FLOAT}, ("labels",)),
    # The hybrid's refiner: the label map, the canvas of exemplar segments and where the canvas is filled.
    ("hybrid", "labels"): GraphSignature({"labels": INT64, "canvas": FLOAT, "filled": FLOAT}, ("image",)),
}
STYLE_ENCODER_SIGNATURE = GraphSignature({"image": FLOAT}, ("mu", "logvar"))


def signature_for(card: ModelCard) -> GraphSignature:
    try:
        return GENERATOR_SIGNATURES[(card.kind, card.input_kind)]
    except KeyError:
        raise ValueError(f"kind {card.kind!r} with input_kind {card.input_kind!r} is not in the interface") from None


def input_names(session, signature: GraphSignature) -> dict[str, str]:
    """Interface input name -> the session's input name (they differ only for `any_input_name`)."""
    names = [i.name for i in session.get_inputs()]
    if signature.any_input_name and len(names) == 1:
        return {next(iter(signature.inputs)): names[0]}
    return {name: name for name in names}


def signature_mismatch(session, signature: GraphSignature) -> str | None:
    """Why an onnxruntime session does not implement `signature`, or None when it does."""
    renamed = input_names(session, signature)
    inputs = {interface: next(i.type for i in session.get_inputs() if i.name == actual)
              for interface, actual in renamed.items()}
    outputs = tuple(o.name for o in session.get_outputs())
    if inputs != signature.inputs:
        return f"inputs {inputs} != expected {signature.inputs}"
    if sorted(outputs) != sorted(signature.outputs):
        return f"outputs {list(outputs)} != expected {list(signature.outputs)}"
    return None


def class_bands(card: ModelCard, size: int | None = None, classes: int | None = None) -> np.ndarray:
    """uint8 [size, size] (the card's size unless given): horizontal bands of the label set's first `classes`
    classes (all by default), a painting for warm-ups and benchmarks that uses each of them."""
    size = size or card.size
    ids = np.array([c.id for c in card.label_set.classes][:classes], np.uint8)
    return np.repeat(ids[np.arange(size) * len(ids) // size][:, None], size, 1)


def warmup_feeds(card: ModelCard, signature: GraphSignature, z_dim: int | None,
                 size: int | None = None) -> dict[str, np.ndarray]:
    """Inputs of the right shapes and types (at the card's size unless given), for warm-up and benchmarks."""
    size = size or card.size
    background = card.label_set.background_id if card.label_set is not None else 0
    feeds: dict[str, np.ndarray] = {}
    for name in signature.inputs:
        if name == "labels":
            feeds[name] = np.full((1, 1, size, size), background, np.int64)
        elif name == "style":
            feeds[name] = np.zeros((1, z_dim or 0), np.float32)
        elif name == "sketch":
            feeds[name] = np.ones((1, 1, size, size), np.float32)
        elif name == "filled":
            feeds[name] = np.ones((1, 1, size, size), np.float32)
        else:
            feeds[name] = np.zeros((1, 3, size, size), np.float32)
    return feeds
