"""Every kind of bad upload and bad field gets a clear JSON 4xx, never a 500 or a hang."""

from __future__ import annotations

import json
import re
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from backend.settings import REPO_ROOT
from model_training.labelsets import LANDSCAPE, colourise
from tests.helpers import decode, encode, label_png, make_client, photo_png, stripes
from tests.helpers.tiny_models import CYCLEGAN_ID, FACADES_ID, SEGMENTER_ID, SKETCH_ID, SPADE_ID, Z_DIM

GOOD_LABELS = label_png(stripes(64, 64, [0, 1, 3]))


@pytest.fixture(scope="module")
def client(tiny_weights):
    with make_client(tiny_weights) as test_client:
        yield test_client


def post(client, route: str, image: bytes | None, content_type: str = "image/png", **fields):
    files = {"image": ("upload", image, content_type)} if image is not None else {}
    return client.post(route, files=files or None, data={k: str(v) for k, v in fields.items()} or None)


def error(response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/json"
    detail = response.json()["detail"]
    assert isinstance(detail, str) and detail
    return detail


def png_header_only(width: int, height: int) -> bytes:
    """A PNG claiming a huge size with one tiny compressed row: small on disk, a bomb if decoded."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""))


# --- not an image, broken images, limits -------------------------------------------------------------

def test_text_file_is_415(client):
    assert "not an image" in error(post(client, "/translate", b"hello, I am text\n", "text/plain"), 415)


def test_empty_file_is_422(client):
    assert "empty" in error(post(client, "/translate", b""), 422)


def test_truncated_png_is_422(client):
    truncated = label_png(np.random.default_rng(0).integers(0, 8, (256, 256)))[:600]
    assert "truncated" in error(post(client, "/translate", truncated), 422)


def test_truncated_jpeg_photo_is_422(client):
    jpeg = encode(Image.fromarray(np.random.default_rng(0).integers(0, 256, (128, 128, 3), np.uint8)), "JPEG")
    assert "truncated" in error(post(client, "/segment", jpeg[: len(jpeg) // 2], "image/jpeg"), 422)


def test_corrupt_png_body_is_422(client):
    data = bytearray(label_png(np.random.default_rng(0).integers(0, 8, (128, 128))))
    data[100:140] = b"\xff" * 40
    error(post(client, "/translate", bytes(data)), 422)


def test_upload_over_10_mb_is_413(client):
    big = GOOD_LABELS + b"\0" * (10 * 1024 * 1024)
    assert "limit" in error(post(client, "/translate", big), 413)


def test_request_body_far_over_the_limit_is_413_stating_the_rule(client):
    huge = b"\0" * (25 * 1024 * 1024)
    detail = error(post(client, "/segment", huge), 413)
    # The real rule, not one bare number: each file up to MAX_UPLOAD_BYTES, the request up to twice that + 1 MiB.
    assert "each file may be up to MAX_UPLOAD_BYTES (10485760 bytes)" in detail, detail
    assert "2 x MAX_UPLOAD_BYTES + 1 MiB (22020096 bytes)" in detail, detail


def test_side_over_limit_is_413(client):
    assert "4096" in error(post(client, "/translate", label_png(np.zeros((10, 5000)))), 413)


def test_decompression_bomb_small_on_disk_is_413(client):
    bomb = png_header_only(60000, 60000)
    assert len(bomb) < 1000
    error(post(client, "/translate", bomb), 413)
    error(post(client, "/segment", png_header_only(5000, 5000)), 413)


# --- modes -----------------------------------------------------------------------------------------

def test_jpeg_photo_is_accepted(client):
    jpeg = encode(Image.fromarray(np.random.default_rng(0).integers(0, 256, (48, 64, 3), np.uint8)), "JPEG")
    assert post(client, "/segment", jpeg, "image/jpeg").status_code == 200


def test_cmyk_photo_is_converted(client):
    cmyk = encode(Image.new("CMYK", (40, 30), (0, 200, 200, 0)), "JPEG")
    assert post(client, "/translate", cmyk, "image/jpeg", model=CYCLEGAN_ID).status_code == 200


def test_cmyk_label_map_is_415_naming_the_mode(client):
    cmyk = encode(Image.new("CMYK", (40, 30), (0, 0, 0, 0)), "JPEG")
    assert "CMYK" in error(post(client, "/translate", cmyk, "image/jpeg"), 415)


def test_16_bit_label_map_is_read_as_indices(client):
    indices = stripes(64, 64, [0, 4, 6]).astype(np.uint16)
    sixteen = encode(Image.fromarray(indices))
    assert decode(sixteen).mode == "I;16"
    by_16_bit = post(client, "/translate", sixteen)
    assert by_16_bit.status_code == 200
    assert by_16_bit.content == post(client, "/translate", label_png(indices)).content


def test_16_bit_label_map_out_of_range_names_the_values(client):
    indices = stripes(64, 64, [0, 300, 40000], np.uint16)
    detail = error(post(client, "/translate", encode(Image.fromarray(indices))), 422)
    assert "300" in detail and "40000" in detail


def test_16_bit_photo_is_scaled_to_8_bits(client):
    ramp = (np.arange(64 * 48, dtype=np.uint16).reshape(48, 64) * 20)
    assert post(client, "/segment", encode(Image.fromarray(ramp))).status_code == 200


def test_1_bit_sketch_is_converted(client):
    one_bit = encode(Image.new("1", (16, 16), 1))
    assert post(client, "/translate", one_bit, model=SKETCH_ID).status_code == 200


def test_palette_with_out_of_range_indices_is_422_naming_them(client):
    indices = stripes(64, 64, [0, 9, 200])
    palette_image = Image.fromarray(indices).convert("P")
    palette_image.putpalette(list(colourise(np.arange(256), LANDSCAPE).ravel()))
    detail = error(post(client, "/translate", encode(palette_image)), 422)
    assert "9" in detail and "200" in detail and "stanford-background" in detail


def test_out_of_set_labels_are_422_naming_them(client):
    detail = error(post(client, "/translate", label_png(stripes(64, 64, [0, 8, 12]))), 422)
    assert "8, 12" in detail
    # Stanford's 15 is the ignore id, so allowed; CMP facades has none, so 12 is out of its 0..11.
    assert post(client, "/translate", label_png(stripes(64, 64, [0, 15]))).status_code == 200
    assert "12" in error(post(client, "/translate", label_png(stripes(64, 64, [0, 12])), model=FACADES_ID), 422)


def test_rgb_label_colours_not_in_palette_are_named(client):
    rgb = colourise(stripes(64, 64, [0, 1]), LANDSCAPE)
    rgb[:10, :10] = (1, 2, 3)
    detail = error(post(client, "/translate", encode(Image.fromarray(rgb))), 422)
    assert "#010203" in detail and "#8ec8f0" not in detail


def test_jpeg_label_map_noise_is_rejected_with_a_short_message(client):
    rgb = colourise(np.random.default_rng(0).integers(0, 8, (64, 64)), LANDSCAPE)
    detail = error(post(client, "/translate", encode(Image.fromarray(rgb), "JPEG"), "image/jpeg"), 422)
    assert "more" in detail and len(detail) < 400


def test_rgba_sketch_is_put_on_white_paper(client):
    transparent = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    white = Image.new("L", (32, 32), 255)
    by_alpha = post(client, "/translate", encode(transparent), model=SKETCH_ID)
    assert by_alpha.status_code == 200
    assert by_alpha.content == post(client, "/translate", encode(white), model=SKETCH_ID).content


# --- ids and fields --------------------------------------------------------------------------------

@pytest.mark.parametrize("fields, words", [
    ({"model": "no-such-model"}, "unknown model"),
    ({"style_id": "rainy"}, "unknown style"),
    ({"filter": "no-such-filter"}, "unknown filter"),
    ({"model": "../weights/spade-test"}, "unknown model"),
])
def test_unknown_ids_are_404(client, fields, words):
    assert words in error(post(client, "/translate", GOOD_LABELS, **fields), 404)


def test_unknown_segmenter_is_404(client):
    error(post(client, "/segment", photo_png(), model="nope"), 404)
    error(post(client, "/style-code", photo_png(), model="nope"), 404)


def test_wrong_kind_of_model_is_422(client):
    assert "segmenter" in error(post(client, "/translate", photo_png(), model=SEGMENTER_ID), 422)
    assert "not a segmenter" in error(post(client, "/segment", photo_png(), model=SPADE_ID), 422)
    assert "cyclegan" in error(post(client, "/translate", GOOD_LABELS, filter=FACADES_ID), 422)
    assert "style encoder" in error(post(client, "/style-code", photo_png(), model=FACADES_ID), 422)


@pytest.mark.parametrize("route", ["/translate", "/segment", "/sketch", "/style-code"])
def test_missing_image_is_422(client, route):
    assert "image" in error(client.post(route, data={"model": SPADE_ID}), 422)


def test_image_sent_as_text_field_is_422(client):
    error(client.post("/translate", data={"image": "not a file"}), 422)


@pytest.mark.parametrize("fields", [
    {"seed": "-1"}, {"seed": "abc"}, {"seed": str(2**70)},
    {"style_code": "not json"}, {"style_code": "[1, 2]"}, {"style_code": '{"a": 1}'},
    {"style_code": json.dumps(["x"] * Z_DIM)}, {"style_code": "[" + ",".join(["NaN"] * Z_DIM) + "]"},
    {"style_code": "[" + ",".join(["1e400"] * Z_DIM) + "]"},
    {"seed": "1", "style_id": "sunny"},
])
def test_bad_style_fields_are_422(client, fields):
    error(post(client, "/translate", GOOD_LABELS, **fields), 422)


def test_bad_style_image_is_rejected(client):
    response = client.post("/translate", files={"image": ("i.png", GOOD_LABELS, "image/png"),
                                                "style": ("s.txt", b"not an image", "text/plain")})
    assert "style" in error(response, 415)


@pytest.mark.parametrize("model, image", [(FACADES_ID, GOOD_LABELS), (CYCLEGAN_ID, photo_png())])
@pytest.mark.parametrize("fields", [{"style_id": "sunny"}, {"seed": "3"}, {"style_code": json.dumps([0.0] * Z_DIM)}])
def test_a_style_option_for_a_model_without_styles_is_422_naming_it(client, model, image, fields):
    (name,) = fields
    detail = error(post(client, "/translate", image, model=model, **fields), 422)
    assert detail.startswith(f"{name}: model {model!r} has no styles"), detail


def test_a_style_image_for_a_model_without_styles_is_422_naming_it(client):
    files = {"image": ("i.png", GOOD_LABELS, "image/png"), "style": ("s.png", photo_png(), "image/png")}
    response = client.post("/translate", data={"model": FACADES_ID}, files=files)
    assert error(response, 422).startswith(f"style: model {FACADES_ID!r} has no styles")


def test_a_bad_file_for_style_code_names_its_field_image(client):
    detail = error(post(client, "/style-code", b"not an image", model=SPADE_ID), 415)
    assert detail.startswith("image: "), detail


def test_get_on_a_post_route_is_405_json(client):
    assert client.get("/translate").status_code == 405
    assert client.get("/translate").json()["detail"]


def test_a_wrong_method_is_405_naming_the_methods_while_the_page_is_served(tiny_weights):
    """The painter's files are mounted at "/", under every API path: a wrong method on an API path still gets
    405 with `Allow` listing exactly the methods the document gives the path (HEAD aside)."""
    with make_client(tiny_weights, frontend_dir=REPO_ROOT / "frontend") as served:
        assert served.get("/").status_code == 200
        for path, item in served.get("/openapi.json").json()["paths"].items():
            declared = {method.upper() for method in item}
            url = re.sub(r"\{[^}]+\}", "x", path)
            for method in sorted({"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"} - declared):
                response = served.request(method, url)
                assert response.status_code == 405, (method, path, response.status_code)
                assert set(response.headers["Allow"].split(", ")) - {"HEAD"} == declared, (method, path)
                assert response.json()["detail"]
        answer = served.post("/index.html")
        assert answer.status_code == 405 and answer.headers["Allow"] == "GET, HEAD"
