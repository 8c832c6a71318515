"""Screenshots of the painter for the README: `python -m tests.helpers.screenshots --weights DIR --out docs/screenshots`.

Starts the server on DIR, paints a landscape through the UI (the way a person would: brush, fill, palette),
waits for the picture, and saves `painter-desktop.png` (1400×900) and `painter-phone.png` (390×844
viewport, whole page); when a hybrid model is served, the same painting switched to it as `painter-hybrid.png`.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from backend.browser import launch_chromium
from tests.helpers.browser import mouse_stroke, running_server, to_client, wait_for_settled_output, wait_ready

DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}


def _has_label(page, name: str) -> bool:
    return page.get_by_test_id(f"label-{name.replace(' ', '-')}").count() > 0


def _use(page, name: str, tool: str, brush: float | None = None) -> bool:
    """Pick label `name` and `tool`; False when this model's label set has no such label."""
    if not _has_label(page, name):
        return False
    page.get_by_test_id(f"label-{name.replace(' ', '-')}").click()
    page.get_by_test_id(f"tool-{tool}").click()
    if brush is not None:
        page.get_by_test_id("brush-size").evaluate(
            "(slider, size) => { slider.value = String(size); slider.dispatchEvent(new Event('input')); }",
            max(2, round(brush)))
    return True


def paint_landscape(page) -> None:
    """Sky (the background), a mountain ridge, a meadow with a lake, and a few trees, scaled to the canvas."""
    size = page.evaluate("() => document.querySelector('[data-testid=label-canvas]').width")
    page.get_by_test_id("clear").click()

    def at(fx: float, fy: float) -> tuple[float, float]:
        return fx * size, fy * size

    def fill(fx: float, fy: float) -> None:
        page.mouse.click(*to_client(page, *at(fx, fy)))

    # Strokes start inside the canvas (a stroke begins only on it) and may run past the edge.
    if _use(page, "mountain", "brush", size * 0.03):
        ridge = [(0.0, 0.52), (0.12, 0.40), (0.24, 0.47), (0.38, 0.30), (0.52, 0.44), (0.63, 0.36),
                 (0.78, 0.48), (0.9, 0.41), (1.02, 0.5)]
        mouse_stroke(page, [at(x, y) for x, y in ridge])
        _use(page, "mountain", "fill")
        fill(0.5, 0.9)
    if _use(page, "grass", "brush", size * 0.03):
        mouse_stroke(page, [at(x, y) for x, y in [(0.0, 0.62), (0.3, 0.58), (0.6, 0.61), (1.02, 0.57)]])
        _use(page, "grass", "fill")
        fill(0.5, 0.95)
    if _use(page, "water", "brush", size * 0.12):
        for y in (0.80, 0.86, 0.9):
            mouse_stroke(page, [at(0.38, y), at(0.82, y - 0.02)])
    if _use(page, "tree", "brush", size * 0.09):
        for x, y in [(0.08, 0.62), (0.14, 0.66), (0.2, 0.63), (0.9, 0.6), (0.95, 0.66)]:
            mouse_stroke(page, [at(x, y - 0.05), at(x, y + 0.02)])
    # Leave the pointer off the canvas so no brush outline shows.
    page.mouse.move(2, 2)


def take_screenshots(base_url: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        desktop = browser.new_context(viewport=DESKTOP)
        page = desktop.new_page()
        page.goto(base_url + "/")
        wait_ready(page)
        paint_landscape(page)
        wait_for_settled_output(page)
        page.screenshot(path=str(out / "painter-desktop.png"))
        drawing = desktop.storage_state()
        hybrid = page.locator("#model-select option[value^='hybrid']")
        if hybrid.count():  # switching models of one label set keeps the painting
            page.select_option("#model-select", hybrid.first.get_attribute("value"))
            wait_for_settled_output(page)
            page.screenshot(path=str(out / "painter-hybrid.png"))  # the phone opens the same drawing (it lives in localStorage)
        desktop.close()

        phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, storage_state=drawing)
        page = phone.new_page()
        page.goto(base_url + "/")
        wait_ready(page)
        wait_for_settled_output(page)
        page.screenshot(path=str(out / "painter-phone.png"), full_page=True)
        phone.close()
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.helpers.screenshots", description=__doc__)
    parser.add_argument("--weights", type=Path, required=True, help="folder of ONNX models and cards")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, running_server(args.weights, Path(scratch) / "server.log") as url:
        take_screenshots(url, args.out)
    print(f"saved {args.out / 'painter-desktop.png'} and {args.out / 'painter-phone.png'}")


if __name__ == "__main__":
    main()
