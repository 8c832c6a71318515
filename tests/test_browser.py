"""The painter in a real browser (Debian chromium via Playwright) against the real server and tiny models."""

from __future__ import annotations

import io
import json
import shutil
import urllib.request
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers.browser import (
    canvas_colours, mouse_stroke, output_digest, painter_page, running_server, to_client,
    wait_for_output_change, wait_for_settled_output, wait_ready,
)
from tests.helpers.tiny_models import FACADES_ID, HYBRID_ID, HYBRID_PRESETS, PRESET_IDS, SKETCH_ID, SPADE_ID

pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def catalogue(server: str) -> dict:
    with urllib.request.urlopen(server + "/models") as response:
        return json.load(response)


@pytest.fixture(scope="module")
def landscape(catalogue: dict) -> dict:
    return next(m for m in catalogue["models"] if m["id"] == SPADE_ID)["label_set"]


@pytest.fixture
def page(browser, server: str):
    """A fresh context (empty localStorage) on the painter, ready and with its first picture shown."""
    context = browser.new_context(viewport={"width": 1280, "height": 860}, accept_downloads=True)
    context.set_default_timeout(15000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(server + "/")
    wait_ready(tab)
    wait_for_settled_output(tab)
    yield tab
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def colour_of(label_set: dict, name: str) -> str:
    return next(c["colour"] for c in label_set["classes"] if c["name"] == name)


def palette_colours(label_set: dict) -> set[str]:
    return {c["colour"] for c in label_set["classes"]}


def set_brush_size(page, size: int) -> None:
    page.get_by_test_id("brush-size").evaluate(
        "(slider, size) => { slider.value = String(size); slider.dispatchEvent(new Event('input')); }", size)


def select_label(page, name: str) -> None:
    page.get_by_test_id(f"label-{name.replace(' ', '-')}").click()


def test_palette_comes_from_models(page, landscape: dict):
    swatches = page.locator(".swatch")
    assert swatches.count() == len(landscape["classes"])
    for label in landscape["classes"]:
        swatch = page.get_by_test_id("label-" + label["name"].lower().replace(" ", "-"))
        assert swatch.is_visible()
        assert label["name"] in swatch.inner_text()
    # Groups from the label set head the swatches.
    headings = page.locator(".palette-group-name").all_inner_texts()
    assert {h.lower() for h in headings} == {c["group"] for c in landscape["classes"]}
    assert page.get_by_test_id("model-select").input_value() == SPADE_ID
    assert "Live" in page.get_by_test_id("status").inner_text()
    assert page.get_by_test_id("canvas-preview").is_hidden(), "beside the canvas on a desktop: no small copy"


def test_strokes_paint_exact_labels_then_change_the_output(page, landscape: dict):
    before_output = output_digest(page)
    size, before = canvas_colours(page)
    scene = {colour_of(landscape, name) for name in ("sky", "mountain", "tree", "water", "grass")}
    assert set(before) == scene, "a new drawing starts from the starter landscape (frontend/js/starter.js)"
    select_label(page, "tree")
    mouse_stroke(page, [(5, size * 0.7), (size * 0.5, size * 0.6), (size - 5, size * 0.8)])
    _, after = canvas_colours(page)
    tree = colour_of(landscape, "tree")
    assert Counter(after)[tree] > Counter(before)[tree] + size * 3
    assert set(after) <= palette_colours(landscape), "no anti-aliased colours outside the palette"
    wait_for_output_change(page, before_output)


def test_undo_and_redo_restore_exact_pixels(page, landscape: dict):
    size, blank = canvas_colours(page)
    select_label(page, "water")
    mouse_stroke(page, [(4, 4), (size - 4, size - 4)])
    _, first = canvas_colours(page)
    set_brush_size(page, 4)
    select_label(page, "building")
    mouse_stroke(page, [(size - 4, 4), (4, size - 4)])
    _, second = canvas_colours(page)
    assert blank != first != second

    page.get_by_test_id("undo").click()
    assert canvas_colours(page)[1] == first
    page.get_by_test_id("undo").click()
    assert canvas_colours(page)[1] == blank
    assert page.get_by_test_id("undo").is_disabled()
    page.get_by_test_id("redo").click()
    assert canvas_colours(page)[1] == first
    page.keyboard.press("Control+Shift+Z")
    assert canvas_colours(page)[1] == second
    page.keyboard.press("Control+Z")
    assert canvas_colours(page)[1] == first
    page.keyboard.press("Control+Y")
    assert canvas_colours(page)[1] == second


def test_fill_fills_only_the_enclosed_region(page, landscape: dict):
    page.get_by_test_id("clear").click()
    size, cleared = canvas_colours(page)
    assert set(cleared) == {colour_of(landscape, "sky")}, "Clear paints the whole canvas with the background"
    select_label(page, "mountain")
    set_brush_size(page, 6)
    # A band across the whole canvas splits it into a top and a bottom region.
    mouse_stroke(page, [(1, size // 2), (size + 10, size // 2)])
    page.keyboard.press("f")
    assert page.get_by_test_id("tool-fill").get_attribute("aria-pressed") == "true"
    select_label(page, "water")
    page.mouse.click(*to_client(page, size // 2, size - 3))
    _, colours = canvas_colours(page)
    top, bottom = colours[: size * 4], colours[-size * 4:]
    assert set(top) == {colour_of(landscape, "sky")}
    assert set(bottom) == {colour_of(landscape, "water")}
    assert colour_of(landscape, "mountain") in colours
    # The eyedropper picks the label under the pointer.
    page.get_by_test_id("tool-eyedropper").click()
    page.mouse.click(*to_client(page, size // 2, size // 2))
    assert page.get_by_test_id("label-mountain").get_attribute("aria-pressed") == "true"


def test_style_preset_and_random_style_change_the_output(page):
    select_label(page, "grass")
    page.get_by_test_id("tool-fill").click()
    page.mouse.click(*to_client(page, 2, 2))
    first = wait_for_settled_output(page)
    page.get_by_test_id(f"style-preset-{PRESET_IDS[1]}").click()
    second = wait_for_output_change(page, first)
    assert page.get_by_test_id(f"style-preset-{PRESET_IDS[1]}").get_attribute("aria-pressed") == "true"
    assert page.get_by_test_id("current-style").inner_text().endswith(PRESET_IDS[1].title())
    page.get_by_test_id("random-style").click()
    wait_for_output_change(page, second)
    assert "Random" in page.get_by_test_id("current-style").inner_text()


def test_photo_upload_fills_the_canvas_with_labels_and_is_undoable(page, landscape: dict):
    _, blank = canvas_colours(page)
    photo = Image.new("RGB", (120, 90))
    photo.paste((40, 90, 200), (0, 0, 120, 45))
    photo.paste((30, 140, 40), (0, 45, 120, 90))
    buffer = io.BytesIO()
    photo.save(buffer, format="PNG")
    page.get_by_test_id("upload-photo").set_input_files(
        files=[{"name": "photo.png", "mimeType": "image/png", "buffer": buffer.getvalue()}])
    page.get_by_test_id("aspect-crop").click()  # 120×90 is not square: the page asks
    page.wait_for_function("() => !document.querySelector('[data-testid=undo]').disabled")
    _, colours = canvas_colours(page)
    assert colours != blank
    assert set(colours) <= palette_colours(landscape)
    page.get_by_test_id("undo").click()
    assert canvas_colours(page)[1] == blank


def test_label_map_upload_and_downloads_are_pngs(page, landscape: dict, tmp_path: Path):
    size, _ = canvas_colours(page)
    label_map = Image.new("RGB", (size, size), colour_of(landscape, "sky"))
    label_map.paste(colour_of(landscape, "grass"), (0, size // 2, size, size))
    buffer = io.BytesIO()
    label_map.save(buffer, format="PNG")
    page.get_by_test_id("upload-labels").set_input_files(
        files=[{"name": "labels.png", "mimeType": "image/png", "buffer": buffer.getvalue()}])
    page.wait_for_function("() => !document.querySelector('[data-testid=undo]').disabled")
    _, colours = canvas_colours(page)
    assert Counter(colours) == {colour_of(landscape, "sky"): size * size // 2,
                                colour_of(landscape, "grass"): size * size // 2}
    wait_for_settled_output(page)

    with page.expect_download() as download:
        page.get_by_test_id("download-output").click()
    picture = download.value.path().read_bytes()
    assert picture.startswith(PNG_SIGNATURE)
    assert Image.open(io.BytesIO(picture)).size == (size, size)

    with page.expect_download() as download:
        page.get_by_test_id("download-labels").click()
    saved = download.value.path().read_bytes()
    assert saved.startswith(PNG_SIGNATURE)
    assert Image.open(io.BytesIO(saved)).convert("RGB").tobytes() == label_map.tobytes()


def test_reload_keeps_the_drawing_and_its_undo_steps(page, landscape: dict):
    size, before = canvas_colours(page)
    select_label(page, "road")
    mouse_stroke(page, [(3, 3), (size - 3, size // 2)])
    _, drawn = canvas_colours(page)
    page.get_by_test_id("undo").click()
    page.get_by_test_id("redo").click()
    page.reload()
    wait_ready(page)
    assert canvas_colours(page)[1] == drawn
    assert page.get_by_test_id("label-road").get_attribute("aria-pressed") == "true"
    page.get_by_test_id("undo").click()
    assert canvas_colours(page)[1] == before, "the stroke is undone after the reload"
    page.reload()
    wait_ready(page)
    page.get_by_test_id("redo").click()
    assert canvas_colours(page)[1] == drawn, "and redone after another"


def test_touch_paints_on_a_phone(browser, server: str, landscape: dict):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    context.set_default_timeout(15000)
    page = context.new_page()
    try:
        page.goto(server + "/")
        wait_ready(page)
        size, before = canvas_colours(page)
        select_label(page, "tree")
        page.get_by_test_id("label-canvas").scroll_into_view_if_needed()
        cdp = context.new_cdp_session(page)
        points = [to_client(page, x, size // 2) for x in range(4, size - 4, 4)]
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": points[0][0], "y": points[0][1]}]})
        for x, y in points[1:]:
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        page.wait_for_function("() => !document.querySelector('[data-testid=undo]').disabled")
        _, after = canvas_colours(page)
        row = after[(size // 2) * size: (size // 2 + 1) * size]
        assert row.count(colour_of(landscape, "tree")) >= size - 12, "the whole swipe was painted"
        assert set(after) <= palette_colours(landscape)
        # Stacked on a phone: the picture sits below the canvas, and a small copy of it right under the canvas
        # is in view while painting; choosing it brings the picture into view.
        canvas_box = page.get_by_test_id("label-canvas").bounding_box()
        output_box = page.locator("#result-frame").bounding_box()
        assert output_box["y"] > canvas_box["y"] + canvas_box["height"]
        wait_for_settled_output(page)
        preview = page.get_by_test_id("canvas-preview")
        assert preview.is_visible()
        preview_box = preview.bounding_box()
        assert preview_box["y"] + preview_box["height"] <= 844, "the copy is on screen with the canvas"
        assert page.locator("#canvas-preview-image").get_attribute("src") == page.get_by_test_id("output-image").get_attribute("src")
        preview.click()
        page.wait_for_function("() => { const r = document.querySelector('#result-frame').getBoundingClientRect();"
                               " return r.top >= 0 && r.bottom <= innerHeight; }")
    finally:
        context.close()


def test_server_errors_are_shown_in_words(page):
    page.route("**/translate", lambda route: route.fulfill(
        status=422, content_type="application/json", body=json.dumps({"detail": "image: labels out of range"})))
    page.get_by_test_id("render").click()
    error = page.get_by_test_id("error")
    error.wait_for(state="visible")
    assert "labels out of range" in error.inner_text()

    page.route("**/segment", lambda route: route.fulfill(status=500, body="Internal Server Error"))
    photo = io.BytesIO()
    Image.new("RGB", (32, 32), (90, 140, 200)).save(photo, format="PNG")
    page.get_by_test_id("upload-photo").set_input_files(
        files=[{"name": "photo.png", "mimeType": "image/png", "buffer": photo.getvalue()}])
    page.wait_for_function("() => document.querySelector('[data-testid=error]').textContent.includes('(500)')")

    # A file the browser cannot decode never reaches the server, and says why.
    page.get_by_test_id("upload-labels").set_input_files(
        files=[{"name": "not-an-image.png", "mimeType": "image/png", "buffer": b"not a picture"}])
    page.wait_for_function("() => document.querySelector('[data-testid=error]').textContent.includes('not an image')")
    assert page.get_by_test_id("undo").is_disabled(), "a failed upload leaves the drawing alone"


def test_a_style_image_of_any_size_works_and_a_non_image_never_reaches_the_server(page):
    uploads = []
    page.on("request", lambda request: uploads.append(request.url) if "/style-code" in request.url else None)
    # 5000 px is over the server's pixel limit: the page scales it down first, keeping the whole frame.
    big = io.BytesIO()
    Image.new("RGB", (5000, 2500), (200, 60, 40)).save(big, format="PNG")
    before = wait_for_settled_output(page)
    page.get_by_test_id("style-upload").set_input_files(
        files=[{"name": "big.png", "mimeType": "image/png", "buffer": big.getvalue()}])
    wait_for_output_change(page, before)
    assert page.get_by_test_id("current-style").inner_text().endswith("big.png")
    assert page.get_by_test_id("error").is_hidden()
    assert len(uploads) == 1

    page.get_by_test_id("style-upload").set_input_files(
        files=[{"name": "notes.png", "mimeType": "image/png", "buffer": b"not a picture"}])
    page.wait_for_function("() => document.querySelector('[data-testid=error]').textContent.includes('not an image')")
    assert len(uploads) == 1, "the file the browser could not read was not sent"


def test_photo_is_offered_only_where_a_photo_can_become_the_drawing(page):
    assert page.get_by_test_id("upload-photo").is_enabled()  # landscape labels: the segmenter knows them
    page.get_by_test_id("model-select").select_option(FACADES_ID)
    wait_for_settled_output(page)
    assert page.get_by_test_id("upload-photo").is_disabled()
    assert "No segmenter knows" in page.locator("#upload-photo-button").get_attribute("title")
    page.get_by_test_id("model-select").select_option(SKETCH_ID)
    wait_for_settled_output(page)
    assert page.get_by_test_id("upload-photo").is_enabled()  # any photo becomes a sketch


def test_a_photo_opened_as_a_label_map_says_so_and_can_be_undone(page):
    photo = io.BytesIO()
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(photo, format="PNG")
    page.get_by_test_id("upload-labels").set_input_files(
        files=[{"name": "holiday.png", "mimeType": "image/png", "buffer": photo.getvalue()}])
    page.wait_for_function("() => document.querySelector('[data-testid=error]').textContent.includes('label colours')")
    assert "use Photo" in page.get_by_test_id("error").inner_text()
    assert page.get_by_test_id("undo").is_enabled()


def test_keyboard_shortcuts_switch_tools_and_brush_size(page):
    slider = page.get_by_test_id("brush-size")
    size = int(slider.input_value())
    page.keyboard.press("]")
    assert int(slider.input_value()) > size
    page.keyboard.press("[")
    page.keyboard.press("[")
    assert int(slider.input_value()) < size
    for key, tool in [("e", "eraser"), ("i", "eyedropper"), ("f", "fill"), ("b", "brush")]:
        page.keyboard.press(key)
        assert page.get_by_test_id(f"tool-{tool}").get_attribute("aria-pressed") == "true"


def test_api_key_is_sent_once_set(page):
    keys: list[str | None] = []

    def record(route):
        keys.append(route.request.headers.get("x-api-key"))
        route.continue_()

    page.route("**/translate", record)
    page.get_by_test_id("settings").click()
    page.get_by_test_id("api-key").fill("painter-key")
    page.locator("#save-settings").click()
    with page.expect_response("**/translate"):
        page.get_by_test_id("render").click()
    assert keys == ["painter-key"]
    assert page.evaluate("() => JSON.parse(localStorage.getItem('gaugan-painter:settings')).apiKey") == "painter-key"


def test_without_the_socket_pictures_come_over_http(browser, server: str):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15000)
    page = context.new_page()
    try:
        page.route_web_socket("**/ws", lambda socket: socket.close())
        page.goto(server + "/")
        wait_ready(page)
        page.wait_for_function("() => document.querySelector('[data-testid=status]').dataset.state === 'offline'")
        assert "Render" in page.get_by_test_id("status").inner_text()
        assert "attention" in page.get_by_test_id("render").get_attribute("class")
        first = wait_for_settled_output(page)
        select_label(page, "water")
        size, _ = canvas_colours(page)
        mouse_stroke(page, [(2, 2), (size - 2, size - 2)])
        wait_for_output_change(page, first)
    finally:
        context.close()


def test_sketch_model_and_filter(page):
    before = output_digest(page)
    page.get_by_test_id("model-select").select_option(SKETCH_ID)
    assert page.get_by_test_id("tool-fill").is_hidden()
    assert page.get_by_test_id("tool-brush").inner_text().strip() == "Pencil"
    size, colours = canvas_colours(page)
    assert set(colours) == {"#ffffff", "#000000"}, "a sketch opens on the starter's lines"
    mouse_stroke(page, [(4, 4), (size - 4, size - 4)])
    _, drawn = canvas_colours(page)
    assert set(drawn) == {"#ffffff", "#000000"} and drawn != colours
    wait_for_output_change(page, before)
    settled = wait_for_settled_output(page)
    filter_select = page.get_by_test_id("filter-select")
    filter_select.select_option(filter_select.locator("option").nth(1).get_attribute("value"))
    wait_for_output_change(page, settled)


def test_no_model_shows_a_message(browser, tmp_path: Path):
    empty = tmp_path / "weights"
    empty.mkdir()
    with running_server(empty, tmp_path / "server.log", ready_path="/healthz") as base_url:
        context = browser.new_context()
        page = context.new_page()
        try:
            page.goto(base_url + "/")
            message = page.get_by_test_id("empty-state")
            message.wait_for(state="visible")
            assert "no label or sketch model" in message.inner_text().lower()
            assert page.locator("#workspace").is_hidden()
        finally:
            context.close()


def test_failed_models_are_listed(browser, tiny_weights: Path, tmp_path: Path):
    weights = tmp_path / "weights"
    shutil.copytree(tiny_weights, weights)
    (weights / f"{SPADE_ID}.onnx").write_bytes(b"broken")
    with running_server(weights, tmp_path / "server.log") as base_url:
        context = browser.new_context()
        page = context.new_page()
        try:
            page.goto(base_url + "/")
            wait_ready(page)
            option = page.locator(f"[data-testid=model-select] option[value='{SPADE_ID}']")
            assert option.is_disabled()
            assert "failed" in option.inner_text()
        finally:
            context.close()


def upload_red_style(page, picture: str) -> None:
    """Upload a red image as the style; waits for the picture after `picture` and checks the style's name."""
    page.get_by_test_id("style-upload").set_input_files(
        {"name": "red.png", "mimeType": "image/png", "buffer": png_bytes(Image.new("RGB", (40, 30), (230, 40, 30)))})
    wait_for_output_change(page, picture)
    assert page.get_by_test_id("current-style").inner_text().endswith("red.png")


@pytest.fixture(scope="module")
def hybrid_server(hybrid_weights: Path, tmp_path_factory: pytest.TempPathFactory):
    with running_server(hybrid_weights, tmp_path_factory.mktemp("hybrid-server") / "server.log") as base_url:
        yield base_url


def test_switching_to_the_hybrid_paints_and_its_styles_work(browser, hybrid_server: str):
    with painter_page(browser, hybrid_server) as page:
        assert page.get_by_test_id("model-select").input_value() == SPADE_ID
        select_label(page, "grass")
        page.get_by_test_id("tool-fill").click()
        page.mouse.click(*to_client(page, 2, 2))
        _, painted = canvas_colours(page)
        spade_picture = wait_for_settled_output(page)

        page.get_by_test_id("model-select").select_option(HYBRID_ID)
        hybrid_picture = wait_for_output_change(page, spade_picture)
        assert canvas_colours(page)[1] == painted, "the painting goes along to the hybrid"
        first_preset = list(HYBRID_PRESETS)[0]
        assert page.get_by_test_id(f"style-preset-{first_preset}").get_attribute("aria-pressed") == "true"
        page.get_by_test_id("style-preset-grey").click()
        grey = wait_for_output_change(page, hybrid_picture)
        page.get_by_test_id("random-style").click()
        random_style = wait_for_output_change(page, grey)
        assert "Random" in page.get_by_test_id("current-style").inner_text()
        upload_red_style(page, random_style)

        page.get_by_test_id("model-select").select_option(SPADE_ID)
        wait_for_settled_output(page)
        assert page.get_by_test_id(f"style-preset-{PRESET_IDS[0]}").is_visible()
        assert page.get_by_test_id("style-preset-grey").count() == 0


def test_facades_open_on_a_house_front_in_swatches_told_apart_and_save_in_the_dataset_colours(page, catalogue: dict):
    facades = next(m for m in catalogue["models"] if m["id"] == FACADES_ID)["label_set"]
    page.get_by_test_id("model-select").select_option(FACADES_ID)
    wait_for_settled_output(page)
    _, colours = canvas_colours(page)
    assert len(set(colours)) >= 4, "facades open on a starter drawing, not a blank page"
    swatches = page.evaluate("""() => [...document.querySelectorAll('.swatch')].map((swatch) =>
      [swatch.innerText.trim(), getComputedStyle(swatch.querySelector('.swatch-colour')).backgroundColor])""")
    assert [name for name, _ in swatches] == [c["name"] for c in facades["classes"]], "every swatch has its name"
    shown = [tuple(int(v) for v in colour[4:-1].split(",")) for _, colour in swatches]
    lab = [rgb_to_lab(c) for c in shown]
    closest = min(np.linalg.norm(np.subtract(a, b)) for i, a in enumerate(lab) for b in lab[i + 1:])
    assert closest >= 20, f"two swatches look alike (CIE76 ΔE {closest:.1f})"
    assert set(colours) <= {"#%02x%02x%02x" % c for c in shown}, "the canvas shows the swatches' colours"

    with page.expect_download() as download:
        page.get_by_test_id("download-labels").click()
    saved = Image.open(download.value.path()).convert("RGB")
    assert {"#%02x%02x%02x" % c for _, c in saved.getcolors()} <= palette_colours(facades), "files keep the dataset's colours"


def rgb_to_lab(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    linear = [((v / 255 + 0.055) / 1.055) ** 2.4 if v / 255 > 0.04045 else v / 255 / 12.92 for v in rgb]
    x, y, z = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    f = [t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116 for t in (x / 0.95047, y, z / 1.08883)]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def test_on_a_phone_pickers_keep_their_captions_and_the_default_model_comes_first(browser, server: str,
                                                                                  catalogue: dict):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(server + "/")
        wait_ready(page)
        for caption in ("Model", "Filter", "Run on"):
            assert page.locator(".field-label", has_text=caption).is_visible(), f"{caption}'s caption is hidden"
        # The model's whole name fits its picker (the text's width, measured in the picker's own font).
        room = page.get_by_test_id("model-select").evaluate("""(select) => {
          const style = getComputedStyle(select);
          const context = document.createElement('canvas').getContext('2d');
          context.font = `${style.fontSize} ${style.fontFamily}`;
          return select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 16
            - Math.max(...[...select.options].map((option) => context.measureText(option.text).width));
        }""")
        assert room >= 0, f"a model's name is cut off by {-room:.0f} px"
        options = page.locator("[data-testid=model-select] option").evaluate_all("(options) => options.map((o) => o.value)")
        assert options[0] == catalogue["default_model"], f"the default model is not first: {options}"
    finally:
        context.close()


def test_each_panel_has_its_own_heading_and_the_eraser_and_render_say_what_they_do(page):
    headings = page.locator("main h2:visible").all_inner_texts()
    assert len(headings) == len(set(headings)), f"two panels share a heading: {headings}"
    assert "sky" in page.get_by_test_id("tool-eraser").get_attribute("title")
    assert "eraser paints sky" in page.locator("#canvas-hint").inner_text()
    assert "live" in page.get_by_test_id("render").get_attribute("title")
    page.get_by_test_id("model-select").select_option(SKETCH_ID)
    assert "white paper" in page.get_by_test_id("tool-eraser").get_attribute("title")


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_picture_that_is_not_square_is_cropped_or_padded_as_asked_never_squashed(page, landscape: dict):
    size, before = canvas_colours(page)
    sky, grass, water = (colour_of(landscape, name) for name in ("sky", "grass", "water"))
    wide = Image.new("RGB", (512, 256), grass)
    wide.paste(water, (256, 0, 512, 256))  # grass on the left half, water on the right
    dialog = page.get_by_test_id("aspect-dialog")

    page.get_by_test_id("upload-labels").set_input_files(
        files=[{"name": "wide.png", "mimeType": "image/png", "buffer": png_bytes(wide)}])
    dialog.wait_for(state="visible")
    assert "512×256" in dialog.inner_text() and "sky" in dialog.inner_text()
    page.get_by_test_id("aspect-pad").click()
    page.wait_for_function("() => !document.querySelector('[data-testid=undo]').disabled")
    rows = np.array(canvas_colours(page)[1]).reshape(size, size)
    band = slice(size // 4, size * 3 // 4)
    assert set(rows[: size // 4].ravel()) == {sky} and set(rows[size * 3 // 4:].ravel()) == {sky}, "sky above and below"
    assert set(rows[band, : size // 2].ravel()) == {grass} and set(rows[band, size // 2:].ravel()) == {water}

    page.get_by_test_id("upload-labels").set_input_files(
        files=[{"name": "wide.png", "mimeType": "image/png", "buffer": png_bytes(wide)}])
    dialog.wait_for(state="visible")
    page.get_by_test_id("aspect-remember").check()
    page.get_by_test_id("aspect-crop").click()
    page.wait_for_function("(sky) => { const c = document.querySelector('[data-testid=label-canvas]');"
                           " const [r, g, b] = c.getContext('2d').getImageData(0, 0, 1, 1).data;"
                           " return '#' + [r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('') !== sky; }", arg=sky)
    rows = np.array(canvas_colours(page)[1]).reshape(size, size)
    assert set(rows[:, : size // 2].ravel()) == {grass} and set(rows[:, size // 2:].ravel()) == {water}, \
        "the centre square, full height"

    # The answer was remembered: a tall photo is cropped without asking, and Cancel on a new question changes nothing.
    uploads: list[bytes] = []
    page.route("**/segment", lambda route: (uploads.append(route.request.post_data_buffer), route.continue_()))
    tall = Image.new("RGB", (128, 512), (200, 30, 30))
    page.get_by_test_id("upload-photo").set_input_files(
        files=[{"name": "tall.png", "mimeType": "image/png", "buffer": png_bytes(tall)}])
    page.wait_for_function("() => document.querySelector('[data-testid=undo]').disabled === false && "
                           "!document.querySelector('.file-button.busy')")
    assert dialog.is_hidden()
    sent = Image.open(io.BytesIO(uploads[0][uploads[0].index(PNG_SIGNATURE):])).convert("RGB")
    assert sent.size == (128, 128) and sent.getpixel((0, 0)) == (200, 30, 30), "cropped: no border"

    page.evaluate("() => { const s = JSON.parse(localStorage.getItem('gaugan-painter:settings'));"
                  " s.nonSquare = 'ask'; localStorage.setItem('gaugan-painter:settings', JSON.stringify(s)); }")
    page.reload()
    wait_ready(page)
    page.route("**/segment", lambda route: (uploads.append(route.request.post_data_buffer), route.continue_()))
    page.get_by_test_id("upload-photo").set_input_files(
        files=[{"name": "tall.png", "mimeType": "image/png", "buffer": png_bytes(tall)}])
    dialog.wait_for(state="visible")
    assert "white" in dialog.inner_text()
    page.get_by_test_id("aspect-pad").click()
    page.wait_for_function("() => !document.querySelector('.file-button.busy')")
    sent = Image.open(io.BytesIO(uploads[-1][uploads[-1].index(PNG_SIGNATURE):])).convert("RGB")
    assert sent.size == (512, 512), "the photo's long side, square"
    assert sent.getpixel((2, 256)) == (255, 255, 255) and sent.getpixel((256, 256)) == (200, 30, 30), "white beside it"


def test_an_uploaded_style_goes_along_to_the_other_landscape_model(browser, hybrid_server: str):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15000)
    page = context.new_page()
    try:
        page.goto(hybrid_server + "/")
        wait_ready(page)
        first = wait_for_settled_output(page)
        upload_red_style(page, first)

        codes: list[str] = []
        page.on("request", lambda request: codes.append(request.url) if "/style-code" in request.url else None)
        page.get_by_test_id("model-select").select_option(HYBRID_ID)
        page.wait_for_function("() => document.querySelector('[data-testid=current-style]').innerText.endsWith('red.png')")
        assert len(codes) == 1, "the hybrid read its own code from the kept image"
        hybrid_presets = [page.get_by_test_id(f"style-preset-{p}").get_attribute("aria-pressed") for p in HYBRID_PRESETS]
        assert hybrid_presets == ["false"] * len(HYBRID_PRESETS), "no preset replaced the uploaded style"

        page.get_by_test_id("model-select").select_option(SPADE_ID)
        wait_for_settled_output(page)
        assert page.get_by_test_id("current-style").inner_text().endswith("red.png")
        page.reload()
        wait_ready(page)
        assert page.get_by_test_id("current-style").inner_text().endswith("red.png")
    finally:
        context.close()
