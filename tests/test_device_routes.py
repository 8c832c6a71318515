"""The device routes (manifest, model files, onnxruntime-web files), the isolation headers and the static export."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.export_static import main as export_main, vendor_files
from backend.routes.deps import get_engine
from tests.helpers import make_client, server_settings
from tests.helpers.tiny_models import CYCLEGAN_ID, HYBRID_ID, HYBRID_SERVER_ONLY, PRESET_IDS, SPADE_ID

ISOLATION = {"cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp",
             "cross-origin-resource-policy": "same-origin"}


def isolated(headers) -> bool:
    return all(headers.get(name) == value for name, value in ISOLATION.items())


@pytest.fixture(scope="module")
def client(hybrid_weights, tmp_path_factory):
    vendor = tmp_path_factory.mktemp("vendor")
    (vendor / "ort.wasm.min.mjs").write_text("export const fake = 1;\n")
    (vendor / "ort-wasm-simd-threaded.wasm").write_bytes(b"\0asm fake")
    (vendor / "notes.txt").write_text("not served")
    with make_client(hybrid_weights, vendor_dir=vendor) as test_client:
        yield test_client


def test_manifest_lists_ready_models_with_cards_and_files(client, hybrid_weights):
    manifest = client.get("/device/manifest.json").json()
    assert manifest["version"] == 1 and manifest["default_model"] == SPADE_ID
    assert manifest["filters"] == [CYCLEGAN_ID]
    models = {m["id"]: m for m in manifest["models"]}
    spade = models[SPADE_ID]
    assert spade["card"] == json.loads((hybrid_weights / f"{SPADE_ID}.json").read_text())
    assert spade["server_only"] is None and spade["files"]["onnx"]["url"] == f"device/files/{SPADE_ID}.onnx"
    assert spade["files"]["style_encoder"]["sha256"] == spade["card"]["style_encoder"]["onnx_sha256"]
    assert set(spade["files"]["thumbnails"]) == set(PRESET_IDS)
    assert models[HYBRID_ID]["server_only"] == HYBRID_SERVER_ONLY


def test_files_carry_their_sha256_as_etag_and_revalidate(client):
    onnx = client.get("/device/manifest.json").json()["models"]
    spade = next(m for m in onnx if m["id"] == SPADE_ID)["files"]["onnx"]
    response = client.get("/" + spade["url"])
    assert response.status_code == 200 and len(response.content) == spade["bytes"]
    assert response.headers["etag"] == f'"{spade["sha256"]}"' and response.headers["cache-control"] == "no-cache"
    again = client.get("/" + spade["url"], headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    for url in ("/device/files/nope.onnx", f"/device/files/{SPADE_ID}.json", "/device/files/..%2Fspade-test.onnx"):
        assert client.get(url).status_code == 404, url


def test_every_http_response_is_cross_origin_isolated(client):
    for url in ("/", "/models", "/device/manifest.json", "/device/files/nope", "/vendor/onnxruntime-web/ort.wasm.min.mjs"):
        assert isolated(client.get(url).headers), url


def test_an_unhandled_error_is_a_500_that_is_still_isolated(tiny_weights):
    def broken_engine():
        raise RuntimeError("a bug (simulated)")

    app = create_app(server_settings(tiny_weights))
    app.dependency_overrides[get_engine] = broken_engine
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/models")
    assert response.status_code == 500 and response.json() == {"detail": "internal server error"}
    assert isolated(response.headers)


def test_vendor_files_have_their_mime_types_and_nothing_else_is_served(client):
    script = client.get("/vendor/onnxruntime-web/ort.wasm.min.mjs")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    wasm = client.get("/vendor/onnxruntime-web/ort-wasm-simd-threaded.wasm")
    assert wasm.headers["content-type"] == "application/wasm"
    for name in ("notes.txt", "missing.mjs", ".hidden.mjs"):
        assert client.get(f"/vendor/onnxruntime-web/{name}").status_code == 404, name


def test_a_missing_vendor_folder_says_to_run_npm_ci(tiny_weights, tmp_path):
    with make_client(tiny_weights, vendor_dir=tmp_path / "absent") as bare:
        response = bare.get("/vendor/onnxruntime-web/ort.wasm.min.mjs")
    assert response.status_code == 404 and "npm ci" in response.json()["detail"]


def test_export_writes_a_static_site_without_server_only_models(hybrid_weights, tmp_path, capsys, client):
    target = tmp_path / "site"
    assert export_main([str(target), "--weights", str(hybrid_weights)]) == 0
    printed = capsys.readouterr().out
    assert f"omitted {HYBRID_ID}" in printed and "total" in printed
    manifest = json.loads((target / "device/manifest.json").read_text())
    assert HYBRID_ID not in {m["id"] for m in manifest["models"]}
    for model in manifest["models"]:
        assert (target / model["files"]["onnx"]["url"]).stat().st_size == model["files"]["onnx"]["bytes"]
    assert "Cross-Origin-Embedder-Policy: require-corp" in (target / "_headers").read_text()
    assert (target / "index.html").is_file()
    assert export_main([str(target), "--weights", str(hybrid_weights)]) == 2  # not empty
    assert export_main([str(tmp_path / "other"), "--weights", str(hybrid_weights), "--models", "nope"]) == 2


def test_export_ships_the_runtime_files_the_page_loads_and_no_other_build(tmp_path):
    frontend, vendor = tmp_path / "frontend", tmp_path / "vendor"
    (frontend / "js").mkdir(parents=True)
    (frontend / "js" / "runtime.js").write_text('import("../vendor/onnxruntime-web/ort.wasm.min.mjs");\n')
    vendor.mkdir()
    (vendor / "ort.wasm.min.mjs").write_text('new Worker("ort-wasm-simd-threaded.mjs"); // ort-wasm-proxy-worker\n')
    (vendor / "ort-wasm-simd-threaded.mjs").write_text('fetch("ort-wasm-simd-threaded.wasm");\n')
    for unused in ("ort-wasm-simd-threaded.wasm", "ort-wasm-simd-threaded.jsep.mjs", "ort-wasm-simd-threaded.jsep.wasm",
                   "ort.all.min.mjs"):
        (vendor / unused).write_bytes(b"\0")
    # The bundle names its loader, the loader its build; the jsep build and the other bundles are never loaded.
    assert [path.name for path in vendor_files(frontend, vendor)] == [
        "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm", "ort.wasm.min.mjs"]
