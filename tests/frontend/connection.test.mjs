import assert from "node:assert/strict";
import { test } from "node:test";

import { LiveConnection } from "../../frontend/js/connection.js";

/** A stand-in socket that records what is sent and lets the test play the server. */
class FakeSocket {
  static instances = [];
  constructor(url) {
    this.url = url;
    this.sent = [];
    FakeSocket.instances.push(this);
  }
  send(data) { this.sent.push(data); }
  close() {}
  open() { this.onopen?.(); }
  reply(data) { this.onmessage?.({ data }); }
}

const manualTimers = () => {
  const pending = [];
  return {
    pending,
    setTimeout: (fn, ms) => { pending.push({ fn, ms }); return pending.length; },
    clearTimeout: () => {},
  };
};

const tick = () => new Promise((resolve) => setImmediate(resolve));

function connect(handlers = {}) {
  FakeSocket.instances = [];
  const timers = manualTimers();
  const states = [];
  const connection = new LiveConnection({
    url: () => "ws://host/ws?api_key=k",
    WebSocketImpl: FakeSocket,
    timers,
    onStatus: (state) => states.push(state),
    ...handlers,
  });
  connection.setConfig({ model: "m", seed: 1 });
  connection.start();
  const socket = FakeSocket.instances[0];
  socket.open();
  return { connection, socket, states, timers };
}

test("config is sent on open, then frames; one in flight and only the latest waits", async () => {
  const results = [];
  const { connection, socket, states } = connect({ onResult: (r) => results.push(r) });
  assert.deepEqual(states, ["connecting", "live"]);
  assert.deepEqual(JSON.parse(socket.sent[0]), { type: "config", model: "m", seed: 1 });

  connection.requestFrame(async () => "frame-1");
  await tick();
  connection.requestFrame(async () => "frame-2");
  connection.requestFrame(async () => "frame-3");
  await tick();
  assert.deepEqual(socket.sent.slice(1), ["frame-1"], "nothing else is sent while a frame is in flight");

  socket.reply({ size: 10 });
  socket.reply(JSON.stringify({ type: "result", frame: 1, model_ms: 4, total_ms: 9 }));
  await tick();
  assert.equal(results.length, 1);
  assert.equal(results[0].modelMs, 4);
  assert.deepEqual(socket.sent.slice(1), ["frame-1", "frame-3"], "frame 2 was superseded");
});

test("a progressive frame's pictures are shown as they come, and its first frees the slot for a newer stroke", async () => {
  const results = [];
  const { connection, socket } = connect({ onResult: (r) => results.push(r) });
  connection.requestFrame(async () => "stroke-1");
  await tick();
  connection.requestFrame(async () => "stroke-2");
  socket.reply({ size: 3 });
  socket.reply(JSON.stringify({ type: "progress", frame: 1, level: 1, levels: 3, model_ms: 2, total_ms: 5 }));
  await tick();
  assert.deepEqual(results.map((r) => [r.level, r.levels]), [[1, 3]]);
  assert.deepEqual(socket.sent.slice(1), ["stroke-1", "stroke-2"], "the newer stroke goes at once");
  socket.reply({ size: 4 });
  socket.reply(JSON.stringify({ type: "result", frame: 2, model_ms: 6, total_ms: 9 }));
  await tick();
  assert.equal(results.length, 2);
  assert.equal(results[1].level, undefined, "a finished picture has no level");
});

test("a frame error frees the slot and is reported", async () => {
  const errors = [];
  const { connection, socket } = connect({ onError: (m) => errors.push(m) });
  connection.requestFrame(async () => "a");
  await tick();
  connection.requestFrame(async () => "b");
  socket.reply(JSON.stringify({ type: "error", frame: 1, status: 422, message: "bad label" }));
  await tick();
  assert.deepEqual(errors, ["bad label (422)"]);
  assert.deepEqual(socket.sent.slice(1), ["a", "b"]);
});

test("a closed socket goes offline and reconnects with backoff, re-sending the config", async () => {
  const { connection, socket, states, timers } = connect();
  connection.setConfig({ model: "n" });
  socket.onclose({ reason: "" });
  assert.equal(states.at(-1), "offline");
  assert.equal(connection.isLive, false);
  assert.equal(timers.pending.at(-1).ms, 500);
  timers.pending.at(-1).fn();
  const second = FakeSocket.instances[1];
  second.open();
  assert.equal(states.at(-1), "live");
  assert.deepEqual(JSON.parse(second.sent[0]), { type: "config", model: "n" });
  second.onclose({});
  assert.equal(timers.pending.at(-1).ms, 500, "a successful open resets the backoff");
  timers.pending.at(-1).fn();
  FakeSocket.instances[2].onclose({});
  assert.equal(timers.pending.at(-1).ms, 1000);
});
