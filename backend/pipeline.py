"""What a translate/segment/style-code request does, shared by the HTTP routes and the WebSocket.

`resolve_*` functions only look things up (cheap, on the event loop); the others decode, run models and
encode, and are called from worker threads.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image

from backend import hybrid, seeded
from backend.engine import InferenceEngine, LoadedModel, rgb_tensor
from backend.errors import ApiError
from backend.imaging import (PICTURE_FORMATS, ImageLimits, encode_picture, encode_png, label_indices, labels_tensor, labels_to_palette_image,
                             open_image, output_size, photo_tensor, sketch_tensor, tensor_to_rgb, to_rgb)
from backend.landscape import RenderState, StylePhoto

MAX_SEED = 2**64 - 1
MAX_SPADE_CODE = 1e4


@dataclass(frozen=True)
class StyleChoice:
    """At most one way of choosing a style (SPADE, hybrid); the style image itself is passed separately."""

    style_id: str | None = None
    style_code: list[float] | None = None
    seed: int | None = None
    has_image: bool = False


@dataclass(frozen=True)
class TranslateSpec:
    """A resolved request: the model, its style [1, style_dim] (None = read it from the style image), filter."""

    model: LoadedModel
    style: np.ndarray | None
    filter: LoadedModel | None
    seed: int = 0  # the hybrid's composition: the request's seed, so one request always paints one picture
    preset: bool = False  # the style is a preset's (the landscape renderer then follows its look more closely)
    photo: StylePhoto | None = None  # the style image, which the landscape renderer paints with


@dataclass(frozen=True)
class Rendered:
    data: bytes
    model_ms: float
    media_type: str = "image/png"
    level: int = 1  # a progressive renderer's pictures are levels 1..levels, the last one finished
    levels: int = 1


def parse_style_code(text: str) -> list[float]:
    """A style code sent as a JSON list of numbers (multipart form field)."""
    try:
        values = json.loads(text)
    except ValueError:
        raise ApiError(422, "style_code: not valid JSON; send a JSON list of numbers") from None
    if not isinstance(values, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                               for v in values):
        raise ApiError(422, "style_code: must be a JSON list of numbers")
    return [float(v) for v in values]


def random_style(model: LoadedModel, seed: int) -> np.ndarray:
    """A seeded random style [style_dim]: SPADE draws from the Gaussian of its training photos' codes, the
    hybrid takes a random bank photo's colour statistics. Both use backend.seeded, which the page mirrors."""
    if model.card.kind == "hybrid":
        return np.asarray(model.bank.random_style(seed), np.float32)
    mean, scale = model.style_code_gaussian
    return (mean + scale @ seeded.standard_normals(seed, model.z_dim)).astype(np.float32)


def _checked_style_code(model: LoadedModel, values: list[float]) -> np.ndarray:
    code = np.asarray(values, np.float64)
    if code.shape != (model.style_dim,):
        raise ApiError(422, f"style_code: needs {model.style_dim} numbers for model {model.id!r}, got {code.size}")
    if not np.isfinite(code).all():
        raise ApiError(422, "style_code: numbers must be finite")
    if model.card.kind == "hybrid":
        # Colour statistics of pixels in [0, 1]: anything outside cannot be a photo's look.
        if code.min() < 0 or code.max() > 1:
            raise ApiError(422, "style_code: a hybrid style is the mean and standard deviation of R, G, B, "
                                "each within [0, 1]")
    elif np.abs(code).max(initial=0) > MAX_SPADE_CODE:
        raise ApiError(422, f"style_code: numbers must be within ±{MAX_SPADE_CODE:g}")
    return code.astype(np.float32)


