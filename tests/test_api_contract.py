"""The API does what its OpenAPI document says, judged by schemathesis (a tool nobody here wrote).

`schemathesis run` generates requests from the served /openapi.json on a loopback server, with and without
API_KEY, and every response must be documented: no 5xx, no undocumented status, content type or header,
bodies matching their schemas, invalid requests refused and valid ones accepted, the key enforced exactly
where the document says. Real responses to hand-written requests (every success, every error status) are
then validated against the same document, as a client generated from it would parse them; the document is
checked for what the configuration promises; the WebSocket's error frames must use the HTTP errors' words.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import schemathesis
from fastapi.testclient import TestClient

from backend.app import create_app
from backend.local_server import serve_in_background
from tests.helpers import label_png, photo_png, server_settings, stripes
from tests.helpers.tiny_models import CYCLEGAN_ID, PRESET_IDS, SEGMENTER_ID, SPADE_ID

REPO_ROOT = Path(__file__).resolve().parents[1]
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
KEY = "contract-test-key"
# Small, so the oversized uploads schemathesis makes to test `maxLength` stay cheap to send.
UPLOAD_LIMIT = 64 * 1024
EXAMPLES_PER_OPERATION = 20
# Statuses that refuse a request: schemathesis's defaults plus 413, the answer to an upload over the limit.
REJECTIONS = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]
# A schema-valid request is accepted: the document lists the ids a field or path takes (models of the right
# kind, filters, presets), so no valid request names an unknown or unsuitable model (ST202 stays clear).
# An upload of a declared type within the declared limits is never refused as an upload (400, 413, 415).
ACCEPTANCES = ["2XX", 401, 429]
# POST /translate's rules across fields, which JSON Schema cannot state for a form: at most one style option,
# none for a model without styles, the JSON inside `style_code` (422), a preset of another model (404).
TRANSLATE_ACCEPTANCES = [*ACCEPTANCES, 404, 422]
# A file addressed by its path: the stateful phase follows /models' ids into these paths, and a listed model
# may have no sample sheet, or not that preset (404, as for any missing resource).
FILE_PATHS = ["/models/{model_id}/samples", "/models/{model_id}/styles/{preset_id}/thumbnail"]
ERROR_BODY = "#/components/schemas/ErrorBody"
CONFIG = """
seed = 18
[generation]
max-examples = {examples}
database = "none"
[checks.negative_data_rejection]
expected-statuses = {rejections}
[checks.positive_data_acceptance]
expected-statuses = {acceptances}

[[operations]]
include-path = "/translate"
[operations.checks.positive_data_acceptance]
expected-statuses = {translate_acceptances}

