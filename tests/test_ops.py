"""Operations: API key, CORS, rate limit, /metrics, structured logs, a model run that raises."""

from __future__ import annotations

import json
import logging
import re

import pytest
from starlette.websockets import WebSocketDisconnect

from backend.logs import JsonFormatter
from backend.security import RateLimiter
from tests.helpers import label_png, make_client, photo_png, stripes
from tests.helpers.tiny_models import FACADES_ID, SPADE_ID

FRAME = label_png(stripes(64, 64, [0, 1]))
KEY = "s3cret-key"


def translate(client, headers=None, **fields):
    return client.post("/translate", files={"image": ("f.png", FRAME, "image/png")}, data=fields, headers=headers)


def test_api_key_guards_the_work_routes_only(tiny_weights):
    with make_client(tiny_weights, api_key=KEY) as client:
        for path in ("/healthz", "/readyz", "/models", "/", "/docs", "/openapi.json"):
            assert client.get(path).status_code == 200, path
        denied = translate(client)
        assert denied.status_code == 401 and "API key" in denied.json()["detail"]
        assert translate(client, headers={"X-API-Key": "wrong"}).status_code == 401
        assert translate(client, headers={"X-API-Key": KEY}).status_code == 200
        for route in ("/segment", "/sketch", "/style-code"):
            response = client.post(route, files={"image": ("p.png", photo_png(), "image/png")})
            assert response.status_code == 401, route
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"X-API-Key": KEY}).status_code == 200


def test_api_key_guards_the_websocket(tiny_weights):
    with make_client(tiny_weights, api_key=KEY) as client:
        with pytest.raises(WebSocketDisconnect) as refused:
            with client.websocket_connect("/ws"):
                pass
        assert refused.value.code == 1008
        with pytest.raises(WebSocketDisconnect):
            with client.websocket_connect("/ws?api_key=wrong"):
                pass
        for url, headers in ((f"/ws?api_key={KEY}", {}), ("/ws", {"X-API-Key": KEY})):
            with client.websocket_connect(url, headers=headers) as ws:
                ws.send_bytes(FRAME)
                assert ws.receive_bytes()


def test_no_api_key_means_open(tiny_weights):
    with make_client(tiny_weights) as client:
        assert translate(client).status_code == 200
        assert client.get("/metrics").status_code == 200


def test_cors_is_same_origin_by_default(tiny_weights):
    with make_client(tiny_weights) as client:
        response = client.get("/models", headers={"Origin": "https://elsewhere.example"})
        assert "access-control-allow-origin" not in response.headers


def test_cors_allow_list(tiny_weights, monkeypatch):
    monkeypatch.setenv("CORS_ORIGINS", "https://paint.example, https://other.example")
    with make_client(tiny_weights) as client:
        allowed = client.get("/models", headers={"Origin": "https://paint.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://paint.example"
        refused = client.get("/models", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in refused.headers
        preflight = client.options("/translate", headers={"Origin": "https://other.example",
                                                          "Access-Control-Request-Method": "POST",
                                                          "Access-Control-Request-Headers": "X-API-Key"})
        assert preflight.status_code == 200
        assert "x-api-key" in preflight.headers["access-control-allow-headers"].lower()


def test_rate_limit_answers_429_with_retry_after(tiny_weights):
    with make_client(tiny_weights, rate_limit_per_minute=3) as client:
        assert [translate(client).status_code for _ in range(3)] == [200, 200, 200]
        limited = translate(client)
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) >= 1
        assert "rate limit" in limited.json()["detail"]
        assert client.get("/healthz").status_code == 200  # cheap routes are never limited
        with client.websocket_connect("/ws") as ws:
            ws.send_bytes(FRAME)
            error = ws.receive_json()
            assert error["status"] == 429 and error["frame"] == 1 and error["retry_after"] >= 1


def test_token_bucket_refills_over_time():
    now = [0.0]
    limiter = RateLimiter(per_minute=60, clock=lambda: now[0])
    assert all(limiter.acquire("a") == 0 for _ in range(60))
    assert limiter.acquire("a") == pytest.approx(1.0)
    assert limiter.acquire("b") == 0  # buckets are per client
    now[0] += 2.0
    assert limiter.acquire("a") == 0
    assert RateLimiter(per_minute=0).acquire("a") == 0  # 0 = off


def test_metrics_are_prometheus_text(tiny_weights):
    with make_client(tiny_weights) as client:
        translate(client)
        translate(client, model="nope")
        client.get("/models/../../etc/passwd")
        with client.websocket_connect("/ws") as ws:
            ws.send_bytes(FRAME)
            ws.receive_bytes()
            ws.receive_json()
        response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert 'gaugan_http_requests_total{route="/translate",method="POST",status="200"} 1' in text
    assert 'gaugan_http_requests_total{route="/translate",method="POST",status="404"} 1' in text
    assert 'gaugan_ws_frames_total{outcome="answered"} 1' in text
    assert f'gaugan_model_run_seconds_count{{model="{SPADE_ID}"}} 2' in text
    assert f'gaugan_model_run_seconds_bucket{{model="{SPADE_ID}",le="+Inf"}} 2' in text
    assert f'gaugan_model_ready{{model="{FACADES_ID}"}} 1' in text
    sample = re.compile(r'^[a-z_]+(\{([a-z_]+="[^"]*",?)*\})? [0-9.e+-]+$')
    for line in text.splitlines():
        assert line.startswith("# HELP ") or line.startswith("# TYPE ") or sample.match(line), line
    assert "passwd" not in text  # unmatched paths share one label value


def test_one_json_log_line_per_request(tiny_weights):
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("backend.access")
    logger.addHandler(handler)
    try:
        with make_client(tiny_weights) as client:
            translate(client, model=FACADES_ID)
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(JsonFormatter().format(r)) for r in records]
    assert len(lines) == 1
    assert {k: lines[0][k] for k in ("route", "model", "status")} == {"route": "/translate", "model": FACADES_ID,
                                                                      "status": 200}
    assert lines[0]["ms"] > 0


class RaisesOnce:
    """Stands in for an onnxruntime session whose next run fails."""

    def __init__(self, session):
        self.session = session
        self.failed = False

    def run(self, outputs, feeds):
        if not self.failed:
            self.failed = True
            raise RuntimeError("CUDA out of memory (simulated)")
        return self.session.run(outputs, feeds)


def test_a_model_run_that_raises_is_a_500_for_that_request_only(tiny_weights):
    with make_client(tiny_weights) as client:
        model = client.app.state.engine.models[SPADE_ID]
        model.session = RaisesOnce(model.session)
        failed = translate(client)
        assert failed.status_code == 500
        assert "failed to run" in failed.json()["detail"] and "simulated" in failed.json()["detail"]
        assert translate(client).status_code == 200
        model.session.failed = False
        with client.websocket_connect("/ws") as ws:
            ws.send_bytes(FRAME)
            assert ws.receive_json()["status"] == 500
            ws.send_bytes(FRAME)
            assert ws.receive_bytes()