def resolve_style(model: LoadedModel, choice: StyleChoice) -> np.ndarray | None:
    """The style [1, style_dim] of a SPADE or hybrid model; None when the style image must be read first.

    A model without a style input refuses every style option (422), rather than ignoring what it cannot use.
    With none given, a model uses its first preset, else SPADE the mean of its training photos' codes and the
    hybrid seed 0's random style.
    """
    given = [name for name, value in (("style", choice.has_image or None), ("style_id", choice.style_id),
                                      ("style_code", choice.style_code), ("seed", choice.seed))
             if value is not None]
    if model.style_dim is None:
        if given:
            raise ApiError(422, f"{', '.join(given)}: model {model.id!r} has no styles (only SPADE and hybrid "
                                "models take style, style_id, style_code or seed); leave it out")
        return None
    if len(given) > 1:
        raise ApiError(422, f"give at most one of style, style_id, style_code, seed (got {', '.join(given)})")
    if choice.has_image:
        return None
    if choice.style_id is not None:
        preset = model.preset(choice.style_id)
        if preset is None:
            raise ApiError(404, f"unknown style {choice.style_id!r} for model {model.id!r}")
        code = np.asarray(preset.code, np.float32)
    elif choice.style_code is not None:
        code = _checked_style_code(model, choice.style_code)
    elif choice.seed is not None:
        code = random_style(model, _checked_seed(choice.seed))
    elif model.card.style_presets:
        code = np.asarray(model.card.style_presets[0].code, np.float32)
    elif model.card.kind == "hybrid":
        code = random_style(model, 0)
    else:
        code = model.style_code_gaussian[0].astype(np.float32)
    return code[None]


def _checked_seed(seed: int) -> int:
    if not 0 <= seed <= MAX_SEED:
        raise ApiError(422, f"seed: must be between 0 and {MAX_SEED}")
    return seed


def resolve_translator(engine: InferenceEngine, model_id: str | None) -> LoadedModel:
    if model_id is None:
        model = engine.default_translator()
        if model is None:
            raise ApiError(503, "no model loaded")
        return model
    model = engine.get(model_id)
    if model.card.kind == "segmenter":
        raise ApiError(422, f"model {model_id!r} is a segmenter; use POST /segment")
    return model


def resolve_filter(engine: InferenceEngine, filter_id: str | None) -> LoadedModel | None:
    if filter_id is None or filter_id == "":
        return None
    model = engine.get(filter_id, what="filter")
    if model.card.kind != "cyclegan":
        raise ApiError(422, f"filter {filter_id!r} is a {model.card.kind} model, not a cyclegan filter")
    return model


def resolve_translate(engine: InferenceEngine, model_id: str | None, choice: StyleChoice,
                      filter_id: str | None) -> TranslateSpec:
    model = resolve_translator(engine, model_id)
    chosen = choice.has_image or choice.style_code is not None or choice.seed is not None
    preset = choice.style_id is not None or (not chosen and bool(model.card.style_presets))
    return TranslateSpec(model=model, style=resolve_style(model, choice), filter=resolve_filter(engine, filter_id),
                         seed=choice.seed or 0, preset=preset)


def resolve_segmenter(engine: InferenceEngine, model_id: str | None) -> LoadedModel:
    if model_id is None:
        model = engine.default_segmenter()
        if model is None:
            raise ApiError(503, "no segmenter model loaded")
        return model
    model = engine.get(model_id)
    if model.card.kind != "segmenter":
        raise ApiError(422, f"model {model_id!r} is a {model.card.kind} model, not a segmenter")
    return model


def resolve_style_encoder(engine: InferenceEngine, model_id: str | None) -> LoadedModel:
    """A model that can read a style image: SPADE (its style encoder) or the hybrid (colour statistics)."""
    model = resolve_translator(engine, model_id)
    if model.style_session is None and model.card.kind != "hybrid":
        raise ApiError(422, f"model {model.id!r} has no style encoder")
    return model


def encode_style_image(engine: InferenceEngine, model: LoadedModel, data: bytes, limits: ImageLimits,
                       field: str = "style") -> tuple[np.ndarray, float]:
    """A style image (sent as form field `field`, named in errors) -> its style [style_dim] and the model
    milliseconds: SPADE's encoder mu, or the hybrid's colour statistics (no graph, 0 ms)."""
    return _style_of(engine, model, to_rgb(open_image(data, limits, field), field))


