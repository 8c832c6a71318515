"""Running the real server for the browser tests and the screenshot script (chromium is launched by
backend/browser.py), and reading the painter's page."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests.helpers.server import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


@contextlib.contextmanager
def running_server(weights: Path, log_path: Path, ready_path: str = "/readyz", timeout: float = 60.0) -> Iterator[str]:
    """`python -m backend --weights DIR` on a free port; yields its base URL once `ready_path` answers 200."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "backend", "--weights", str(weights), "--port", str(port)],
                                   cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while _status(base_url + ready_path) != 200:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start; see {log_path}:\n{Path(log_path).read_text()[-2000:]}")
                time.sleep(0.2)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# ---- page helpers: the painter's canvas and result, read the way a person sees them ----

CANVAS_COLOURS_JS = """() => {
  const canvas = document.querySelector('[data-testid=label-canvas]');
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const colours = [];
  for (let p = 0; p < data.length; p += 4) {
    colours.push('#' + [data[p], data[p + 1], data[p + 2]].map((c) => c.toString(16).padStart(2, '0')).join(''));
  }
  return { size: canvas.width, colours };
}"""

OUTPUT_DIGEST_JS = """async () => {
  const image = document.querySelector('[data-testid=output-image]');
  if (!image.src || image.hidden) return null;
  const bytes = await (await fetch(image.src)).arrayBuffer();
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}"""


def canvas_colours(page) -> tuple[int, list[str]]:
    """(size, one #rrggbb per pixel, row-major) of the label canvas."""
    result = page.evaluate(CANVAS_COLOURS_JS)
    return result["size"], result["colours"]


def output_digest(page) -> str | None:
    return page.evaluate(OUTPUT_DIGEST_JS)


def wait_for_output_change(page, previous: str | None, timeout: float = 15.0) -> str:
    """Poll until the displayed picture differs from `previous`; returns its digest."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        current = output_digest(page)
        if current is not None and current != previous:
            return current
        page.wait_for_timeout(100)
    raise AssertionError("the output picture did not change")


def wait_for_settled_output(page, quiet_ms: int = 400, timeout: float = 15.0) -> str:
    """Wait until no new picture arrived for `quiet_ms` (live frames of a stroke have all landed)."""
    deadline = time.monotonic() + timeout
    page.wait_for_selector("[data-testid=output-image][data-renders]", state="attached", timeout=timeout * 1000)
    last = None
    while time.monotonic() < deadline:
        renders = page.get_attribute("[data-testid=output-image]", "data-renders")
        busy = page.get_attribute("#result-frame", "data-busy")
        if renders == last and busy == "false":
            return output_digest(page)
        last = renders
        page.wait_for_timeout(quiet_ms)
    raise AssertionError("the output kept changing")


def to_client(page, x: float, y: float) -> tuple[float, float]:
    """Canvas pixel (x, y) -> viewport coordinates."""
    box = page.locator("[data-testid=label-canvas]").bounding_box()
    size = page.evaluate("() => document.querySelector('[data-testid=label-canvas]').width")
    return box["x"] + (x + 0.5) * box["width"] / size, box["y"] + (y + 0.5) * box["height"] / size


def mouse_stroke(page, points: list[tuple[float, float]], steps: int = 4) -> None:
    """Drag the mouse through canvas pixels `points`."""
    start = to_client(page, *points[0])
    page.mouse.move(*start)
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*to_client(page, *point), steps=steps)
    page.mouse.up()


def wait_ready(page) -> None:
    page.wait_for_selector("body[data-ready=true]")


@contextlib.contextmanager
def painter_page(browser, base_url: str, viewport: dict | None = None, timeout_ms: int = 15000) -> Iterator:
    """A fresh browser context (empty localStorage) on the painter at `base_url`, ready; closed afterwards,
    and the test fails if the page threw an uncaught error meanwhile."""
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 860})
    context.set_default_timeout(timeout_ms)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(base_url + "/")
        wait_ready(page)
        yield page
    finally:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"
