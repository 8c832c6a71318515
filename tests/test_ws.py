"""WS /ws: the live-painting protocol, latest-wins, bad frames and protocol violations."""

from __future__ import annotations

import json

import numpy as np
import pytest
from starlette.websockets import WebSocketDisconnect

from tests.helpers import decode, label_png, make_client, stripes
from tests.helpers.tiny_models import CYCLEGAN_ID, FACADES_ID, SPADE_ID

FRAME = label_png(stripes(96, 128, [0, 1, 3]))


@pytest.fixture(scope="module")
def client(tiny_weights):
    with make_client(tiny_weights, max_ws_message_bytes=2 * 1024 * 1024) as test_client:
        yield test_client


def configure(ws, **config) -> dict:
    ws.send_text(json.dumps({"type": "config", **config}))
    return ws.receive_json()


def next_answer(ws) -> tuple[bytes | None, dict]:
    """(PNG, result) for a processed frame, or (None, error) for an error message."""
    message = ws.receive()
    if message.get("bytes") is not None:
        return message["bytes"], json.loads(ws.receive_text())
    return None, json.loads(message["text"])


def test_config_then_frames_get_png_and_result(client):
    with client.websocket_connect("/ws") as ws:
        assert configure(ws, model=SPADE_ID, style_id="misty") == {"type": "config", "ok": True, "model": SPADE_ID,
                                                                       "paints_with_style_photo": False}
        for expected_frame in (1, 2):
            ws.send_bytes(FRAME)
            png, result = next_answer(ws)
            assert decode(png).size == (64, 48)
            assert result["type"] == "result" and result["frame"] == expected_frame
            assert 0 < result["model_ms"] <= result["total_ms"]


def test_ws_matches_http_for_the_same_settings(client):
    http = client.post("/translate", files={"image": ("f.png", FRAME, "image/png")},
                       data={"seed": "5", "filter": CYCLEGAN_ID})
    with client.websocket_connect("/ws") as ws:
        assert configure(ws, model=SPADE_ID, seed=5, filter=CYCLEGAN_ID)["ok"]
        ws.send_bytes(FRAME)
        png, _ = next_answer(ws)
    assert png == http.content


def test_config_format_picks_the_encoding_of_the_pictures(client):
    with client.websocket_connect("/ws") as ws:
        assert configure(ws, model=SPADE_ID, format="jpeg")["ok"]
        ws.send_bytes(FRAME)
        picture, result = next_answer(ws)
        assert picture[:3] == b"\xff\xd8\xff" and result["type"] == "result"  # a JPEG
        assert configure(ws, model=SPADE_ID, format="bmp")["status"] == 422


def test_frames_before_any_config_use_the_default_model(client):
    with client.websocket_connect("/ws") as ws:
        ws.send_bytes(FRAME)
        png, result = next_answer(ws)
        assert png is not None and result["frame"] == 1


def test_bad_config_is_an_error_message_and_keeps_the_connection(client):
    with client.websocket_connect("/ws") as ws:
        assert configure(ws, model="no-such-model") == {"type": "error", "status": 404,
                                                        "message": "unknown model 'no-such-model'"}
        assert configure(ws, model=SPADE_ID, style_id="rainy")["status"] == 404
        assert configure(ws, model=SPADE_ID, filter="nope")["status"] == 404
        assert configure(ws, model=SPADE_ID, seed="abc")["status"] == 422
        assert configure(ws, model=SPADE_ID, style_code=[1.0, 2.0])["status"] == 422
        assert configure(ws, model=FACADES_ID)["ok"]
        ws.send_bytes(label_png(stripes(64, 64, [0, 11])))
        png, result = next_answer(ws)
        assert png is not None and result["frame"] == 1


def test_bad_frame_is_an_error_and_the_next_frame_works(client):
    with client.websocket_connect("/ws") as ws:
        configure(ws, model=SPADE_ID)
        ws.send_bytes(b"definitely not a png")
        assert next_answer(ws) == (None, {"type": "error", "frame": 1, "status": 415,
                                          "message": "image: not an image, or not one of PNG, JPEG, WEBP, BMP, GIF"})
        ws.send_bytes(label_png(stripes(64, 64, [0, 9])))
        png, error = next_answer(ws)
        assert png is None and error["frame"] == 2 and error["status"] == 422 and "9" in error["message"]
        ws.send_bytes(FRAME)
        png, result = next_answer(ws)
        assert png is not None and result["frame"] == 3


@pytest.mark.timeout(60)
def test_latest_wins_fifty_quick_frames_get_few_answers_the_last_for_frame_50(client):
    # Large frames: decoding and resizing them takes long enough that the painter is always ahead.
    rng = np.random.default_rng(0)
    frames = [label_png(rng.integers(0, 8, (1024, 1024))) for _ in range(5)]
    with client.websocket_connect("/ws") as ws:
        configure(ws, model=SPADE_ID)
        for index in range(50):
            ws.send_bytes(frames[index % len(frames)])
        answered = []
        while not answered or answered[-1] < 50:
            png, result = next_answer(ws)
            assert png is not None, result
            answered.append(result["frame"])
    assert answered == sorted(answered)
    assert answered[-1] == 50
    assert len(answered) < 25, answered


@pytest.mark.parametrize("message, code", [
    ("{not json", 1003),
    (json.dumps({"type": "paint"}), 1003),
    (json.dumps(["config"]), 1003),
    ("x" * (3 * 1024 * 1024), 1009),
])
def test_protocol_violations_close_only_that_connection(client, message, code):
    with client.websocket_connect("/ws") as bystander:
        configure(bystander, model=SPADE_ID)
        with client.websocket_connect("/ws") as offender:
            offender.send_text(message)
            with pytest.raises(WebSocketDisconnect) as closed:
                offender.receive_text()
            assert closed.value.code == code
            assert closed.value.reason
        bystander.send_bytes(FRAME)
        png, result = next_answer(bystander)
        assert png is not None and result["frame"] == 1


def test_oversized_binary_frame_closes_with_1009(client):
    with client.websocket_connect("/ws") as ws:
        ws.send_bytes(b"\0" * (3 * 1024 * 1024))
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_bytes()
        assert closed.value.code == 1009
