"""Painting on the device: onnxruntime-web in real Chromium, with the server's routes blocked, offline, from a
static export, when things break, the device's pictures against the server's for the same input, and the page
staying responsive while a slow model runs."""

from __future__ import annotations

import base64
import functools
import hashlib
import http.server
import io
import json
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image, ImageDraw, ImageFilter

from tests.helpers.browser import (REPO_ROOT, canvas_colours, mouse_stroke, running_server, wait_for_output_change,
                                   wait_for_settled_output, wait_ready)
from tests.helpers.tiny_models import CYCLEGAN_ID, FACADES_ID, HYBRID_ID, SEGMENTER_ID, SIZES, SKETCH_ID, SPADE_ID

pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]

API_ROUTES = ("translate", "segment", "sketch", "style-code", "models", "healthz", "readyz")
MODEL_CACHE = "gaugan-models-v1"
MAX_MEAN_ABS_DIFF = 2 / 255
SEED = 12345


@pytest.fixture(scope="module")
def manifest(server: str) -> dict:
    return httpx.get(f"{server}/device/manifest.json").json()


def card_of(manifest: dict, model_id: str) -> dict:
    return next(m["card"] for m in manifest["models"] if m["id"] == model_id)


def context_opener(browser):
    """new_context(**options) with a 30 s timeout and uncaught page errors collected; all closed afterwards."""
    contexts, errors = [], []

    def opener(**options):
        context = browser.new_context(viewport={"width": 1280, "height": 860}, **options)
        context.set_default_timeout(30000)
        context.on("page", lambda page: page.on("pageerror", lambda error: errors.append(str(error))))
        contexts.append(context)
        return context

    yield opener
    for context in contexts:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def open_context(browser):
    yield from context_opener(browser)


@pytest.fixture(scope="module")
def webgpu_browser(playwright):
    """Chromium with WebGPU on: this machine has no GPU, so its adapter is SwiftShader, a fallback adapter."""
    from backend.browser import launch_chromium

    chromium = launch_chromium(playwright, webgpu=True)
    yield chromium
    chromium.close()


@pytest.fixture
def open_webgpu_context(webgpu_browser):
    yield from context_opener(webgpu_browser)


def block_api(page) -> None:
    """Every server route aborts, the socket closes: only the page, the runtime and the models get through."""
    for route in API_ROUTES:
        page.route(f"**/{route}", lambda r: r.abort())
        page.route(f"**/{route}?*", lambda r: r.abort())
    page.route_web_socket("**/ws", lambda socket: socket.close())


def painted_with_api_blocked(context, server: str) -> tuple[object, str]:
    """A page of `context` opened with every API route blocked, once it shows a picture: (page, picture src),
    the picture painted on the device."""
    page = context.new_page()
    block_api(page)
    page.goto(server + "/")
    wait_ready(page)
    first = wait_for_settled_output(page, timeout=30)
    assert where(page) == "device"
    return page, first


def seed_settings(context, settings: dict, drawings: dict[str, np.ndarray] | None = None) -> None:
    """Settings (and drawings) in localStorage before the page's scripts run, as a returning painter has them."""
    values = {"gaugan-painter:settings": json.dumps(settings)}
    for model_id, indices in (drawings or {}).items():
        values[f"gaugan-painter:drawing:{model_id}"] = json.dumps(
            {"size": indices.shape[0], "data": base64.b64encode(indices.astype(np.uint8).tobytes()).decode()})
    # The script runs in every frame, about:blank included, which has no storage: only the painter's page seeds.
    context.add_init_script(f"""(() => {{
      if (location.protocol !== 'http:' || sessionStorage.getItem('seeded')) return;
      sessionStorage.setItem('seeded', '1');
      for (const [key, value] of Object.entries({json.dumps(values)})) localStorage.setItem(key, value);
    }})()""")


def where(page) -> str:
    return page.get_by_test_id("result-where").get_attribute("data-where")


def notices(page) -> str:
    return page.get_by_test_id("device-notices").inner_text()


