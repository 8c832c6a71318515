"""The painter with the patch-synthesis landscape renderer, in a real browser against the real server:
its pictures arrive coarse first and sharpen, and the page says so; a style photo is painted with."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers.browser import (mouse_stroke, painter_page, running_server, wait_for_output_change,
                                   wait_for_settled_output)
from tests.helpers.tiny_models import LANDSCAPE_ID

pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def landscape_server(landscape_weights: Path, tmp_path_factory: pytest.TempPathFactory):
    with running_server(landscape_weights, tmp_path_factory.mktemp("landscape-server") / "server.log") as base_url:
        yield base_url


def test_a_stroke_shows_the_picture_sharpening_then_finished(browser, landscape_server: str):
    with painter_page(browser, landscape_server, timeout_ms=20000) as page:
        page.get_by_test_id("model-select").select_option(LANDSCAPE_ID)
        wait_for_settled_output(page)
        # Every picture the panel shows leaves its level here, so none is missed between two polls.
        page.evaluate("""() => {
            window.levelsSeen = [];
            const image = document.querySelector('[data-testid=output-image]');
            new MutationObserver(() => window.levelsSeen.push(image.dataset.level))
                .observe(image, { attributes: true, attributeFilter: ['data-level'] });
        }""")
        page.get_by_test_id("label-tree").click()
        mouse_stroke(page, [(10, 10), (40, 14)])
        page.wait_for_function("() => (window.levelsSeen || []).includes('final')")
        # The stroke sent several frames while it was drawn: the last one's pictures may still be coming.
        wait_for_settled_output(page)
        seen = page.evaluate("() => window.levelsSeen")
        assert "1/3" in seen, seen
        assert seen.index("1/3") < seen.index("final")
        assert page.get_by_test_id("output-image").get_attribute("data-level") == "final"
        assert "sharpening" not in page.locator("#frame-ms").inner_text()


def test_a_style_photo_is_sent_to_the_renderer_to_paint_with(browser, landscape_server: str):
    with painter_page(browser, landscape_server, timeout_ms=20000) as page:
        configs, acks = [], []

        def watch(socket) -> None:
            socket.on("framesent", lambda payload: configs.append(json.loads(payload))
                      if isinstance(payload, str) else None)
            socket.on("framereceived", lambda payload: acks.append(json.loads(payload))
                      if isinstance(payload, str) and '"config"' in payload else None)

        page.on("websocket", watch)
        page.reload()  # the socket opened before the watch was set; this one is seen from its start
        page.get_by_test_id("model-select").select_option(LANDSCAPE_ID)
        before = wait_for_settled_output(page)
        photo = io.BytesIO()
        Image.new("RGB", (120, 80), (220, 60, 30)).save(photo, format="PNG")
        page.get_by_test_id("style-upload").set_input_files(
            files=[{"name": "field.png", "mimeType": "image/png", "buffer": photo.getvalue()}])
        wait_for_output_change(page, before)
        assert "textures" in page.get_by_test_id("current-style").inner_text()
        sent = [c for c in configs if c.get("model") == LANDSCAPE_ID and "style_image" in c]
        assert sent and "style_code" not in sent[-1]
        assert any(a.get("paints_with_style_photo") for a in acks), acks
        assert page.get_by_test_id("error").is_hidden()


def test_cloud_painted_for_the_renderer_goes_to_spade_as_sky(browser, landscape_server: str):
    from tests.helpers.browser import canvas_colours
    from tests.helpers.tiny_models import SPADE_ID

    with painter_page(browser, landscape_server, timeout_ms=20000) as page:
        page.get_by_test_id("model-select").select_option(LANDSCAPE_ID)
        wait_for_settled_output(page)
        page.get_by_test_id("label-cloud").click()
        mouse_stroke(page, [(10, 10), (50, 12)])
        before = wait_for_settled_output(page)
        colours_before = set(canvas_colours(page)[1])
        page.get_by_test_id("model-select").select_option(SPADE_ID)
        wait_for_output_change(page, before)
        wait_for_settled_output(page)
        assert page.get_by_test_id("error").is_hidden(), "SPADE was sent a class it does not have"
        colours_after = set(canvas_colours(page)[1])
        assert len(colours_after) == len(colours_before) - 1, "the cloud became sky on the carried drawing"
