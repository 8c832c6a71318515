"""`python -m backend.benchmark [--json] [--weights DIR]`: where the time goes, measured on this machine.

1. p50/p95 of every loaded model at 256x256 in onnxruntime (2 intra-op threads);
2. the /translate round trip and the WebSocket frame round trip over loopback (server in-process), with the
   overhead above model time;
3. each hybrid model's stages against issue #14's budgets: composing the canvas, the refiner, and a live
   WebSocket frame end to end (decode, compose, refine, encode);
4. `torch_comparisons()`: the same SPADE in PyTorch eager and the paper-size SPADE, when torch and
   `model_training` are importable (skipped otherwise, with the reason).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image
from websockets.sync.client import connect

from backend.app import create_app
from backend.engine import InferenceEngine, LoadedModel, hybrid_feeds
from backend.imaging import encode_png
from backend.interface import class_bands, signature_for, warmup_feeds
from backend.local_server import serve_in_background
from backend.pipeline import StyleChoice, resolve_style
from backend.settings import Settings

SIZE = 256
THREADS = 2
WARMUP_RUNS = 3
TIMED_RUNS = 30
HYBRID_BUDGETS_MS = {"compose": 30.0, "refiner": 40.0, "live_frame": 80.0}  # p50 at 256x256, issue #14


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    return {"p50_ms": round(float(np.percentile(samples_ms, 50)), 2),
            "p95_ms": round(float(np.percentile(samples_ms, 95)), 2)}


def model_latency(engine: InferenceEngine, model: LoadedModel, runs: int) -> dict[str, float]:
    """Time inside onnxruntime for one model at SIZE x SIZE."""
    feeds = warmup_feeds(model.card, signature_for(model.card), model.z_dim, size=SIZE)
    for _ in range(WARMUP_RUNS):
        engine.run(model, "generator", feeds, None)
    return percentiles([engine.run(model, "generator", feeds, None)[1] for _ in range(runs)])


def sample_labels(model: LoadedModel) -> np.ndarray:
    """uint8 [SIZE, SIZE]: horizontal bands of the model's first four classes."""
    return class_bands(model.card, SIZE, classes=4)


def sample_input(model: LoadedModel) -> bytes:
    """A valid upload for the model: bands of its first classes, a grey sketch, or a noise photo."""
    rng = np.random.default_rng(0)
    if model.card.input_kind == "labels":
        return encode_png(Image.fromarray(sample_labels(model)))
    if model.card.input_kind == "sketch":
        return encode_png(Image.fromarray(np.full((SIZE, SIZE), 255, np.uint8)))
    return encode_png(Image.fromarray(rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)))


def http_round_trip(base_url: str, model: LoadedModel, runs: int) -> dict[str, float]:
    upload = sample_input(model)
    totals, overheads = [], []
    with httpx.Client(base_url=base_url, timeout=60) as http:
        for index in range(WARMUP_RUNS + runs):
            start = time.perf_counter()
            response = http.post("/translate", data={"model": model.id},
                                 files={"image": ("input.png", upload, "image/png")})
            total = (time.perf_counter() - start) * 1000
            response.raise_for_status()
            if index >= WARMUP_RUNS:
                totals.append(total)
                overheads.append(total - float(response.headers["X-Model-Ms"]))
    return percentiles(totals) | {"overhead_p50_ms": round(float(np.percentile(overheads, 50)), 2)}


def ws_round_trip(base_url: str, model: LoadedModel, runs: int) -> dict[str, float]:
    upload = sample_input(model)
    totals, overheads = [], []
    with connect(base_url.replace("http://", "ws://") + "/ws", max_size=None) as ws:
        ws.send(json.dumps({"type": "config", "model": model.id}))
        json.loads(ws.recv(timeout=30))
        for index in range(WARMUP_RUNS + runs):
            start = time.perf_counter()
            ws.send(upload)
            ws.recv(timeout=60)
            result = json.loads(ws.recv(timeout=60))
            total = (time.perf_counter() - start) * 1000
            if index >= WARMUP_RUNS:
                totals.append(total)
                overheads.append(total - result["model_ms"])
    return percentiles(totals) | {"overhead_p50_ms": round(float(np.percentile(overheads, 50)), 2)}


def hybrid_stages(engine: InferenceEngine, model: LoadedModel, runs: int) -> dict[str, dict[str, float]]:
    """Composing the canvas (numpy) and refining it (onnxruntime) at SIZE x SIZE, in the painter's default
    style and one seed: repeated frames of a live painting, so the bank photos are already decoded."""
    labels, style = sample_labels(model), resolve_style(model, StyleChoice())[0]
    compose_ms = []
    for index in range(WARMUP_RUNS + runs):
        start = time.perf_counter()
        feeds = hybrid_feeds(model.card, model.bank, labels, style, seed=0)
        if index >= WARMUP_RUNS:
            compose_ms.append((time.perf_counter() - start) * 1000)
    for _ in range(WARMUP_RUNS):
        engine.run(model, "generator", feeds, None)
    refiner_ms = [engine.run(model, "generator", feeds, None)[1] for _ in range(runs)]
    return {"compose": percentiles(compose_ms), "refiner": percentiles(refiner_ms)}