def wait_for_notice(page, words: str) -> None:
    page.wait_for_function("(words) => document.querySelector('[data-testid=device-notices]').textContent"
                           ".toLowerCase().includes(words)", arg=words.lower())


def picture(page) -> np.ndarray:
    data = page.evaluate("""async () => {
      const image = document.querySelector('[data-testid=output-image]');
      const bytes = new Uint8Array(await (await fetch(image.src)).arrayBuffer());
      let text = ''; for (const b of bytes) text += String.fromCharCode(b);
      return btoa(text);
    }""")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"), np.float64) / 255


def shown_colour_ids(page) -> dict[str, int]:
    """#rrggbb -> class id of the palette's swatches, in the colours the canvas shows (displaycolours.js)."""
    swatches = page.evaluate("""() => [...document.querySelectorAll('.swatch')].map((swatch) =>
      [getComputedStyle(swatch.querySelector('.swatch-colour')).backgroundColor, Number(swatch.dataset.labelId)])""")
    return {"#" + "".join(f"{int(v):02x}" for v in colour[4:-1].split(",")): id_ for colour, id_ in swatches}


def bands(size: int, ids: list[int]) -> np.ndarray:
    rows = np.arange(size) * len(ids) // size
    return np.repeat(np.asarray(ids, np.uint8)[rows][:, None], size, axis=1)


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def server_picture(server: str, image: np.ndarray, **fields) -> np.ndarray:
    response = httpx.post(f"{server}/translate", data={k: str(v) for k, v in fields.items()},
                          files={"image": ("drawing.png", png(image), "image/png")}, timeout=30)
    assert response.status_code == 200, response.text
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"), np.float64) / 255


def paint_on_device(open_context, server: str, settings: dict, drawings: dict) -> object:
    context = open_context(service_workers="block")
    seed_settings(context, {"placement": "device", **settings}, drawings)
    page = context.new_page()
    page.goto(server + "/")
    wait_ready(page)
    wait_for_settled_output(page, timeout=30)
    page.wait_for_function("() => document.querySelector('[data-testid=result-where]').dataset.where === 'device'")
    return page


# ---- (a) no server routes ----

def test_paints_on_the_device_with_every_api_route_blocked(open_context, server: str):
    page, first = painted_with_api_blocked(open_context(service_workers="block"), server)
    assert page.get_by_test_id("result-where").inner_text() == "This device"
    assert "On this device" in page.get_by_test_id("status").inner_text()
    assert "attention" not in page.get_by_test_id("render").get_attribute("class"), "the device paints live"
    size, _ = canvas_colours(page)
    page.get_by_test_id("label-tree").click()
    mouse_stroke(page, [(2, 2), (size - 2, size - 2)])
    wait_for_output_change(page, first, timeout=30)
    assert where(page) == "device"


# ---- (b) offline after one visit ----

def test_after_one_visit_it_opens_and_paints_offline(open_context, server: str):
    context = open_context()
    page = context.new_page()
    page.goto(server + "/")
    wait_ready(page)
    wait_for_settled_output(page, timeout=30)
    page.evaluate("() => navigator.serviceWorker.ready")
    # The default model and its style encoder are downloaded and kept for the next visit.
    page.wait_for_function(f"""async () => {{
      const cache = await caches.open('{MODEL_CACHE}');
      return (await cache.keys()).length >= 2;
    }}""")
    context.set_offline(True)
    page.reload()
    wait_ready(page)
    first = wait_for_settled_output(page, timeout=30)
    assert where(page) == "device"
    # The presets' thumbnails come from the device manifest now; online they came from the server's /models.
    thumbnails = page.evaluate("""async () => {
      const manifest = await (await fetch('device/manifest.json')).json();
      const urls = manifest.models.flatMap((model) => Object.values(model.files.thumbnails));
      return Promise.all(urls.map((url) => fetch(url).then((response) => response.ok, () => false)));
    }""")
    assert thumbnails and all(thumbnails), "every style thumbnail is there offline"
    size, _ = canvas_colours(page)
    page.get_by_test_id("label-water").click()
    mouse_stroke(page, [(size - 3, 3), (3, size - 3)])
    wait_for_output_change(page, first, timeout=30)