[[operations]]
include-path = {file_paths}
[operations.checks.positive_data_acceptance]
expected-statuses = {file_acceptances}
"""
# Failures that once slipped through: a schema-valid request refused (ST202), a wrong method answered with
# something else than 405 and `Allow` (ST204), `Allow` naming other methods than the document (ST205).
WATCHED_FAILURES = ("ST202", "ST204", "ST205")
AUTH = """
[auth.openapi.APIKeyHeader]
api_key = "{key}"
"""


def run_schemathesis(base_url: str, workdir: Path, keyed: bool) -> subprocess.CompletedProcess:
    config = CONFIG.format(examples=EXAMPLES_PER_OPERATION, rejections=json.dumps(REJECTIONS),
                           acceptances=json.dumps(ACCEPTANCES), translate_acceptances=json.dumps(TRANSLATE_ACCEPTANCES),
                           file_paths=json.dumps(FILE_PATHS), file_acceptances=json.dumps([*ACCEPTANCES, 404]))
    if keyed:
        config += AUTH.format(key=KEY)
    config_file = workdir / "schemathesis.toml"
    config_file.write_text(config)
    environment = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.helpers.schemathesis_hooks",
                   "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    command = [str(SCHEMATHESIS), "--config-file", str(config_file), "--no-color", "run",
               f"{base_url}/openapi.json", "--checks", "all", "--no-shrink",
               # One worker: hypothesis is not thread-safe (two workers once crashed it with "dictionary changed
               # size during iteration" while it described a strategy).
               "--workers", "1"]
    return subprocess.run(command, cwd=workdir, env=environment, capture_output=True, text=True, timeout=240)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("keyed", [False, True], ids=["open", "keyed"])
def test_schemathesis_finds_nothing(tiny_weights: Path, tmp_path: Path, keyed: bool):
    # The painter page is served too, as `make run` serves it: its catch-all must not answer the API's paths.
    overrides = {"max_upload_bytes": UPLOAD_LIMIT, "frontend_dir": REPO_ROOT / "frontend",
                 **({"api_key": KEY} if keyed else {})}
    with serve_in_background(create_app(server_settings(tiny_weights, **overrides))) as base_url:
        started = time.monotonic()
        result = run_schemathesis(base_url, tmp_path, keyed)
        elapsed = time.monotonic() - started
    summary = result.stdout[result.stdout.rfind("SUMMARY"):]
    # Reproduction commands can carry a whole generated upload; a line of it is enough.
    report = "\n".join(line[:1500] for line in result.stdout.splitlines())
    assert result.returncode == 0, f"schemathesis failed ({elapsed:.0f} s):\n{report[-15000:]}\n{result.stderr[-3000:]}"
    assert not [code for code in WATCHED_FAILURES if code in result.stdout], report[-15000:]
    selected, available = map(int, re.search(r"Selected: (\d+)/(\d+)", summary).groups())
    tested = int(re.search(r"Tested: (\d+)", summary).group(1))
    assert tested == selected == available >= 10, summary


# ---- real responses, validated against the served document ----

@pytest.fixture(scope="module")
def open_client(tiny_weights: Path):
    with TestClient(create_app(server_settings(tiny_weights, max_upload_bytes=UPLOAD_LIMIT)),
                    raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def guarded_client(tiny_weights: Path):
    """API_KEY set and a rate limit of one request a minute."""
    app = create_app(server_settings(tiny_weights, api_key=KEY, rate_limit_per_minute=1))
    with TestClient(app) as client:
        yield client


def served_document(client: TestClient) -> dict:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


# Keyed by the client itself (not its id), so a client that is gone cannot lend its document to a new one.
_LOADED: dict[TestClient, tuple[dict, object]] = {}


def assert_documented(client: TestClient, method: str, template: str, response: httpx.Response) -> None:
    """`response` is what the served document promises for this operation: status, content type, headers
    and body (the body checked by schemathesis's response validation, the way a generated client reads it)."""
    if client not in _LOADED:
        document = served_document(client)
        _LOADED[client] = document, schemathesis.openapi.from_dict(document)
    document, api = _LOADED[client]
    operation = document["paths"][template][method.lower()]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method} {template}: {status} is not documented"
    declared = operation["responses"][status]
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    content = declared.get("content", {})
    assert media_type in content, f"{method} {template} {status}: {media_type} is not one of {list(content)}"
    for header, spec in declared.get("headers", {}).items():
        if spec.get("required"):
            assert header.lower() in response.headers, f"{method} {template} {status}: no {header} header"
    api[template][method.upper()].validate_response(response)


def post_image(client: TestClient, route: str, data: bytes, **fields) -> httpx.Response:
    return client.post(route, files={"image": ("upload.png", data, "image/png")},
                       data={name: str(value) for name, value in fields.items()})


LABELS = label_png(stripes(32, 32, [0, 3, 6]))


def test_successes_are_what_the_document_says(open_client):
    client = open_client
    for template, url in [("/healthz", "/healthz"), ("/readyz", "/readyz"), ("/models", "/models"),
                          ("/models/{model_id}/samples", f"/models/{SPADE_ID}/samples"),
                          ("/models/{model_id}/styles/{preset_id}/thumbnail",
                           f"/models/{SPADE_ID}/styles/{PRESET_IDS[0]}/thumbnail"),
                          ("/metrics", "/metrics")]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_documented(client, "GET", template, response)
    for route, data, fields in [("/translate", LABELS, {"seed": 3}), ("/translate", photo_png(), {"model": CYCLEGAN_ID}),
                                ("/segment", photo_png(), {}), ("/sketch", photo_png(), {}),
                                ("/style-code", photo_png(), {"model": SPADE_ID})]:
        response = post_image(client, route, data, **fields)
        assert response.status_code == 200, (route, response.text)
        assert_documented(client, "POST", route, response)


