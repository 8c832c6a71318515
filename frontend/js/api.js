// HTTP calls to the server. Every failure becomes an Error whose message a person can read.

/** Turn a FastAPI error body (`detail` as text or as a list of validation errors) into one sentence. */
export function describeError(status, body) {
  let detail = body && typeof body === "object" ? body.detail ?? body.message : body;
  if (Array.isArray(detail)) {
    detail = detail
      .map((item) => {
        const where = Array.isArray(item?.loc) ? item.loc.filter((part) => part !== "body").join(".") : "";
        return where ? `${where}: ${item.msg}` : item?.msg ?? JSON.stringify(item);
      })
      .join("; ");
  } else if (detail && typeof detail === "object") {
    detail = JSON.stringify(detail);
  }
  const text = typeof detail === "string" ? detail.trim() : "";
  if (status === 401 || status === 403) {
    return `The server refused the request (${status}): ${text || "an API key is needed"}. Set the key in Settings.`;
  }
  if (status === 413) return `The file is too large for the server (413)${text ? `: ${text}` : ""}.`;
  if (status === 429) return `The server is busy (429)${text ? `: ${text}` : ""}. Try again in a moment.`;
  if (text) return `${text} (${status})`;
  return status >= 500 ? `The server failed (${status}).` : `The request was rejected (${status}).`;
}

async function errorFrom(response) {
  const raw = await response.text().catch(() => "");
  let body = raw;
  try { body = JSON.parse(raw); } catch { /* a plain-text or HTML error page: show its text */ }
  if (typeof body === "string" && body.length > 200) body = body.slice(0, 200) + "…";
  // The status travels with the message, so a caller can tell "busy" (429, 503) from a rejected request.
  return Object.assign(new Error(describeError(response.status, body)), { status: response.status });
}

export function createApi({ baseUrl = "", getApiKey = () => "", fetchImpl = (...args) => fetch(...args) } = {}) {
  async function request(path, { method = "GET", form } = {}) {
    const headers = {};
    const key = getApiKey();
    if (key) headers["X-API-Key"] = key;
    let response;
    try {
      response = await fetchImpl(baseUrl + path, { method, headers, body: form });
    } catch {
      throw Object.assign(new Error("Cannot reach the server. Is it running?"), { unreachable: true });
    }
    if (!response.ok) throw await errorFrom(response);
    return response;
  }

  function formOf(fields) {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) {
      if (value === undefined || value === null || value === "") continue;
      if (value instanceof Blob) form.append(name, value, `${name}.png`);
      else form.append(name, typeof value === "string" ? value : JSON.stringify(value));
    }
    return form;
  }

  const postImage = async (path, fields) => (await request(path, { method: "POST", form: formOf(fields) })).blob();

  return {
    models: async () => (await request("/models")).json(),
    /** fields: model, image, style_id | seed | style_code, filter. Resolves to {blob, modelMs}. */
    translate: async (fields) => {
      const response = await request("/translate", { method: "POST", form: formOf(fields) });
      const modelMs = Number.parseFloat(response.headers.get("X-Model-Ms"));
      return { blob: await response.blob(), modelMs: Number.isFinite(modelMs) ? modelMs : null };
    },
    segment: (image, model) => postImage("/segment", { image, model }),
    sketch: (image) => postImage("/sketch", { image }),
    styleCode: async (model, image) => {
      const response = await request("/style-code", { method: "POST", form: formOf({ model, image }) });
      return (await response.json()).code;
    },
  };
}
