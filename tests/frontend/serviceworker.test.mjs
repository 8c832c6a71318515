import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

const js = new URL("../../frontend/js/", import.meta.url);

test("the service worker precaches every module of the page, so an offline visit finds each import", () => {
  const source = readFileSync(new URL("../sw.js", js), "utf8");
  const list = source.slice(source.indexOf("const MODULES = ["), source.indexOf("].map"));
  const listed = new Set([...list.matchAll(/"([\w/]+\.js)"/g)].map((match) => match[1]));
  const modules = readdirSync(js, { recursive: true }).filter((name) => name.endsWith(".js"));
  assert.deepEqual([...modules].sort(), [...listed].sort());
});