# ---- (c) the static export on a plain file server ----

class _StaticHandler(http.server.SimpleHTTPRequestHandler):
    # What any static host maps; Python's own table lacks .mjs and .wasm on some versions.
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm"}

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def static_site(tiny_weights: Path, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("static") / "site"
    subprocess.run([sys.executable, "-m", "backend.export_static", str(folder), "--weights", str(tiny_weights)],
                   cwd=REPO_ROOT, check=True, capture_output=True)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_StaticHandler, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_static_export_paints_switches_model_and_filters(open_context, static_site: str):
    context = open_context(service_workers="block")
    page = context.new_page()
    page.goto(static_site + "/")
    wait_ready(page)
    first = wait_for_settled_output(page, timeout=30)
    assert where(page) == "device"
    wait_for_notice(page, "one thread: this host does not send COOP/COEP headers")

    page.get_by_test_id("model-select").select_option(FACADES_ID)
    facades = wait_for_output_change(page, first, timeout=30)
    page.get_by_test_id("filter-select").select_option(CYCLEGAN_ID)
    wait_for_output_change(page, facades, timeout=30)
    assert where(page) == "device"


# ---- (d) failures: a message, a picture, and the drawing untouched ----

def test_a_damaged_cached_model_is_fetched_again(open_context, server: str, manifest: dict):
    onnx_url = next(m["files"]["onnx"]["url"] for m in manifest["models"] if m["id"] == SPADE_ID)
    context = open_context(service_workers="block")
    seed_settings(context, {"placement": "device"})
    page = context.new_page()
    page.goto(server + "/")
    wait_ready(page)
    wait_for_settled_output(page, timeout=30)
    size, _ = canvas_colours(page)
    page.get_by_test_id("label-tree").click()
    mouse_stroke(page, [(4, 4), (size - 4, 4)])
    wait_for_settled_output(page, timeout=30)
    _, drawing = canvas_colours(page)
    page.evaluate("""async ([name, url]) => {
      const cache = await caches.open(name);
      const key = new URL(url, document.baseURI).href;
      const whole = new Uint8Array(await (await cache.match(key)).arrayBuffer());
      await cache.put(key, new Response(whole.slice(0, whole.length >> 1)));
    }""", [MODEL_CACHE, onnx_url])

    page.reload()
    wait_ready(page)
    wait_for_notice(page, "damaged; downloading it again")
    wait_for_settled_output(page, timeout=30)
    assert where(page) == "device"
    assert canvas_colours(page)[1] == drawing


def test_without_webassembly_threads_it_says_so_and_paints(open_context, server: str):
    context = open_context(service_workers="block")
    context.add_init_script("delete globalThis.SharedArrayBuffer;")
    page, _ = painted_with_api_blocked(context, server)
    wait_for_notice(page, "one thread")


def test_a_model_too_big_for_memory_falls_back_to_the_server(open_context, server: str, manifest: dict):
    huge = json.loads(json.dumps(manifest))
    for model in huge["models"]:
        if model["id"] == SPADE_ID:
            model["files"]["onnx"]["bytes"] = 8 * 2**30
    context = open_context(service_workers="block")
    seed_settings(context, {"placement": "device"})
    page = context.new_page()
    page.route("**/device/manifest.json", lambda route: route.fulfill(json=huge))
    page.goto(server + "/")
    wait_ready(page)
    wait_for_notice(page, "too big for this device's memory")
    page.wait_for_function("() => document.querySelector('[data-testid=result-where]').dataset.where === 'server'")
    size, _ = canvas_colours(page)
    page.get_by_test_id("label-water").click()
    mouse_stroke(page, [(3, size // 2), (size - 3, size // 2)])
    settled = wait_for_settled_output(page, timeout=30)
    assert settled and where(page) == "server"
    assert page.get_by_test_id("undo").is_enabled(), "the stroke is in the drawing"


# ---- (e) the device's picture is the server's ----

def device_and_server_pictures(open_context, server: str, manifest: dict, case: str) -> tuple[object, np.ndarray, np.ndarray]:
    """The painter's page painting `case` on the device, its picture, and the server's for the same input."""
    model_id = {"pix2pix-labels": FACADES_ID, "pix2pix-sketch": SKETCH_ID}.get(case, SPADE_ID)
    size = SIZES[model_id]
    if case == "pix2pix-sketch":
        drawing = (np.indices((size, size)).sum(axis=0) % 9 == 0).astype(np.uint8)  # 1 = ink
        server_input = np.where(drawing == 1, 0, 255).astype(np.uint8)
    else:
        ids = [c["id"] for c in card_of(manifest, model_id)["label_set"]["classes"]]
        drawing = server_input = bands(size, ids)
    style, fields = {}, {}
    if case == "spade-seed":
        style, fields = {"kind": "seed", "seed": SEED}, {"seed": SEED}
    elif model_id == SPADE_ID:
        style, fields = {"kind": "preset", "id": "misty"}, {"style_id": "misty"}
    settings = {"model": model_id, "styles": {model_id: style} if style else {}}
    if case == "cyclegan-filter":
        settings["filter"] = fields["filter"] = CYCLEGAN_ID

    page = paint_on_device(open_context, server, settings, {model_id: drawing})
    return page, picture(page), server_picture(server, server_input, model=model_id, **fields)


@pytest.mark.parametrize("case", ["spade-preset", "spade-seed", "pix2pix-labels", "pix2pix-sketch", "cyclegan-filter"])
def test_device_picture_matches_the_server(open_context, server: str, manifest: dict, case: str):
    _, on_device, on_server = device_and_server_pictures(open_context, server, manifest, case)
    assert on_device.shape == on_server.shape
    assert np.abs(on_device - on_server).mean() <= MAX_MEAN_ABS_DIFF


# ---- WebGPU: used on a hardware adapter, passed over on a software one ----

def test_a_software_webgpu_adapter_is_passed_over_for_webassembly(open_webgpu_context, server: str):
    page, _ = painted_with_api_blocked(open_webgpu_context(service_workers="block"), server)
    assert page.evaluate("async () => (await navigator.gpu.requestAdapter()).info.isFallbackAdapter")
    assert "On this device · wasm" in page.get_by_test_id("status").inner_text()
    wait_for_notice(page, "webgpu is a software renderer (swiftshader), slower than webassembly")


# The adapter reports itself as hardware, so the page takes the WebGPU path (on SwiftShader: slow, but the same
# shaders a GPU runs). Frames without WebGPU (about:blank) are left alone.
AS_HARDWARE_ADAPTER_JS = """if (globalThis.GPUAdapterInfo)
  Object.defineProperty(GPUAdapterInfo.prototype, 'isFallbackAdapter', { get: () => false });"""


@pytest.mark.parametrize("case", ["spade-seed", "pix2pix-sketch", "cyclegan-filter"])
def test_webgpu_picture_matches_the_server(open_webgpu_context, server: str, manifest: dict, case: str):
    def opener(**options):
        context = open_webgpu_context(**options)
        context.add_init_script(AS_HARDWARE_ADAPTER_JS)
        return context

    page, on_device, on_server = device_and_server_pictures(opener, server, manifest, case)
    assert page.get_by_test_id("status").inner_text().endswith("On this device · WebGPU")
    assert on_device.shape == on_server.shape
    assert np.abs(on_device - on_server).mean() <= MAX_MEAN_ABS_DIFF


def test_device_segmentation_matches_the_server(open_context, server: str, manifest: dict):
    label_set = card_of(manifest, SPADE_ID)["label_set"]
    page = paint_on_device(open_context, server, {"model": SPADE_ID}, {})
    size = SIZES[SEGMENTER_ID]
    photo = (np.random.default_rng(3).random((size, size, 3)) * 255).astype(np.uint8)
    page.get_by_test_id("upload-photo").set_input_files(
        files=[{"name": "photo.png", "mimeType": "image/png", "buffer": png(photo)}])
    page.wait_for_function("() => !document.querySelector('[data-testid=undo]').disabled")
    colour_ids = {c["colour"]: c["id"] for c in label_set["classes"]}
    on_device = np.array([colour_ids.get(c, -1) for c in canvas_colours(page)[1]]).reshape(size, size)

    response = httpx.post(f"{server}/segment", data={"model": SEGMENTER_ID},
                          files={"image": ("photo.png", png(photo), "image/png")}, timeout=30)
    assert response.status_code == 200, response.text
    on_server = np.asarray(Image.open(io.BytesIO(response.content)))
    assert (on_device == on_server).mean() >= 0.99


def natural_photo(width: int, height: int, seed: int) -> np.ndarray:
    """A photo-like picture: a lit gradient, soft-edged shapes in several colours, sensor noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    base = np.stack([120 + 80 * x, 150 - 60 * y, 200 - 90 * x * y], axis=2)
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, y0 = rng.integers(0, width), rng.integers(0, height)
        box = (x0, y0, x0 + rng.integers(10, width // 2), y0 + rng.integers(10, height // 2))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    soft = np.asarray(image.filter(ImageFilter.GaussianBlur(1)), np.float64)
    return np.clip(soft + rng.normal(0, 4, soft.shape), 0, 255).astype(np.uint8)


def server_sketch(server: str, photo: np.ndarray) -> np.ndarray:
    """The server's /sketch of a photo: 255 paper, 0 ink."""
    response = httpx.post(f"{server}/sketch", files={"image": ("photo.png", png(photo), "image/png")}, timeout=30)
    assert response.status_code == 200, response.text
    return np.asarray(Image.open(io.BytesIO(response.content)))


def test_a_photo_becomes_a_sketch_with_every_api_route_blocked(open_context, server: str):
    context = open_context(service_workers="block")
    seed_settings(context, {"model": SKETCH_ID})
    page, _ = painted_with_api_blocked(context, server)
    size = SIZES[SKETCH_ID]
    photo = natural_photo(size, size, seed=5)  # the model's size: no scaling between the drawing and the canvas
    page.get_by_test_id("upload-photo").set_input_files(
        files=[{"name": "photo.png", "mimeType": "image/png", "buffer": png(photo)}])
    page.wait_for_function("() => !document.querySelector('[data-testid=undo]').disabled")
    _, colours = canvas_colours(page)
    assert set(colours) <= {"#000000", "#ffffff"}
    ink = np.array([c == "#000000" for c in colours]).reshape(size, size)
    assert 0 < ink.mean() < 0.3
    assert (ink == (server_sketch(server, photo) == 0)).mean() >= 0.97


@pytest.mark.parametrize("model_id", [SKETCH_ID, SPADE_ID], ids=["sketch", "labels"])
def test_a_busy_server_hands_a_photo_to_the_device(open_context, server: str, model_id: str):
    context = open_context(service_workers="block")
    seed_settings(context, {"model": model_id})  # Automatic placement
    page = context.new_page()
    page.goto(server + "/")
    wait_ready(page)
    wait_for_settled_output(page, timeout=30)
    assert where(page) == "server", "with no device timing yet, Automatic paints on the server"
    asked = []

    def busy(route):
        asked.append(route.request.url)
        route.fulfill(status=503, json={"detail": "busy"})

    for route in ("sketch", "segment"):
        page.route(f"**/{route}", busy)
    size = SIZES[model_id]
    photo = natural_photo(size, size, seed=6)
    page.get_by_test_id("upload-photo").set_input_files(
        files=[{"name": "photo.png", "mimeType": "image/png", "buffer": png(photo)}])
    page.wait_for_function("() => !document.querySelector('[data-testid=undo]').disabled")
    assert len(asked) == 1, "the server was asked first, once"
    assert page.get_by_test_id("error").is_hidden(), "the device made up for the server: no error to show"
    colours = canvas_colours(page)[1]
    if model_id == SKETCH_ID:
        ink = np.array([c == "#000000" for c in colours]).reshape(size, size)
        assert (ink == (server_sketch(server, photo) == 0)).mean() >= 0.97
    else:
        catalogue = httpx.get(f"{server}/models").json()
        classes = next(m for m in catalogue["models"] if m["id"] == model_id)["label_set"]["classes"]
        ids = {c["colour"]: c["id"] for c in classes}
        on_device = np.array([ids[c] for c in colours]).reshape(size, size)
        response = httpx.post(f"{server}/segment", data={"model": SEGMENTER_ID},
                              files={"image": ("photo.png", png(photo), "image/png")}, timeout=30)
        assert (on_device == np.asarray(Image.open(io.BytesIO(response.content)))).mean() >= 0.99


def test_the_device_puts_a_transparent_photo_on_white_paper_like_the_server(open_context, server: str):
    page = open_context().new_page()
    page.goto(server + "/")
    wait_ready(page)
    rng = np.random.default_rng(4)
    pixels = rng.integers(0, 256, (6, 8, 4), dtype=np.uint8)
    pixels[0, :, 3], pixels[1, :, 3] = 0, 255  # fully transparent and opaque rows among partial ones
    upload = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(upload, format="PNG")
    on_device = page.evaluate("""async (data) => {
      const { fileRgba } = await import('./js/device/picture.js');
      const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
      const { rgba } = await fileRgba(new Blob([bytes], { type: 'image/png' }));
      return Array.from(rgba);
    }""", base64.b64encode(upload.getvalue()).decode())
    on_device = np.array(on_device, np.int16).reshape(6, 8, 4)
    paper = Image.new("RGBA", (8, 6), (255, 255, 255, 255))
    on_server = np.asarray(Image.alpha_composite(paper, Image.fromarray(pixels, "RGBA")).convert("RGB"), np.int16)
    assert (on_device[..., 3] == 255).all()
    assert np.abs(on_device[..., :3] - on_server).max() <= 1  # the canvas and Pillow round alpha differently


# The page's sketch module on a photo (base64 RGBA): { ids (base64), width, height }.
DEVICE_SKETCH_JS = """async ({ data, width, height }) => {
  const { photoSketch } = await import('./js/device/sketch.js');
  const rgba = Uint8ClampedArray.from(atob(data), (c) => c.charCodeAt(0));
  const drawing = photoSketch(rgba, width, height);
  return { ...drawing, ids: btoa(String.fromCharCode(...drawing.ids)) };
}"""


@pytest.mark.parametrize("width, height, seed", [(200, 150, 1), (320, 240, 2)])  # the second is shrunk first
def test_device_sketch_matches_the_server(open_context, server: str, width: int, height: int, seed: int):
    page = open_context(service_workers="block").new_page()
    page.goto(server + "/")
    photo = natural_photo(width, height, seed)
    rgba = np.dstack([photo, np.full((height, width), 255, np.uint8)])
    drawing = page.evaluate(DEVICE_SKETCH_JS, {"data": base64.b64encode(rgba.tobytes()).decode(),
                                               "width": width, "height": height})
    on_server = server_sketch(server, photo)
    assert (drawing["height"], drawing["width"]) == on_server.shape
    on_device = np.frombuffer(base64.b64decode(drawing["ids"]), np.uint8).reshape(on_server.shape)
    assert 0 < (on_server == 0).mean() < 0.3
    assert ((on_device == 1) == (on_server == 0)).mean() >= 0.97


# ---- (f) the brush stays responsive while the device paints ----

SLOW_URL = "device/files/slow-facades.onnx"
SLOW_CHANNELS = 64
SLOW_LAYERS = 10  # 3×3 convolutions of 64 channels at twice the size: 5.5 GMACs, hundreds of ms in WebAssembly
SLOW_RUNS = 4

# A heartbeat (a zero-delay timer chain) on the painter's page while its device engine paints the slow model
# SLOW_RUNS times: every silence of the main thread over 10 ms, and the batch's milliseconds. The first picture
# (download, session, warm-up) is not timed.
HEARTBEAT_JS = """async ({ modelId, runs }) => {
  const { DevicePainter } = await import('./js/device/painter.js');
  const painter = new DevicePainter({ onProgress() {}, onNotice() {}, onResult() {}, onError() {} });
  await painter.load();
  const { threads } = await painter.runtime();
  const size = painter.manifest.models.get(modelId).card.size;
  const drawing = new Uint8Array(size * size).fill(1);
  await painter.engine.translate({ modelId, drawing });
  const gaps = [];
  const started = performance.now();
  let last = started, stop = null;
  const beat = () => {
    const now = performance.now();
    if (now - last > 10) gaps.push(now - last);
    last = now;
    if (stop) stop(); else setTimeout(beat, 0);
  };
  setTimeout(beat, 0);
  const runMs = [];
  for (let i = 0; i < runs; i += 1) runMs.push((await painter.engine.translate({ modelId, drawing })).ms);
  await new Promise((resolve) => { stop = resolve; });  // the next beat measures the silence of the last run
  return { threads, runMs, gaps, batchMs: last - started };
}"""


def slow_generator() -> bytes:
    """Facades labels [1,1,S,S] -> image [1,3,S,S] through SLOW_LAYERS 3×3 convolutions at 2S: slow on purpose."""
    rng = np.random.default_rng(0)
    size = SIZES[FACADES_ID]
    nodes = [helper.make_node("Cast", ["labels"], ["ids"], to=TensorProto.FLOAT),
             helper.make_node("Resize", ["ids", "", "scales"], ["x0"], mode="nearest")]
    inits = [numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")]
    channels = [1] + [SLOW_CHANNELS] * SLOW_LAYERS
    for layer, (c_in, c_out) in enumerate(zip(channels, channels[1:])):
        weight = rng.normal(0, (2 / (9 * c_in)) ** 0.5, (c_out, c_in, 3, 3)).astype(np.float32)
        inits.append(numpy_helper.from_array(weight, f"w{layer}"))
        nodes += [helper.make_node("Conv", [f"x{layer}", f"w{layer}"], [f"c{layer}"], pads=[1, 1, 1, 1]),
                  helper.make_node("Relu", [f"c{layer}"], [f"x{layer + 1}"])]
    inits.append(numpy_helper.from_array(rng.normal(0, 0.1, (3, SLOW_CHANNELS, 2, 2)).astype(np.float32), "out_w"))
    nodes += [helper.make_node("Conv", [f"x{SLOW_LAYERS}", "out_w"], ["painted"], strides=[2, 2]),
              helper.make_node("Tanh", ["painted"], ["image"])]
    inputs = [helper.make_tensor_value_info("labels", TensorProto.INT64, [1, 1, size, size])]
    outputs = [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, size, size])]
    graph = helper.make_graph(nodes, "slow", inputs, outputs, initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8).SerializeToString()


def painted_with_slow_facades(context, server: str, manifest: dict) -> object:
    """A page of `context` whose device runs slow_generator() as the facades model, once it shows a picture."""
    model = slow_generator()
    slow = json.loads(json.dumps(manifest))
    for entry in slow["models"]:
        if entry["id"] == FACADES_ID:
            entry["files"]["onnx"] = {"url": SLOW_URL, "bytes": len(model), "sha256": hashlib.sha256(model).hexdigest()}
    page = context.new_page()
    page.route("**/device/manifest.json", lambda route: route.fulfill(json=slow))
    page.route(f"**/{SLOW_URL}", lambda route: route.fulfill(body=model, content_type="application/octet-stream"))
    page.goto(server + "/")
    wait_ready(page)
    wait_for_settled_output(page, timeout=60)
    return page


@pytest.mark.parametrize("plan", ["threads", "one thread"])
def test_the_main_thread_stays_free_while_the_device_paints(open_context, server: str, manifest: dict, plan: str):
    context = open_context(service_workers="block")
    if plan == "one thread":
        context.add_init_script("delete globalThis.SharedArrayBuffer;")
    seed_settings(context, {"placement": "device"})
    page = painted_with_slow_facades(context, server, manifest)

    result = page.evaluate(HEARTBEAT_JS, {"modelId": FACADES_ID, "runs": SLOW_RUNS})
    assert (result["threads"] > 1) == (plan == "threads")
    # A silence of a quarter of a run or more is a brush that froze. Inference on the main thread makes the whole
    # batch one silence (share 1.0); off it, only a busy machine's scheduling leaves the page silent for that long.
    run_ms = float(np.median(result["runMs"]))
    silent_ms = sum(gap for gap in result["gaps"] if gap >= run_ms / 4)
    assert silent_ms / result["batchMs"] < 0.25, result


def test_a_gpu_that_gives_no_device_leaves_the_page_on_webassembly(open_webgpu_context, server: str):
    context = open_webgpu_context(service_workers="block")
    context.add_init_script(AS_HARDWARE_ADAPTER_JS + """
if (globalThis.GPUAdapter) GPUAdapter.prototype.requestDevice = () => Promise.reject(new Error('device lost'));""")
    page, _ = painted_with_api_blocked(context, server)
    assert "On this device · wasm" in page.get_by_test_id("status").inner_text()
    wait_for_notice(page, "webgpu would not start (device lost)")


def test_a_late_device_picture_does_not_replace_a_newer_server_one(open_context, server: str, manifest: dict):
    context = open_context(service_workers="block")
    seed_settings(context, {"placement": "device", "model": FACADES_ID})
    page = painted_with_slow_facades(context, server, manifest)
    assert where(page) == "device"
    device_ms = float(page.get_by_test_id("frame-ms").inner_text().split("model ")[1].split(" ms")[0])

    # A stroke starts a slow device frame; Run on → Server paints the same drawing there before it ends.
    size, _ = canvas_colours(page)
    mouse_stroke(page, [(3, size // 2), (size - 3, size // 2)])
    page.get_by_test_id("placement-select").select_option("server")
    page.wait_for_function("() => document.querySelector('[data-testid=result-where]').dataset.where === 'server'")
    page.wait_for_timeout(max(2000, 4 * device_ms))  # the device's frames have ended by now
    assert where(page) == "server", "a device frame started before the switch replaced the server's picture"
    drawing = np.array(canvas_colours(page)[1])
    ids = shown_colour_ids(page)
    on_server = server_picture(server, np.array([ids[c] for c in drawing], np.uint8).reshape(size, size),
                               model=FACADES_ID)
    assert np.abs(picture(page) - on_server).mean() <= MAX_MEAN_ABS_DIFF


def wait_for_where(page, side: str) -> None:
    page.wait_for_function("(side) => document.querySelector('[data-testid=result-where]').dataset.where === side",
                           arg=side)


def test_the_placement_notice_describes_what_paints_now_in_one_sentence(open_context, hybrid_weights: Path,
                                                                          tmp_path: Path):
    with running_server(hybrid_weights, tmp_path / "server.log") as base_url:
        context = open_context(service_workers="block")
        seed_settings(context, {"placement": "device"})
        page = context.new_page()
        page.goto(base_url + "/")
        wait_ready(page)
        wait_for_where(page, "device")
        hybrid = page.locator(f"#model-select option[value='{HYBRID_ID}']").inner_text()

        page.get_by_test_id("model-select").select_option(HYBRID_ID)  # the hybrid runs on the server only
        wait_for_where(page, "server")
        wait_for_notice(page, f"the server paints {hybrid}")
        assert notices(page).lower().count("server only") <= 1, f"the notice repeats itself: {notices(page)}"

        page.get_by_test_id("model-select").select_option(SPADE_ID)  # the device paints this one
        wait_for_settled_output(page, timeout=30)
        wait_for_where(page, "device")
        assert hybrid not in notices(page), f"a notice about the hybrid outlived it: {notices(page)}"

        page.get_by_test_id("model-select").select_option(HYBRID_ID)
        wait_for_notice(page, f"the server paints {hybrid}")
        page.get_by_test_id("placement-select").select_option("server")  # chosen, so nothing to explain
        wait_for_settled_output(page, timeout=30)
        assert hybrid not in notices(page), f"the notice outlived Run on → Server: {notices(page)}"
