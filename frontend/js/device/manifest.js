// device/manifest.json: the models the page can run itself, read into what the painter needs.
// Pure (no browser APIs), so node tests it.

const SUPPORTED_VERSION = 1;
const HYBRID_STYLE_DIM = 6; // the hybrid's style: mean and standard deviation of R, G, B

function checkedFile(file, where) {
  if (!file || typeof file.url !== "string" || !Number.isSafeInteger(file.bytes) || !/^[0-9a-f]{64}$/.test(file.sha256 ?? "")) {
    throw new Error(`device manifest: ${where} needs a url, a byte count and a sha256`);
  }
  return { url: file.url, bytes: file.bytes, sha256: file.sha256 };
}

/** The manifest's JSON -> { defaultModel, filters, models: Map id -> entry }; throws on a shape it cannot use. */
export function parseManifest(json) {
  if (!json || json.version !== SUPPORTED_VERSION || !Array.isArray(json.models)) {
    throw new Error(`device manifest: version ${json?.version} is not the version ${SUPPORTED_VERSION} this page reads`);
  }
  const models = new Map();
  for (const model of json.models) {
    const card = model.card;
    if (!card || card.id !== model.id) throw new Error(`device manifest: model ${model.id} has no card of its own`);
    models.set(model.id, {
      id: model.id,
      card,
      serverOnly: typeof model.server_only === "string" && model.server_only ? model.server_only : null,
      onnx: checkedFile(model.files?.onnx, `${model.id}'s onnx`),
      styleEncoder: model.files?.style_encoder ? checkedFile(model.files.style_encoder, `${model.id}'s style encoder`) : null,
      thumbnails: { ...(model.files?.thumbnails ?? {}) },
    });
  }
  return { defaultModel: json.default_model ?? null, filters: [...(json.filters ?? [])], models };
}

/** The number of values in a model's style code (as /models reports it), or null for a model without styles. */
export function styleDim(card) {
  if (card.kind === "hybrid") return HYBRID_STYLE_DIM;
  return card.style_encoder?.z_dim ?? null;
}

/** The painter's catalogue (the shape of GET /models) built from the manifest alone: the page with no server. */
export function catalogueFromManifest(manifest) {
  const models = [...manifest.models.values()].map(({ card, thumbnails }) => ({
    id: card.id,
    state: "ready",
    kind: card.kind,
    title: card.title,
    description: card.description,
    input_kind: card.input_kind,
    size: card.size,
    label_set: card.label_set ?? null,
    style_presets: (card.style_presets ?? []).map((p) => ({ id: p.id, name: p.name, thumbnail_url: thumbnails[p.id] ?? null })),
    z_dim: card.style_encoder?.z_dim ?? null,
    style_dim: styleDim(card),
  }));
  return { default_model: manifest.defaultModel, filters: manifest.filters, models };
}
