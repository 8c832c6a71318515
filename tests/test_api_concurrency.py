"""A real uvicorn server on loopback: 8 clients at once get correct answers and /healthz stays fast."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from websockets.sync.client import connect

from backend.app import create_app
from backend.local_server import serve_in_background
from tests.helpers import label_png, server_settings
from tests.helpers.tiny_models import SPADE_ID

CLIENTS = 8
REQUESTS_EACH = 4
HEALTHZ_BOUND_S = 1.0  # generous for a shared CI core; the 100 ms goal is checked by the load test


@pytest.fixture(scope="module")
def base_url(tiny_weights):
    with serve_in_background(create_app(server_settings(tiny_weights))) as url:
        yield url


def client_input(index: int) -> bytes:
    # Large maps make each request spend real time decoding and resizing, so the runs overlap.
    return label_png(np.random.default_rng(index).integers(0, 8, (768, 768)))


class HealthProbe:
    """Polls /healthz from its own thread while the load runs; keeps the slowest answer."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.slowest = 0.0
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=10) as http:
            while not self._stop.wait(0.02):
                start = time.perf_counter()
                if http.get("/healthz").status_code != 200:
                    self.failures += 1
                self.slowest = max(self.slowest, time.perf_counter() - start)

    def __enter__(self) -> "HealthProbe":
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._stop.set()
        self._thread.join()


@pytest.mark.timeout(120)
def test_eight_http_clients_get_their_own_correct_answers(base_url):
    inputs = [client_input(i) for i in range(CLIENTS)]
    with httpx.Client(base_url=base_url, timeout=60) as http:
        expected = [http.post("/translate", files={"image": ("i.png", data, "image/png")},
                              data={"seed": str(i)}).content for i, data in enumerate(inputs)]

    def paint(index: int) -> list[bytes]:
        with httpx.Client(base_url=base_url, timeout=60) as http:
            return [http.post("/translate", files={"image": ("i.png", inputs[index], "image/png")},
                              data={"seed": str(index)}).content for _ in range(REQUESTS_EACH)]

    with HealthProbe(base_url) as probe, ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(paint, range(CLIENTS)))
    for index, received in enumerate(answers):
        assert all(answer == expected[index] for answer in received), f"client {index} got another answer"
    assert probe.failures == 0
    assert probe.slowest < HEALTHZ_BOUND_S, f"/healthz took {probe.slowest:.3f} s under load"


@pytest.mark.timeout(120)
def test_eight_painters_over_websockets_each_get_their_last_frame(base_url):
    ws_url = base_url.replace("http://", "ws://") + "/ws"
    frames_each = 15

    def paint(index: int) -> tuple[int, int]:
        frames = [client_input(index * 100 + k) for k in range(3)]
        with connect(ws_url, max_size=None) as ws:
            ws.send(json.dumps({"type": "config", "model": SPADE_ID, "seed": index}))
            assert json.loads(ws.recv(timeout=30))["ok"]
            for k in range(frames_each):
                ws.send(frames[k % len(frames)])
            answers, last = 0, 0
            while last < frames_each:
                png = ws.recv(timeout=30)
                assert isinstance(png, bytes), png
                last = json.loads(ws.recv(timeout=30))["frame"]
                answers += 1
            return answers, last

    with HealthProbe(base_url) as probe, ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(paint, range(CLIENTS)))
    assert all(last == frames_each for _, last in results)
    assert sum(answers for answers, _ in results) < CLIENTS * frames_each
    assert probe.slowest < HEALTHZ_BOUND_S, f"/healthz took {probe.slowest:.3f} s under load"