def _style_of(engine: InferenceEngine, model: LoadedModel, rgb: Image.Image) -> tuple[np.ndarray, float]:
    if model.card.kind == "hybrid":
        # At the model's size, as SPADE's encoder sees it: statistics barely change and a 4096² upload stays cheap.
        small = rgb.resize((model.card.size, model.card.size), Image.Resampling.LANCZOS)
        return np.asarray(hybrid.colour_style(np.asarray(small)), np.float32), 0.0
    return engine.encode_style(model, photo_tensor(rgb, model.card.size))


def with_style_image(engine: InferenceEngine, spec: TranslateSpec, data: bytes, limits: ImageLimits,
                     field: str = "style") -> tuple[TranslateSpec, float]:
    """The spec with the style read from a style image, and the model milliseconds that took. The landscape
    renderer also paints with the photo itself: its labels are read by the segmenter of the same label set
    (without one, only its colours are followed)."""
    image = to_rgb(open_image(data, limits, field), field)  # decoded once: the style and the photo read it
    code, ms = _style_of(engine, spec.model, image)
    photo = None
    segmenter = style_photo_segmenter(engine, spec.model)
    if segmenter is not None:
        photo, segment_ms = read_style_photo(engine, spec.model, segmenter, image, hashlib.sha256(data).hexdigest()[:16])
        ms += segment_ms
    return replace(spec, style=code[None], photo=photo), ms


def style_photo_segmenter(engine: InferenceEngine, model: LoadedModel) -> LoadedModel | None:
    """The segmenter that reads a style photo's labels for a landscape renderer, if one is loaded."""
    if model.landscape is None:
        return None
    name = model.card.label_set.name
    return next((m for m in engine.ready_models() if m.card.kind == "segmenter" and m.card.label_set.name == name), None)


def read_style_photo(engine: InferenceEngine, model: LoadedModel, segmenter: LoadedModel, image: Image.Image,
                     key: str) -> tuple[StylePhoto, float]:
    """A style photo at the renderer's scale (longer side = the side it paints at, as the bank's photos are)
    with its labels, and the segmenter's milliseconds; `key` names the upload."""
    scale = model.card.picture_side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    photo = image.resize(size, Image.Resampling.LANCZOS)
    labels, ms = engine.segment(segmenter, photo_tensor(photo, segmenter.card.size))
    label_map = Image.fromarray(labels[0, 0].astype(np.uint8)).resize(size, Image.Resampling.NEAREST)
    return StylePhoto(rgb=np.asarray(photo), labels=np.array(label_map), key=key), ms


def _model_input(model: LoadedModel, data: bytes,
                 limits: ImageLimits) -> tuple[dict[str, np.ndarray], tuple[int, int]]:
    """The generator's feeds for an upload, and the upload's (width, height)."""
    image = open_image(data, limits)
    size, kind = model.card.size, model.card.input_kind
    if kind == "labels":
        return {"labels": labels_tensor(label_indices(image, model.card.label_set), size)}, image.size
    if kind == "sketch":
        return {"sketch": sketch_tensor(image, size)}, image.size
    return {"image": photo_tensor(to_rgb(image), size)}, image.size


def _generate(engine: InferenceEngine, spec: TranslateSpec, feeds: dict[str, np.ndarray],
              style: np.ndarray | None, aspect: float = 1.0) -> tuple[np.ndarray, float]:
    """image [1, 3, S, S] of the spec's model for its input feeds and resolved style, then its filter;
    `aspect` is the width / height it will be shown at."""
    if spec.model.card.kind == "hybrid":
        image, model_ms = engine.render_hybrid(spec.model, feeds["labels"], style[0], spec.seed, spec.preset, aspect)
    else:
        image, model_ms = engine.generate(spec.model, feeds if style is None else feeds | {"style": style})
    image, ms = _filtered(engine, spec, image)
    return image, model_ms + ms


def _filtered(engine: InferenceEngine, spec: TranslateSpec, image: np.ndarray) -> tuple[np.ndarray, float]:
    if spec.filter is None:
        return image, 0.0
    filter_size = spec.filter.card.size
    if image.shape[-2:] != (filter_size, filter_size):
        image = photo_tensor(tensor_to_rgb(image), filter_size)
    return engine.generate(spec.filter, {"image": image})


