"""The entry points: `python -m backend` serves, `python -m backend.benchmark` reports."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from backend.benchmark import print_table, run_benchmark
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
    assert all(row["p50_ms"] > 0 for row in report["models"].values())
    for name in ("translate_round_trip", "ws_frame_round_trip"):
        assert report[name]["model"] == SPADE_ID and report[name]["p50_ms"] > 0
    assert report["torch"] == {"skipped": "not requested (--no-torch)"}
    print_table(report)
    assert "overhead above model time" in capsys.readouterr().out


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