def torch_comparisons(shipped_spade_p50_ms: float | None) -> dict[str, Any]:
    """PyTorch eager and paper-size SPADE timings from `model_training.benchmarks.spade_comparison()`.

    That function returns {label: {"p50_ms": ..., "p95_ms": ...}}; each row gets its ratio to the shipped
    SPADE ONNX p50. Without torch or model_training this reports why it was skipped.
    """
    try:
        from model_training.benchmarks import spade_comparison
    except ImportError as exc:
        return {"skipped": f"torch comparison unavailable ({exc})"}
    rows = spade_comparison()
    if shipped_spade_p50_ms:
        for row in rows.values():
            row["ratio_to_shipped_onnx"] = round(row["p50_ms"] / shipped_spade_p50_ms, 1)
    return rows


def run_benchmark(weights_dir: Path, runs: int, compare_torch: bool = True) -> dict[str, Any]:
    engine = InferenceEngine.load(weights_dir, intra_op_threads=THREADS, max_concurrent_runs=1)
    ready = engine.ready_models()
    report: dict[str, Any] = {"size": SIZE, "threads": THREADS, "runs": runs,
                              "models": {m.id: {"kind": m.card.kind} | model_latency(engine, m, runs) for m in ready},
                              "failed": {m.id: m.error for m in engine.models.values() if not m.ready}}
    default = engine.default_translator()
    hybrids = [m for m in ready if m.card.kind == "hybrid"]
    report["hybrid"] = {m.id: hybrid_stages(engine, m, runs) for m in hybrids}
    if default is not None:
        settings = Settings(weights_dir=weights_dir, intra_op_threads=THREADS, log_level="WARNING")
        with serve_in_background(create_app(settings, engine)) as base_url:
            report["translate_round_trip"] = {"model": default.id} | http_round_trip(base_url, default, runs)
            report["ws_frame_round_trip"] = {"model": default.id} | ws_round_trip(base_url, default, runs)
            for model in hybrids:
                report["hybrid"][model.id]["live_frame"] = ws_round_trip(base_url, model, runs)
    spade = next((m for m in ready if m.card.kind == "spade"), None)
    if compare_torch:
        report["torch"] = torch_comparisons(report["models"][spade.id]["p50_ms"] if spade else None)
    else:
        report["torch"] = {"skipped": "not requested (--no-torch)"}
    return report


def print_table(report: dict[str, Any]) -> None:
    print(f"onnxruntime at {report['size']}x{report['size']}, {report['threads']} threads, {report['runs']} runs")
    print(f"{'model':32} {'kind':10} {'p50 ms':>8} {'p95 ms':>8}")
    for model_id, row in report["models"].items():
        print(f"{model_id:32} {row['kind']:10} {row['p50_ms']:8.2f} {row['p95_ms']:8.2f}")
    for model_id, error in report["failed"].items():
        print(f"{model_id:32} failed: {error}")
    if not report["models"]:
        print("no model loaded — put ONNX models and cards in the weights folder")
    for name in ("translate_round_trip", "ws_frame_round_trip"):
        if name in report:
            row = report[name]
            print(f"{name:32} {row['model']:10} {row['p50_ms']:8.2f} {row['p95_ms']:8.2f}"
                  f"   overhead above model time p50 {row['overhead_p50_ms']:.2f} ms")
    for model_id, stages in report["hybrid"].items():
        for stage, row in stages.items():
            budget = HYBRID_BUDGETS_MS[stage]
            verdict = "within budget" if row["p50_ms"] <= budget else "OVER BUDGET"
            print(f"{model_id + ' ' + stage:43} {row['p50_ms']:8.2f} {row['p95_ms']:8.2f}"
                  f"   budget p50 <= {budget:g} ms: {verdict}")
    torch_rows = report["torch"]
    if "skipped" in torch_rows:
        print(f"torch comparison: skipped: {torch_rows['skipped']}")
    else:
        for label, row in torch_rows.items():
            ratio = f"   {row['ratio_to_shipped_onnx']}x the shipped ONNX" if "ratio_to_shipped_onnx" in row else ""
            print(f"{label:43} {row['p50_ms']:8.2f} {row['p95_ms']:8.2f}{ratio}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m backend.benchmark", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--weights", type=Path, help="weights folder (default: WEIGHTS_DIR or <repo>/weights)")
    parser.add_argument("--runs", type=int, default=TIMED_RUNS, help="timed runs per measurement")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch and paper-size SPADE rows")
    args = parser.parse_args(argv)
    report = run_benchmark(args.weights or Settings().weights_dir, args.runs, compare_torch=not args.no_torch)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)


if __name__ == "__main__":
    main()
