import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test, type TestContext } from "node:test";
import { EtcdConfigError, loadEtcdConfigFile, validateEtcdConfig } from "./etcd-config.js";

const CA = "-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n";
const CERT = "-----BEGIN CERTIFICATE-----\nclient\n-----END CERTIFICATE-----\n";
const KEY = "-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n";

async function dir(t: TestContext): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "trellis-etcd-config-"));
  t.after(() => rm(d, { recursive: true, force: true }));
  return d;
}

describe("loadEtcdConfigFile", () => {
  test("reads Cilium's clustermesh etcd config: endpoints, CA, client certificate and key", async (t) => {
    const d = await dir(t);
    await mkdir(join(d, "certs"));
    await writeFile(join(d, "certs", "ca.crt"), CA);
    await writeFile(join(d, "certs", "client.crt"), CERT);
    await writeFile(join(d, "certs", "client.key"), KEY);
    // The shape Cilium's Helm chart writes for each remote cluster.
    await writeFile(
      join(d, "cluster2"),
      ["endpoints:", "- https://cluster2.mesh.cilium.io:2379", `trusted-ca-file: ${join(d, "certs", "ca.crt")}`, "key-file: certs/client.key", "cert-file: certs/client.crt", ""].join("\n"),
    );
    const config = await loadEtcdConfigFile(join(d, "cluster2"));
    assert.deepEqual(config.endpoints, ["https://cluster2.mesh.cilium.io:2379"]);
    assert.equal(String(config.tls?.ca), CA);
    assert.equal(String(config.tls?.cert), CERT, "relative paths are read from the config file's directory");
    assert.equal(String(config.tls?.key), KEY);
    assert.equal(config.auth, undefined);
  });

  test("takes username, password, dial-timeout and the older ca-file spelling", async (t) => {
    const d = await dir(t);
    await writeFile(join(d, "ca.pem"), CA);
    await writeFile(join(d, "etcd.yaml"), "endpoints: ['https://a:2379', 'https://b:2379']\nca-file: ca.pem\nusername: admin-c1\npassword: s3cret\ndial-timeout: 1m30s\n");
    const config = await loadEtcdConfigFile(join(d, "etcd.yaml"));
    assert.deepEqual(config.endpoints, ["https://a:2379", "https://b:2379"]);
    assert.deepEqual(config.auth, { username: "admin-c1", password: "s3cret" });
    assert.equal(config.dialTimeoutMs, 90_000);
    assert.equal(config.tls?.cert, undefined);
  });

  test("plain http endpoints need no TLS files", async (t) => {
    const d = await dir(t);
    await writeFile(join(d, "etcd.yaml"), "endpoints:\n- http://127.0.0.1:2379\n");
    assert.deepEqual(await loadEtcdConfigFile(join(d, "etcd.yaml")), { endpoints: ["http://127.0.0.1:2379"] });
  });

  const bad: [string, string, RegExp][] = [
    ["no endpoints", "trusted-ca-file: ca.pem\n", /"endpoints" must be a list of URLs .*\(got undefined\)/],
    ["endpoints not a list", "endpoints: https://a:2379\n", /"endpoints" must be a list of URLs .*\(got "https:\/\/a:2379"\)/],
    ["an endpoint without scheme", "endpoints: ['etcd:2379']\n", /endpoint "etcd:2379" must start with https:\/\/ or http:\/\//],
    ["an endpoint without port", "endpoints: ['http://etcd']\n", /endpoint "http:\/\/etcd" has no port/],
    ["mixed schemes", "endpoints: ['http://a:1', 'https://b:2']\ntrusted-ca-file: ca.pem\n", /mix https:\/\/ and http:\/\//],
    ["https without a CA", "endpoints: ['https://a:2379']\n", /https endpoints need trusted-ca-file/],
    ["a certificate without its key", "endpoints: ['https://a:2379']\ntrusted-ca-file: ca.pem\ncert-file: client.crt\n", /cert-file and key-file go together \(got only cert-file client.crt\)/],
    ["a missing CA file", "endpoints: ['https://a:2379']\ntrusted-ca-file: nowhere.pem\n", /cannot read trusted-ca-file .*nowhere\.pem/],
    ["a password without user", "endpoints: ['http://a:2379']\npassword: x\n", /password is given without a username/],
    ["a bad dial-timeout", "endpoints: ['http://a:2379']\ndial-timeout: soon\n", /dial-timeout must be a duration such as "5s" \(got "soon"\)/],
    ["insecure-skip-tls-verify", "endpoints: ['https://a:2379']\ninsecure-skip-tls-verify: true\n", /insecure-skip-tls-verify is not supported/],
    ["a list instead of a mapping", "- a\n- b\n", /must be a YAML mapping/],
    ["broken YAML", "endpoints: [\n", /is not valid YAML/],
  ];
  for (const [what, text, message] of bad) {
    test(`refuses ${what} with an error naming the file and the value`, async (t) => {
      const d = await dir(t);
      await writeFile(join(d, "ca.pem"), CA);
      const path = join(d, "etcd.yaml");
      await writeFile(path, text);
      await assert.rejects(loadEtcdConfigFile(path), (e: Error) => e instanceof EtcdConfigError && message.test(e.message) && e.message.includes(path));
    });
  }

  test("a missing file is named in the error", async () => {
    await assert.rejects(loadEtcdConfigFile("/nonexistent/etcd.yaml"), /cannot read etcd config file \/nonexistent\/etcd\.yaml/);
  });
});

describe("validateEtcdConfig", () => {
  test("refuses TLS material with http endpoints and non-PEM certificates", () => {
    assert.throws(() => validateEtcdConfig({ endpoints: ["http://a:1"], tls: { ca: CA } }), /TLS material is given but the endpoints use http:\/\//);
    assert.throws(() => validateEtcdConfig({ endpoints: ["https://a:1"], tls: { ca: "not pem" } }), /trusted CA is not PEM/);
    assert.throws(() => validateEtcdConfig({ endpoints: [] }), /at least one URL/);
    assert.throws(() => validateEtcdConfig({ endpoints: ["https://a:1"], dialTimeoutMs: -1 }), /dialTimeoutMs must be a positive number of milliseconds \(got -1\)/);
  });
});
