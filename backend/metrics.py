"""Prometheus text-format metrics, kept by hand: request counts and per-model run latency histograms."""

from __future__ import annotations

import threading
from collections import Counter

# Seconds; spans a tiny test model on a GPU to a paper-size SPADE on a laptop CPU.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{key}="{_escape(str(value))}"' for key, value in labels.items()) + "}"


class _Histogram:
    def __init__(self) -> None:
        self.bucket_counts = [0] * len(LATENCY_BUCKETS)
        self.count = 0
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.count += 1
        self.total += seconds
        for index, bound in enumerate(LATENCY_BUCKETS):
            if seconds <= bound:
                self.bucket_counts[index] += 1


class Metrics:
    """Thread-safe: model runs are observed from worker threads, requests from the event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str, int]] = Counter()
        self._ws_frames: Counter[str] = Counter()
        self._model_runs: dict[str, _Histogram] = {}

    def count_request(self, route: str, method: str, status: int) -> None:
        with self._lock:
            self._requests[(route, method, status)] += 1

    def count_ws_frame(self, outcome: str) -> None:
        with self._lock:
            self._ws_frames[outcome] += 1

    def observe_model_run(self, model_id: str, seconds: float) -> None:
        with self._lock:
            self._model_runs.setdefault(model_id, _Histogram()).observe(seconds)

    def render(self, model_states: dict[str, str]) -> str:
        lines = ["# HELP gaugan_http_requests_total HTTP requests by route template, method and status.",
                 "# TYPE gaugan_http_requests_total counter"]
        with self._lock:
            for (route, method, status), count in sorted(self._requests.items()):
                lines.append(f"gaugan_http_requests_total{_labels(route=route, method=method, status=str(status))}"
                             f" {count}")
            lines += ["# HELP gaugan_ws_frames_total WebSocket frames by outcome.",
                      "# TYPE gaugan_ws_frames_total counter"]
            for outcome, count in sorted(self._ws_frames.items()):
                lines.append(f"gaugan_ws_frames_total{_labels(outcome=outcome)} {count}")
            lines += ["# HELP gaugan_model_run_seconds Time inside onnxruntime per model run.",
                      "# TYPE gaugan_model_run_seconds histogram"]
            for model_id, histogram in sorted(self._model_runs.items()):
                for bound, count in zip(LATENCY_BUCKETS, histogram.bucket_counts):
                    lines.append(f"gaugan_model_run_seconds_bucket{_labels(model=model_id, le=repr(bound))} {count}")
                lines.append(f"gaugan_model_run_seconds_bucket{_labels(model=model_id, le='+Inf')} {histogram.count}")
                lines.append(f"gaugan_model_run_seconds_sum{_labels(model=model_id)} {histogram.total:.6f}")
                lines.append(f"gaugan_model_run_seconds_count{_labels(model=model_id)} {histogram.count}")
        lines += ["# HELP gaugan_model_ready 1 when the model is loaded and serving, 0 when it failed.",
                  "# TYPE gaugan_model_ready gauge"]
        for model_id, state in sorted(model_states.items()):
            lines.append(f"gaugan_model_ready{_labels(model=model_id)} {1 if state == 'ready' else 0}")
        return "\n".join(lines) + "\n"
