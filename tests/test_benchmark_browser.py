"""`python -m backend.benchmark --browser`: the painter's device engine in chromium, timed against native
onnxruntime and compared with the server's pictures, and one line saying why when it cannot run."""

from __future__ import annotations

import json

import pytest

from backend.benchmark import PARITY_GOAL_255, browser_comparison, print_browser, print_table, run_benchmark
from backend.browser import CHROMIUM
from backend.engine import InferenceEngine
from backend.routes.vendor import not_installed
from backend.settings import Settings
from tests.helpers.tiny_models import CYCLEGAN_ID, FACADES_ID, SEGMENTER_ID, SKETCH_ID, SPADE_ID

pytest.importorskip("playwright.sync_api")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Debian's chromium at {CHROMIUM}"),
]


@pytest.mark.timeout(120)
def test_browser_rows_time_the_page_engine_and_match_the_server(tiny_weights, capsys):
    report = run_benchmark(tiny_weights, runs=3, compare_torch=False, browser=True)
    browser = json.loads(json.dumps(report))["browser"]  # what --json prints
    # Headless chromium without a GPU has no WebGPU adapter; the isolation headers give WebAssembly threads.
    assert (browser["backend"], browser["notices"]) == ("wasm", []) and browser["threads"] >= 2
    rows = browser["models"]
    assert set(rows) == {SPADE_ID, FACADES_ID, SKETCH_ID, CYCLEGAN_ID, SEGMENTER_ID}
    for row in rows.values():
        assert 0 < row["p50_ms"] <= row["p95_ms"] and row["native_p50_ms"] > 0
        assert row["ratio_to_native"] == round(row["p50_ms"] / row["native_p50_ms"], 2)
    assert rows[SEGMENTER_ID]["labels_agreeing"] >= 0.99
    differences = [row["mean_abs_diff_255"] for model_id, row in rows.items() if model_id != SEGMENTER_ID]
    assert len(differences) == 4 and max(differences) <= PARITY_GOAL_255

    goals = report["efficiency"]["goals"]
    assert goals["browser <= 3x native for SPADE"]["value"] == rows[SPADE_ID]["ratio_to_native"]
    assert goals["browser pictures within 2/255 of the server's"] == {"value": max(differences), "met": True}
    print_table(report)
    printed = capsys.readouterr().out
    assert "onnxruntime-web wasm" in printed and "goal browser <= 3x native for SPADE" in printed


@pytest.mark.timeout(120)
def test_with_webgpu_on_the_page_passes_a_software_adapter_over_and_says_so(tiny_weights):
    engine = InferenceEngine.load(tiny_weights, intra_op_threads=1, max_concurrent_runs=1)
    native = {m.id: {"p50_ms": 1.0} for m in engine.ready_models()}
    browser = browser_comparison(engine, Settings(weights_dir=tiny_weights), native, runs=1, webgpu=True)
    # This machine has no GPU: chromium's WebGPU adapter is SwiftShader, slower than WebAssembly.
    assert browser["backend"] == "wasm"
    assert any("software renderer (swiftshader)" in notice for notice in browser["notices"]), browser["notices"]
    assert set(browser["models"]) == {SPADE_ID, FACADES_ID, SKETCH_ID, CYCLEGAN_ID, SEGMENTER_ID}


def test_without_chromium_or_onnxruntime_web_the_report_says_why_in_one_line(tiny_weights, tmp_path, monkeypatch,
                                                                           capsys):
    engine = InferenceEngine.load(tiny_weights, intra_op_threads=1, max_concurrent_runs=1)
    no_runtime = Settings(weights_dir=tiny_weights, vendor_dir=tmp_path / "no-onnxruntime-web")
    with monkeypatch.context() as patch:
        patch.setattr("backend.browser.CHROMIUM", tmp_path / "no-chromium")
        print_browser(browser_comparison(engine, no_runtime, {}, runs=1))
    print_browser(browser_comparison(engine, no_runtime, {}, runs=1))
    assert capsys.readouterr().out.splitlines() == [
        f"browser rows skipped: no chromium at {tmp_path / 'no-chromium'} (apt-get install chromium)",
        f"browser rows skipped: {not_installed(tmp_path / 'no-onnxruntime-web')}"]
