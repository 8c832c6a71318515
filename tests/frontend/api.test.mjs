import assert from "node:assert/strict";
import { test } from "node:test";

import { createApi, describeError } from "../../frontend/js/api.js";

test("FastAPI errors become sentences", () => {
  assert.equal(describeError(422, { detail: "image: the file is empty" }), "image: the file is empty (422)");
  assert.equal(
    describeError(422, { detail: [{ loc: ["body", "model"], msg: "Field required" }] }),
    "model: Field required (422)",
  );
  assert.match(describeError(401, { detail: "missing API key" }), /Settings/);
  assert.equal(describeError(500, ""), "The server failed (500).");
  assert.equal(describeError(404, "Not Found"), "Not Found (404)");
});

test("requests carry the API key and failures carry the server's words", async () => {
  const seen = [];
  const fetchImpl = async (url, options) => {
    seen.push({ url, options });
    return new Response(JSON.stringify({ detail: "unknown model 'x'" }), { status: 404 });
  };
  const api = createApi({ getApiKey: () => "secret", fetchImpl });
  await assert.rejects(api.translate({ model: "x", image: new Blob([new Uint8Array(3)]) }), /unknown model 'x' \(404\)/);
  assert.equal(seen[0].url, "/translate");
  assert.equal(seen[0].options.headers["X-API-Key"], "secret");
  assert.equal(seen[0].options.body.get("model"), "x");
});

test("a server that cannot be reached is said so", async () => {
  const api = createApi({ fetchImpl: async () => { throw new TypeError("fetch failed"); } });
  await assert.rejects(api.models(), /Cannot reach the server/);
});

test("translate sends style codes as JSON and reads the model time", async () => {
  let body;
  const api = createApi({
    fetchImpl: async (_url, options) => {
      body = options.body;
      return new Response(new Uint8Array([137, 80]), { status: 200, headers: { "X-Model-Ms": "12.5" } });
    },
  });
  const { modelMs } = await api.translate({ model: "m", image: new Blob([]), style_code: [0.5, -1], seed: 3, filter: "" });
  assert.equal(modelMs, 12.5);
  assert.equal(body.get("style_code"), "[0.5,-1]");
  assert.equal(body.get("seed"), "3");
  assert.equal(body.has("filter"), false);
});
