"""Broken weights: a missing, truncated or mismatched file fails only its model; the server still serves."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import onnx
import pytest
from onnx import helper

from backend.engine import InferenceEngine, file_sha256
from tests.helpers import make_client
from tests.helpers.tiny_models import CYCLEGAN_ID, FACADES_ID, SEGMENTER_ID, SKETCH_ID, SPADE_ID

ALL_IDS = {SPADE_ID, FACADES_ID, SKETCH_ID, CYCLEGAN_ID, SEGMENTER_ID}


@pytest.fixture
def weights(tiny_weights, tmp_path) -> Path:
    copy = tmp_path / "weights"
    shutil.copytree(tiny_weights, copy)
    return copy


def load(weights: Path) -> InferenceEngine:
    return InferenceEngine.load(weights, intra_op_threads=1, max_concurrent_runs=1)


def edit_card(weights: Path, model_id: str, **changes) -> None:
    path = weights / f"{model_id}.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | changes))


def states(engine: InferenceEngine) -> dict[str, str]:
    return {m.id: m.state for m in engine.models.values()}


def only_failed(engine: InferenceEngine, model_id: str) -> str:
    assert states(engine) == {i: ("failed" if i == model_id else "ready") for i in ALL_IDS}
    return engine.models[model_id].error


def test_tiny_weights_all_load(tiny_weights):
    engine = load(tiny_weights)
    assert set(states(engine).values()) == {"ready"} and set(engine.models) == ALL_IDS


def test_truncated_onnx_fails_its_sha_check(weights):
    path = weights / f"{FACADES_ID}.onnx"
    path.write_bytes(path.read_bytes()[:200])
    assert "sha256" in only_failed(load(weights), FACADES_ID)


def test_truncated_onnx_with_matching_card_fails_to_load(weights):
    path = weights / f"{FACADES_ID}.onnx"
    path.write_bytes(path.read_bytes()[:200])
    edit_card(weights, FACADES_ID, onnx_sha256=file_sha256(path))
    assert "cannot load" in only_failed(load(weights), FACADES_ID)


def test_missing_onnx_file(weights):
    (weights / f"{SKETCH_ID}.onnx").unlink()
    assert "missing" in only_failed(load(weights), SKETCH_ID)


def test_missing_style_encoder_fails_the_spade_model(weights):
    (weights / f"{SPADE_ID}-style.onnx").unlink()
    assert "missing" in only_failed(load(weights), SPADE_ID)


def test_graph_that_does_not_match_the_interface(weights):
    # A sketch graph behind a card that promises a label model.
    shutil.copy(weights / f"{SKETCH_ID}.onnx", weights / f"{FACADES_ID}.onnx")
    edit_card(weights, FACADES_ID, onnx_sha256=file_sha256(weights / f"{FACADES_ID}.onnx"))
    assert "interface" in only_failed(load(weights), FACADES_ID)


def test_graph_with_wrong_output_name(weights):
    path = weights / f"{SEGMENTER_ID}.onnx"
    model = onnx.load(path)
    model.graph.node[-1].output[0] = "classes_out"
    model.graph.output[0].name = "classes_out"
    onnx.save(model, path)
    edit_card(weights, SEGMENTER_ID, onnx_sha256=file_sha256(path))
    assert "outputs" in only_failed(load(weights), SEGMENTER_ID)


def test_graph_that_fails_at_run_time_fails_warm_up(weights):
    # Right names and types, but a Reshape to 7 elements: loads fine, fails on any real image.
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["photo", "seven"], ["image"])], "bad",
        [helper.make_tensor_value_info("photo", onnx.TensorProto.FLOAT, ["N", 3, "H", "W"])],
        [helper.make_tensor_value_info("image", onnx.TensorProto.FLOAT, None)],
        initializer=[helper.make_tensor("seven", onnx.TensorProto.INT64, [1], [7])])
    path = weights / f"{CYCLEGAN_ID}.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), path)
    edit_card(weights, CYCLEGAN_ID, onnx_sha256=file_sha256(path))
    assert "warm-up" in only_failed(load(weights), CYCLEGAN_ID)


def test_invalid_card(weights):
    (weights / "broken.json").write_text("{ not json")
    edit_card(weights, SKETCH_ID, size=-3)
    engine = load(weights)
    assert states(engine)["broken"] == "failed" and "invalid card" in engine.models["broken"].error
    assert states(engine)[SKETCH_ID] == "failed"
    assert {m.id for m in engine.ready_models()} == ALL_IDS - {SKETCH_ID}


def test_card_path_outside_the_weights_folder_is_refused(weights):
    edit_card(weights, FACADES_ID, onnx="../elsewhere.onnx")
    assert "inside the weights folder" in only_failed(load(weights), FACADES_ID)


def test_failed_model_is_reported_and_refused_but_others_serve(weights):
    (weights / f"{SPADE_ID}.onnx").unlink()
    with make_client(weights) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["models"][SPADE_ID]["state"] == "failed"
        models = {m["id"]: m for m in client.get("/models").json()["models"]}
        assert models[SPADE_ID]["state"] == "failed" and "missing" in models[SPADE_ID]["error"]
        assert client.get("/models").json()["default_model"] == FACADES_ID
        response = client.post("/translate", data={"model": SPADE_ID},
                               files={"image": ("x.png", b"\x89PNG", "image/png")})
        assert response.status_code == 503 and "not available" in response.json()["detail"]


def test_no_models_at_all_still_starts(tmp_path, caplog):
    with caplog.at_level("WARNING", logger="backend"):
        with make_client(tmp_path / "empty") as client:
            assert client.get("/healthz").status_code == 200
            assert client.get("/readyz").status_code == 503
            assert client.get("/models").json() == {"default_model": None, "models": [], "filters": []}
            assert client.get("/").status_code == 200
            response = client.post("/translate", files={"image": ("x.png", b"\x89PNG", "image/png")})
            assert response.status_code == 503 and response.json()["detail"] == "no model loaded"
    assert "no model loaded" in caplog.text
