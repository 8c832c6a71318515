"""Accessibility of the painter in a real browser: an axe-core audit (WCAG 2.1 A and AA) on a desktop and a
phone, and the whole painter used with the keyboard alone, down to choosing a label and painting a region.

axe-core is the npm package pinned in package.json (installed by `make test` with `npm ci`).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.helpers.browser import (
    REPO_ROOT, canvas_colours, wait_for_output_change, wait_for_settled_output,
    wait_ready,
)
from tests.helpers.tiny_models import SKETCH_ID

pytest.importorskip("playwright.sync_api")
AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]

WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 860}},
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
              "has_touch": True},
}


def open_painter(browser, server: str, device: str):
    context = browser.new_context(**VIEWPORTS[device])
    context.set_default_timeout(15000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server + "/")
    wait_ready(page)
    wait_for_settled_output(page)
    return context, page, errors


def axe_violations(page) -> list[dict]:
    """Every WCAG 2.1 A/AA violation axe-core finds in the page as it is now."""
    assert AXE.is_file(), f"{AXE} is missing: run `npm ci` (make test does)"
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate("""async (tags) => {
        const results = await axe.run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] });
        return results.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })) }));
    }""", WCAG_21_AA)


def describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        lines.extend(f"    {node['target']}: {node['summary']}" for node in violation["nodes"][:6])
    return "\n".join(lines)


@pytest.mark.parametrize("device", list(VIEWPORTS))
def test_axe_finds_no_wcag_violation(browser, server: str, device: str):
    context, page, errors = open_painter(browser, server, device)
    try:
        violations = axe_violations(page)
        assert not violations, f"axe-core on the {device} painter:\n{describe(violations)}"
        # The same with an error on show and with the settings dialog open.
        page.evaluate("() => { document.getElementById('error-text').textContent = 'A test error.';"
                      " document.getElementById('error').hidden = false; }")
        violations = axe_violations(page)
        assert not violations, f"axe-core on the {device} painter showing an error:\n{describe(violations)}"
        page.get_by_test_id("settings").click()
        violations = axe_violations(page)
        assert not violations, f"axe-core on the {device} settings dialog:\n{describe(violations)}"
        page.keyboard.press("Escape")
        # The sketch model hides the palette and some tools.
        page.get_by_test_id("model-select").select_option(SKETCH_ID)
        wait_for_settled_output(page)
        violations = axe_violations(page)
        assert not violations, f"axe-core on the {device} painter with the sketch model:\n{describe(violations)}"
    finally:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


FOCUSED_JS = "() => { const a = document.activeElement; return a ? (a.id || a.dataset.testid || a.tagName) : null; }"
CONTROLS_JS = """() => [...document.querySelectorAll('button, select, input, textarea, a[href], [tabindex]')]
    .filter((e) => !e.disabled && e.tabIndex >= 0 && !e.closest('[hidden], dialog:not([open])')
                   && e.getClientRects().length > 0)
    .map((e) => e.id || e.dataset.testid || e.outerHTML.slice(0, 80))"""


def focused(page) -> str | None:
    return page.evaluate(FOCUSED_JS)


def tab_to(page, target: str, limit: int = 90) -> None:
    """Press Tab until `target` (an id or data-testid) has the focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused(page) == target:
            return
    raise AssertionError(f"Tab never reached {target}")


def test_tab_reaches_every_control(browser, server: str):
    context, page, errors = open_painter(browser, server, "desktop")
    try:
        controls = page.evaluate(CONTROLS_JS)
        assert "label-canvas" in controls and "label-water" in controls and "upload-photo" in controls
        reached = []
        for _ in range(len(controls) + 10):
            page.keyboard.press("Tab")
            reached.append(focused(page))
        assert set(controls) <= set(reached), f"never reached with Tab: {sorted(set(controls) - set(reached))}"
        # The settings dialog opens, works and closes from the keyboard.
        tab_to(page, "open-settings")
        page.keyboard.press("Enter")
        assert focused(page) == "api-key"
        page.keyboard.type("typed-key")
        page.keyboard.press("Escape")
        assert page.locator("#settings-dialog").evaluate("(d) => !d.open")
    finally:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


def test_keyboard_alone_chooses_labels_paints_and_fills(browser, server: str):
    context, page, errors = open_painter(browser, server, "desktop")
    try:
        sky, mountain, water = (page.get_by_test_id(f"label-{name}").get_attribute("title").split("(")[1][:7]
                                for name in ("sky", "mountain", "water"))
        # Clear the starter landscape: the fills below need one region of background.
        tab_to(page, "clear")
        page.keyboard.press("Enter")
        size, blank = canvas_colours(page)
        assert set(blank) == {sky}
        first_picture = wait_for_settled_output(page)

        # Choose a label from the palette, then draw a band across the canvas with the pen held down.
        tab_to(page, "label-mountain")
        page.keyboard.press("Space")
        assert page.get_by_test_id("label-mountain").get_attribute("aria-pressed") == "true"
        tab_to(page, "label-canvas")
        assert page.get_by_test_id("canvas-keys").is_visible(), "the keys are explained while the canvas has focus"
        page.keyboard.down("Space")
        for arrow in ["ArrowLeft"] * (size // 8) + ["ArrowRight"] * (size // 4):
            page.keyboard.press(arrow)
        page.keyboard.up("Space")
        _, banded = canvas_colours(page)
        middle_row = banded[(size // 2) * size:(size // 2 + 1) * size]
        assert set(middle_row) == {mountain}, "the band crosses the whole canvas"
        assert "mountain" in page.get_by_test_id("canvas-position").inner_text()

        # Choose water and the fill tool with the keyboard, move below the band and fill that region only.
        tab_to(page, "label-water")
        page.keyboard.press("Enter")
        tab_to(page, "tool-fill")
        page.keyboard.press("Enter")
        assert page.get_by_test_id("tool-fill").get_attribute("aria-pressed") == "true"
        tab_to(page, "label-canvas")
        for _ in range(3):
            page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        _, filled = canvas_colours(page)
        assert set(filled[: size * 4]) == {sky}, "the region above the band is untouched"
        assert set(filled[-size * 4:]) == {water}, "the region below the band is filled"
        assert Counter(filled)[mountain] == Counter(banded)[mountain]
        assert "water" in page.get_by_test_id("canvas-position").inner_text()
        wait_for_output_change(page, first_picture)

        # The eyedropper picks the band's label at the cursor; Ctrl+Z undoes the fill.
        page.keyboard.press("i")
        for _ in range(3):
            page.keyboard.press("ArrowUp")
        page.keyboard.press("Enter")
        assert page.get_by_test_id("label-mountain").get_attribute("aria-pressed") == "true"
        page.keyboard.press("Control+z")
        assert canvas_colours(page)[1] == banded
    finally:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"