def translate_frames(engine: InferenceEngine, spec: TranslateSpec, data: bytes, limits: ImageLimits,
                     style_image: bytes | None = None, picture_format: str = "png",
                     state: RenderState | None = None) -> Iterator[Rendered]:
    """Upload -> generated pictures (PNG, JPEG or WebP) at the upload's aspect ratio (longer side = the model's
    size): one, or for the progressive landscape renderer one per level, coarse first. `state` carries a live
    painter's previous picture to the renderer, which then searches again only around what changed."""
    feeds, input_size = _model_input(spec.model, data, limits)
    style_ms = 0.0
    if spec.style is None and spec.model.style_dim is not None:
        if style_image is None:
            raise ApiError(422, "style: no style image given")
        spec, style_ms = with_style_image(engine, spec, style_image, limits)
    style = spec.style
    size = output_size(input_size, spec.model.card.picture_side)

    def encoded(image: np.ndarray, model_ms: float, level: int = 1, levels: int = 1) -> Rendered:
        picture = tensor_to_rgb(image)
        if picture.size != size:
            picture = picture.resize(size, Image.Resampling.LANCZOS)
        return Rendered(data=encode_picture(picture, picture_format), model_ms=style_ms + model_ms,
                        media_type=PICTURE_FORMATS[picture_format], level=level, levels=levels)

    if spec.model.landscape is None:
        yield encoded(*_generate(engine, spec, feeds, style))
        return
    labels = feeds["labels"][0, 0].astype(np.uint8)
    aspect = input_size[0] / input_size[1]
    for frame, ms in engine.landscape_frames(spec.model, labels, style[0], spec.seed, state, spec.preset, spec.photo,
                                             aspect):
        image, filter_ms = _filtered(engine, spec, rgb_tensor(frame.rgb))
        yield encoded(image, ms + filter_ms, frame.level, frame.levels)


def translate(engine: InferenceEngine, spec: TranslateSpec, data: bytes, limits: ImageLimits,
              style_image: bytes | None = None, picture_format: str = "png") -> Rendered:
    """Upload -> the finished picture (see `translate_frames`)."""
    for rendered in translate_frames(engine, spec, data, limits, style_image, picture_format):
        pass
    return rendered


def render_labels(engine: InferenceEngine, model: LoadedModel, labels: np.ndarray, seed: int,
                  aspect: float = 1.0, style: np.ndarray | None = None, preset: bool = False) -> np.ndarray:
    """Offline evaluation: a label map uint8 [S, S] at the card's size -> the picture uint8 [S, S, 3], with
    the given style [style_dim] or else the seeded random style the painter draws (spade, hybrid; a pix2pix
    model ignores both; the hybrid composes with the seed either way). `aspect`: the width / height the
    picture will be shown at, as `/translate` tells it from an upload's size (the landscape renderer uses it)."""
    size = model.card.size
    if model.card.input_kind != "labels":
        raise ValueError(f"model {model.id!r} takes {model.card.input_kind}, not a label map")
    if labels.shape != (size, size):
        raise ValueError(f"labels of shape {labels.shape}; model {model.id!r} runs at {size}x{size}")
    if model.style_dim is None:
        style = None
    elif style is None:
        style = resolve_style(model, StyleChoice(seed=seed))
    else:
        style = np.asarray(style, np.float32)[None]
    spec = TranslateSpec(model=model, style=style, filter=None, seed=seed, preset=preset)
    image, _ = _generate(engine, spec, {"labels": labels_tensor(labels, size)}, spec.style, aspect)
    return np.asarray(tensor_to_rgb(image))


def segment(engine: InferenceEngine, model: LoadedModel, data: bytes, limits: ImageLimits) -> Rendered:
    """Photo -> palette PNG of class indices at the photo's aspect ratio."""
    image = open_image(data, limits)
    labels, ms = engine.segment(model, photo_tensor(to_rgb(image), model.card.size))
    index_image = labels_to_palette_image(labels, model.card.label_set)
    index_image = index_image.resize(output_size(image.size, model.card.size), Image.Resampling.NEAREST)
    return Rendered(data=encode_png(index_image), model_ms=ms)
