"""The entry points: `python -m backend` serves, `python -m backend.benchmark` reports."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from backend.benchmark import efficiency_and_goals, print_table, run_benchmark
from tests.helpers.server import free_port, wait_until_healthy
from tests.helpers.tiny_models import SPADE_ID

REPO = Path(__file__).resolve().parent.parent



def serve(weights: Path, port: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "backend", "--weights", str(weights), "--port", str(port)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)



def stop(process: subprocess.Popen) -> str:
    process.terminate()
    output, _ = process.communicate(timeout=30)
    return output


@pytest.mark.timeout(120)
def test_python_m_backend_serves_the_weights_folder(tiny_weights):
    port = free_port()
    process = serve(tiny_weights, port)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, process)
        assert httpx.get(f"{url}/models").json()["default_model"] == SPADE_ID
        assert httpx.get(f"{url}/").status_code == 200
    finally:
        output = stop(process)
    assert f"http://127.0.0.1:{port}/" in output
    assert SPADE_ID in output


@pytest.mark.timeout(120)
def test_python_m_backend_without_models_says_so(tmp_path):
    port = free_port()
    process = serve(tmp_path, port)
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", process)
    finally:
        output = stop(process)
    assert f"no model loaded — put ONNX models and cards in {tmp_path}" in output


@pytest.mark.timeout(120)
def test_benchmark_reports_every_model_and_the_round_trips(tiny_weights, capsys):
    # The torch rows export a paper-size SPADE (~140 GMACs): a benchmark's job, too slow for a test.
    report = run_benchmark(tiny_weights, runs=3, compare_torch=False)
    assert set(report["models"]) >= {SPADE_ID} and not report["failed"]
    # The tiny models' cards round their GMACs to 0.0, so only the columns' presence is checked here.
    assert all(row["p50_ms"] > 0 and row["gmac_per_s"] >= 0 for row in report["models"].values())
    for name in ("translate_round_trip", "ws_frame_round_trip"):
        assert report[name]["model"] == SPADE_ID and report[name]["p50_ms"] > 0
    assert report["torch"] == {"skipped": "not requested (--no-torch)"}
    # Without the paper-size row there is no speed-up to judge, but the time and overhead goals still are.
    goals = report["efficiency"]["goals"]
    assert set(goals) == {"SPADE p50 <= 60 ms", "translate_round_trip overhead p50 <= 15 ms",
                          "ws_frame_round_trip overhead p50 <= 15 ms"}
    assert goals["SPADE p50 <= 60 ms"] == {"value": report["models"][SPADE_ID]["p50_ms"],
                                           "met": report["models"][SPADE_ID]["p50_ms"] <= 60}
    print_table(report)
    printed = capsys.readouterr().out
    assert "overhead above model time" in printed and "GMAC/s" in printed and "goal SPADE p50 <= 60 ms" in printed


def test_efficiency_compares_the_shipped_spade_with_the_paper_size_row():
    report = {"models": {"spade": {"kind": "spade", "p50_ms": 40.0, "gmac_per_s": 60.0}},
              "torch": {"paper": {"p50_ms": 1600.0, "gmac_per_s": 80.0, "paper_size": True},
                        "eager": {"p50_ms": 160.0, "gmac_per_s": 15.0}},
              "translate_round_trip": {"overhead_p50_ms": 16.0}}
    efficiency = efficiency_and_goals(report)
    assert efficiency["speedup_over_paper_size"] == 40.0
    assert efficiency["gmac_per_s_share_of_paper_size"] == 0.75
    assert {goal: row["met"] for goal, row in efficiency["goals"].items()} == {
        "SPADE p50 <= 60 ms": True, "SPADE >= 30x faster than paper-size": True,
        "translate_round_trip overhead p50 <= 15 ms": False}


@pytest.mark.timeout(180)
def test_make_run_serves_the_painter(tiny_weights):
    """The README's first command: `make run` (HOST, PORT and WEIGHTS overridable) serves / and /healthz."""
    port = free_port()
    process = subprocess.Popen(["make", "--no-print-directory", "run", "HOST=127.0.0.1", f"PORT={port}",
                                f"WEIGHTS={tiny_weights}"], cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, process, timeout_s=150)
        page = httpx.get(f"{url}/")
        assert page.status_code == 200 and "data-testid=\"label-canvas\"" in page.text
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.communicate(timeout=30)
