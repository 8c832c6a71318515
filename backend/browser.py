"""Debian's chromium, headless through Playwright, with the painter's device engine (frontend/js/device/)
loaded in a page of the painter's origin: for `python -m backend.benchmark --browser` and the browser tests.

Playwright is a test dependency, not the server's, so it is imported only when a browser is launched.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from backend.isolation import ISOLATION_HEADERS
from backend.routes.vendor import not_installed

CHROMIUM = Path("/usr/bin/chromium")
# `playwright install` cannot download browsers here; the system chromium runs headless without a sandbox.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
# An empty document at the painter's origin, with its isolation headers (so WebAssembly gets threads): the
# painter's own page would start painting at load and compete with the timed runs for the CPU.
ENGINE_PAGE_PATH = "/device-engine"
ENGINE_PAGE_HTML = "<!doctype html><title>device engine</title>"

LOAD_ENGINE_JS = """async () => {
  const { DevicePainter } = await import("/js/device/painter.js");
  const notices = [];
  const painter = new DevicePainter({ onProgress() {}, onNotice: (text) => notices.push(text), onResult() {}, onError() {} });
  await painter.load();
  if (painter.problem) throw new Error(painter.problem);
  const { backend, threads } = await painter.runtime();
  globalThis.deviceEngine = painter.engine;
  return { backend, threads, notices };
}"""

# One engine call per run, as the painter makes it: "translate" a drawing of class ids, "sketch" a grey sketch
# (dark = ink), "filter" RGBA pixels through a CycleGAN, "segment" RGBA pixels. Returns each run's
# milliseconds and the last run's bytes (RGBA, or class ids), base64.
TIME_ENGINE_JS = """async ({ modelId, call, input, size, style, warmups, runs }) => {
  const { SKETCH_INK, SKETCH_PAPER } = await import("/js/palette.js");
  const engine = globalThis.deviceEngine;
  const bytes = Uint8Array.from(atob(input), (c) => c.charCodeAt(0));
  const sketch = bytes.map((grey) => (grey < 128 ? SKETCH_INK : SKETCH_PAPER));
  const calls = {
    translate: () => engine.translate({ modelId, drawing: bytes, style }).then((r) => r.rgba),
    sketch: () => engine.translate({ modelId, drawing: sketch }).then((r) => r.rgba),
    filter: () => engine.filter(modelId, bytes, size).then((r) => r.rgba),
    segment: () => engine.segment(modelId, bytes, size, size),
  };
  for (let i = 0; i < warmups; i += 1) await calls[call]();
  const times = [];
  let output;
  for (let i = 0; i < runs; i += 1) {
    const started = performance.now();
    output = await calls[call]();
    times.push(performance.now() - started);
  }
  let text = "";
  for (const byte of output) text += String.fromCharCode(byte);
  return { times, output: btoa(text) };
}"""


def browser_unavailable(vendor_dir: Path) -> str | None:
    """Why the page's engine cannot run in chromium on this machine, or None when it can."""
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install -e '.[test]')"
    if not CHROMIUM.is_file():
        return f"no chromium at {CHROMIUM} (apt-get install chromium)"
    if not vendor_dir.is_dir():
        return not_installed(vendor_dir)
    return None


def chromium_args(webgpu: bool = False) -> list[str]:
    """CHROMIUM_ARGS, or with `webgpu` the GPU process on and WebGPU enabled (Linux chromium needs the flag).
    Without a GPU, WebGPU's adapter is then SwiftShader, a software (fallback) adapter."""
    if not webgpu:
        return CHROMIUM_ARGS
    return [arg for arg in CHROMIUM_ARGS if arg != "--disable-gpu"] + ["--enable-unsafe-webgpu"]


def launch_chromium(playwright, webgpu: bool = False):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=chromium_args(webgpu))


class EnginePage:
    """The painter's device engine in a chromium page; `runtime` is what it chose:
    {"backend": "webgpu" | "wasm", "threads": n, "notices": [...]}."""

    def __init__(self, page, runtime: dict[str, Any]) -> None:
        self.page = page
        self.runtime = runtime

    def time_call(self, model_id: str, call: str, data: bytes, size: int, style: dict | None,
                  warmups: int, runs: int) -> tuple[list[float], bytes]:
        """Milliseconds of each timed engine call (see TIME_ENGINE_JS), and the last call's output bytes."""
        result = self.page.evaluate(TIME_ENGINE_JS, {
            "modelId": model_id, "call": call, "input": base64.b64encode(data).decode(), "size": size,
            "style": style, "warmups": warmups, "runs": runs})
        return result["times"], base64.b64decode(result["output"])


@contextlib.contextmanager
def engine_page(base_url: str, webgpu: bool = False) -> Iterator[EnginePage]:
    """Chromium (see chromium_args) on the painter served at `base_url`, the device engine loaded from its
    manifest."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, webgpu)
        try:
            page = browser.new_page()
            page.route(base_url + ENGINE_PAGE_PATH, lambda route: route.fulfill(
                status=200, content_type="text/html", headers=ISOLATION_HEADERS, body=ENGINE_PAGE_HTML))
            page.goto(base_url + ENGINE_PAGE_PATH)
            yield EnginePage(page, page.evaluate(LOAD_ENGINE_JS))
        finally:
            browser.close()