def test_every_error_status_is_what_the_document_says(open_client, tiny_weights: Path, monkeypatch):
    client = open_client
    errors = [
        ("/translate", client.post("/translate", data={"model": SPADE_ID}), 422),  # no image field
        ("/translate", post_image(client, "/translate", b""), 422),  # empty file
        ("/translate", post_image(client, "/translate", label_png(np.full((8, 8), 42))), 422),  # not a label id
        ("/translate", post_image(client, "/translate", LABELS, seed=1, style_id=PRESET_IDS[0]), 422),
        ("/translate", post_image(client, "/translate", LABELS, model=SEGMENTER_ID), 422),
        ("/translate", post_image(client, "/translate", b"not an image at all"), 415),
        ("/translate", post_image(client, "/translate", b"\x89PNG" + bytes(UPLOAD_LIMIT)), 413),
        ("/translate", post_image(client, "/translate", LABELS, model="no-such-model"), 404),
        ("/translate", post_image(client, "/translate", LABELS, style_id="no-such-style"), 404),
        ("/segment", post_image(client, "/segment", photo_png(), model=SPADE_ID), 422),
        ("/sketch", post_image(client, "/sketch", b"GIF89a broken"), 415),
        ("/style-code", post_image(client, "/style-code", photo_png(), model=CYCLEGAN_ID), 422),
        ("/translate", client.post("/translate", content=b"image=1",
                                   headers={"content-type": "multipart/form-data"}), 400),  # no boundary
    ]
    for route, response, status in errors:
        assert response.status_code == status, (route, status, response.text)
        assert_documented(client, "POST", route, response)
    for template, url in [("/models/{model_id}/samples", "/models/no-such-model/samples"),
                          ("/models/{model_id}/styles/{preset_id}/thumbnail", f"/models/{SPADE_ID}/styles/x/thumbnail")]:
        response = client.get(url)
        assert response.status_code == 404
        assert_documented(client, "GET", template, response)
    # A bug inside a route is a 500 with the same body.
    monkeypatch.setattr("backend.routes.sketch.photo_to_sketch", lambda *args: 1 / 0)
    response = post_image(client, "/sketch", photo_png())
    assert response.status_code == 500
    assert_documented(client, "POST", "/sketch", response)
    # With no model loaded: 503.
    empty = tiny_weights.parent / "contract-empty-weights"
    empty.mkdir(exist_ok=True)
    with TestClient(create_app(server_settings(empty))) as bare:
        for method, route, response in [("GET", "/readyz", bare.get("/readyz")),
                                        ("POST", "/translate", post_image(bare, "/translate", LABELS)),
                                        ("POST", "/segment", post_image(bare, "/segment", photo_png()))]:
            assert response.status_code == 503, route
            assert_documented(bare, method, route, response)


def test_key_and_rate_limit_errors_are_what_the_document_says(guarded_client):
    client = guarded_client
    for route, response in [("/translate", post_image(client, "/translate", LABELS)),
                            ("/translate", client.post("/translate", headers={"X-API-Key": "wrong"},
                                                       files={"image": ("x.png", LABELS, "image/png")})),
                            ("/metrics", client.get("/metrics"))]:
        assert response.status_code == 401, route
        assert response.headers["WWW-Authenticate"] == "X-API-Key"
        assert_documented(client, "GET" if route == "/metrics" else "POST", route, response)
    keyed = {"X-API-Key": KEY}
    first = client.post("/sketch", headers=keyed, files={"image": ("x.png", photo_png(), "image/png")})
    assert first.status_code == 200
    second = client.post("/sketch", headers=keyed, files={"image": ("x.png", photo_png(), "image/png")})
    assert second.status_code == 429 and int(second.headers["Retry-After"]) >= 1
    assert_documented(client, "POST", "/sketch", second)
    metrics = client.get("/metrics", headers=keyed)
    assert metrics.status_code == 200
    assert_documented(client, "GET", "/metrics", metrics)


# ---- the document itself ----

def operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def test_the_document_matches_the_configuration(open_client, guarded_client):
    open_doc, guarded_doc = served_document(open_client), served_document(guarded_client)
    protected = {("POST", "/translate"), ("POST", "/segment"), ("POST", "/sketch"), ("POST", "/style-code"),
                 ("GET", "/metrics")}
    for document in (open_doc, guarded_doc):
        schemas = document["components"]["schemas"]
        assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
        assert schemas["ErrorBody"]["required"] == ["detail"]
        assert schemas["ErrorBody"]["properties"]["detail"]["type"] == "string"
        for method, path, operation in operations(document):
            for status, response in operation["responses"].items():
                # /readyz's 503 is its answer "not ready yet", the same Readiness body as its 200.
                if status[0] in "45" and (method, path) != ("GET", "/readyz"):
                    assert response["content"] == {"application/json": {"schema": {"$ref": ERROR_BODY}}}, \
                        (method, path, status)
        assert "/ws" in document["info"]["description"]
    # No key configured: nothing asks for one.
    assert "securitySchemes" not in open_doc["components"]
    for method, path, operation in operations(open_doc):
        assert "security" not in operation and "401" not in operation["responses"], (method, path)
        assert "429" not in operation["responses"], (method, path)
    # A key configured: the protected routes, and only they, need it and say they answer 401 without it.
    assert guarded_doc["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"
    for method, path, operation in operations(guarded_doc):
        needs_key = (method, path) in protected
        assert ("security" in operation) == needs_key, (method, path)
        assert ("401" in operation["responses"]) == needs_key, (method, path)
        if needs_key and method == "POST":
            assert "Retry-After" in operation["responses"]["429"]["headers"]


def test_upload_fields_state_their_limits(open_client):
    document = served_document(open_client)
    for route, files in [("/translate", {"image", "style"}), ("/segment", {"image"}), ("/sketch", {"image"}),
                         ("/style-code", {"image"})]:
        form = document["paths"][route]["post"]["requestBody"]["content"]["multipart/form-data"]
        assert set(form["encoding"]) == files
        body = document["components"]["schemas"][form["schema"]["$ref"].rsplit("/", 1)[1]]
        for name in files:
            field = body["properties"][name]
            assert (field["minLength"], field["maxLength"]) == (1, UPLOAD_LIMIT), (route, name)
            assert field["contentMediaType"] == "application/octet-stream"
            assert form["encoding"][name]["contentType"] == "image/png, image/jpeg, image/webp, image/bmp, image/gif"
        assert "anyOf" not in json.dumps(body), "a multipart form cannot send null: optional fields are left out"


def test_the_document_lists_the_ids_each_field_takes(open_client):
    """A generic string would make unknown ids schema-valid; the document lists the loaded ones ("" is a form
    field left out), and says a style option for a model without styles is refused."""
    document = served_document(open_client)
    schemas = document["components"]["schemas"]

    def form(route: str) -> dict:
        ref = document["paths"][route]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
        return schemas[ref.rsplit("/", 1)[1]]["properties"]

    translate = form("/translate")
    assert SPADE_ID in translate["model"]["enum"] and CYCLEGAN_ID in translate["model"]["enum"]
    assert SEGMENTER_ID not in translate["model"]["enum"] and "" in translate["model"]["enum"]
    assert translate["filter"]["enum"] == ["", CYCLEGAN_ID]
    assert set(PRESET_IDS) <= set(translate["style_id"]["enum"])
    for name in ("style", "style_id", "style_code", "seed"):
        assert "a model without styles (pix2pix, CycleGAN) answers 422" in translate[name]["description"], name
    assert form("/segment")["model"]["enum"] == ["", SEGMENTER_ID]
    assert SPADE_ID in form("/style-code")["model"]["enum"] and CYCLEGAN_ID not in form("/style-code")["model"]["enum"]
    (model_id,) = document["paths"]["/models/{model_id}/samples"]["get"]["parameters"]
    assert model_id["schema"]["enum"] and "" not in model_id["schema"]["enum"]


def test_websocket_errors_use_the_words_of_the_http_errors(open_client):
    """The WebSocket is documented as answering a bad frame or config with the status and the `detail` text
    POST /translate gives for the same input."""
    client = open_client
    bad_frames = [b"not an image at all", b"", label_png(np.full((8, 8), 42))]
    bad_configs = [{"model": "no-such-model"}, {"style_id": "no-such-style"}, {"model": SEGMENTER_ID},
                   {"seed": 1, "style_id": PRESET_IDS[0]}]
    with client.websocket_connect("/ws") as ws:
        for frame, data in enumerate(bad_frames, start=1):
            http = post_image(client, "/translate", data)
            ws.send_bytes(data)
            answer = ws.receive_json()
            assert answer == {"type": "error", "frame": frame, "status": http.status_code,
                              "message": http.json()["detail"]}
        for config in bad_configs:
            http = post_image(client, "/translate", LABELS, **config)
            ws.send_text(json.dumps({"type": "config", **config}))
            assert ws.receive_json() == {"type": "error", "status": http.status_code, "message": http.json()["detail"]}
    assert "/ws" in served_document(client)["info"]["description"]
