"""SPADE timings that need torch, for `python -m backend.benchmark`: the shipped SPADE architecture in
PyTorch eager, the SPADE teacher it was distilled from and the paper-size SPADE (ngf 64,
nhidden 128), each exported the same way, with each one's GMACs at 256x256 so the benchmark can report
GMAC/s. Random weights: only the architecture sets the time."""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from backend.engine import session_options
from model_training.config import REPO_ROOT, SpadeModelConfig, load_config
from model_training.export import LabelsToImage, export_graph, strip_spectral_norm
from model_training.models.spade import SPADEGenerator
from model_training.profile import count_gmacs

SIZE, THREADS, WARMUP, RUNS = 256, 2, 2, 10
SHIPPED_CONFIG = REPO_ROOT / "model_training" / "configs" / "spade-landscape.toml"
CLASSES = 8
PAPER_SIZE_ROW = "paper-size SPADE (ngf 64, nhidden 128), onnxruntime"


def _percentiles(samples: list[float]) -> dict[str, float]:
    return {"p50_ms": round(float(np.percentile(samples, 50)), 2), "p95_ms": round(float(np.percentile(samples, 95)), 2)}


def _time(fn) -> dict[str, float]:
    for _ in range(WARMUP):
        fn()
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return _percentiles(samples)


def _graph(cfg: SpadeModelConfig) -> LabelsToImage:
    return LabelsToImage(strip_spectral_norm(SPADEGenerator(CLASSES, cfg)).eval(), CLASSES, with_style=True).eval()


def _inputs(cfg: SpadeModelConfig) -> dict[str, torch.Tensor]:
    return {"labels": torch.randint(0, CLASSES, (1, 1, SIZE, SIZE)), "style": torch.randn(1, cfg.z_dim)}


def _gmacs(graph: LabelsToImage, inputs: dict[str, torch.Tensor]) -> dict[str, float]:
    return {"gmacs": round(count_gmacs(graph, *inputs.values()), 3)}


def _onnx_latency(cfg: SpadeModelConfig, folder: Path, name: str) -> dict[str, float]:
    import onnxruntime as ort

    path = folder / f"{name}.onnx"
    graph, inputs = _graph(cfg), _inputs(cfg)
    export_graph(graph, inputs, ["image"], path)
    # The server's session options, so the rows compare with the shipped model's benchmark row.
    session = ort.InferenceSession(str(path), session_options(THREADS), providers=["CPUExecutionProvider"])
    feeds = {k: v.numpy() for k, v in inputs.items()}
    return _time(lambda: session.run(None, feeds)) | _gmacs(graph, inputs)


def spade_comparison() -> dict[str, dict[str, float]]:
    torch.set_num_threads(THREADS)
    # Fixed random weights and inputs: a deep random network's float noise can exceed the export's parity
    # tolerance for an unlucky draw, and the timings should not vary with the draw either.
    torch.manual_seed(0)
    shipped = load_config(SHIPPED_CONFIG).model
    rows = {}
    graph, inputs = _graph(shipped), _inputs(shipped)
    with torch.no_grad():
        rows[f"shipped architecture (ngf {shipped.ngf}, {shipped.modulation}), PyTorch eager"] = \
            _time(lambda: graph(*inputs.values())) | _gmacs(graph, inputs)
    with tempfile.TemporaryDirectory() as folder:
        teacher = replace(shipped, modulation="spade", separable=True)
        rows[f"its SPADE teacher (separable gamma/beta convs, nhidden {teacher.nhidden}), onnxruntime"] = \
            _onnx_latency(teacher, Path(folder), "teacher")
        paper = SpadeModelConfig(ngf=64, nhidden=128, z_dim=shipped.z_dim, num_up=5)
        rows[PAPER_SIZE_ROW] = _onnx_latency(paper, Path(folder), "paper")
    return rows
