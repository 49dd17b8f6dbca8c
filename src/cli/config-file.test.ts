import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigFileError, emptyConfig, loadConfig, removeContexts, resolveContext, saveConfig, upsertContext, type ContextEntry } from "./config-file.js";

const ctx = (name: string): ContextEntry => ({
  name,
  context: { cluster: name, kvstore: { endpoints: [`https://${name}:2379`] }, "state-dir": `/tmp/${name}` },
});

test("contexts round-trip through the file; the first one becomes current", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "trellis-cfg-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "sub", "config");
  assert.deepEqual(loadConfig(path), emptyConfig(), "a missing file is an empty config");
  let cfg = upsertContext(emptyConfig(), ctx("cluster-1"));
  cfg = upsertContext(cfg, ctx("cluster-2"));
  saveConfig(cfg, path);
  const back = loadConfig(path);
  assert.equal(back["current-context"], "cluster-1");
  assert.deepEqual(back.contexts.map((c) => c.name), ["cluster-1", "cluster-2"]);
  assert.equal(resolveContext(back).name, "cluster-1");
  assert.equal(resolveContext(back, "cluster-2").context.cluster, "cluster-2");
});

test("unknown contexts and broken files give actionable errors", (t) => {
  const cfg = upsertContext(emptyConfig(), ctx("cluster-1"));
  assert.throws(() => resolveContext(cfg, "nope"), /context "nope" not found .*known contexts: cluster-1/);
  assert.throws(() => resolveContext(emptyConfig()), /no contexts configured .*trellis lab up/);
  const dir = mkdtempSync(join(tmpdir(), "trellis-cfg-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, "config");
  writeFileSync(path, "apiVersion: trellis.io/v1\nkind: Config\ncontexts: [{name: x}]\n");
  assert.throws(() => loadConfig(path), (e: unknown) => e instanceof ConfigFileError && /contexts\.0\.context/.test(e.message));
  writeFileSync(path, "{{{");
  assert.throws(() => loadConfig(path), /not valid YAML/);
});

test("removing contexts moves current-context to a remaining one", () => {
  let cfg = upsertContext(upsertContext(emptyConfig(), ctx("a")), ctx("b"));
  cfg = removeContexts(cfg, new Set(["a"]));
  assert.equal(cfg["current-context"], "b");
  cfg = removeContexts(cfg, new Set(["b"]));
  assert.equal(cfg["current-context"], undefined);
  assert.equal(cfg.contexts.length, 0);
});
