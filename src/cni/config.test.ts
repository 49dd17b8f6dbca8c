import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DEFAULT_AGENT_SOCKET, parseNetConfig, peekVersion } from "./config.js";
import { CniError, ErrorCode } from "./result.js";

const base = { cniVersion: "1.0.0", name: "trellis", type: "trellis-cni", agentSocket: "/run/trellis/agent.sock" };

function configError(stdin: string): CniError {
  try {
    parseNetConfig(stdin);
  } catch (e) {
    assert.ok(e instanceof CniError);
    return e;
  }
  assert.fail("expected an error");
}

describe("network configuration", () => {
  test("reads the documented configuration and ignores fields meant for others", () => {
    const c = parseNetConfig(JSON.stringify({ ...base, args: { labels: { x: "y" } }, runtimeConfig: {}, dns: { nameservers: ["198.19.1.10"], search: ["svc.cluster.local"] } }));
    assert.equal(c.cniVersion, "1.0.0");
    assert.equal(c.agentSocket, "/run/trellis/agent.sock");
    assert.equal(c.agentTimeoutMs, 30_000);
    assert.deepEqual(c.dns, { nameservers: ["198.19.1.10"], search: ["svc.cluster.local"] });
    assert.equal(parseNetConfig(JSON.stringify({ ...base, agentSocket: undefined })).agentSocket, DEFAULT_AGENT_SOCKET);
  });

  test("not JSON is code 6, an unsupported version code 1, anything else invalid code 7", () => {
    assert.equal(configError("").code, ErrorCode.DecodeFailure);
    assert.equal(configError("{not json").code, ErrorCode.DecodeFailure);
    assert.equal(configError("[1]").code, ErrorCode.DecodeFailure);
    const v = configError(JSON.stringify({ ...base, cniVersion: "0.3.1" }));
    assert.equal(v.code, ErrorCode.IncompatibleVersion);
    assert.match(v.message, /"0\.3\.1"/);
    assert.match(v.details ?? "", /1\.0\.0/);
    const cases: [object, RegExp][] = [
      [{ ...base, cniVersion: undefined }, /"cniVersion" is missing/],
      [{ ...base, name: "" }, /"name" is ""/],
      [{ ...base, type: 3 }, /"type" is 3/],
      [{ ...base, agentSocket: "agent.sock" }, /"agentSocket" is "agent\.sock"/],
      [{ ...base, agentTimeoutSeconds: 0 }, /"agentTimeoutSeconds" is 0/],
      [{ ...base, dns: { nameservers: ["ns1"] } }, /"dns.nameservers" has "ns1"/],
      [{ ...base, "cni.dev/valid-attachments": [{ containerID: "a" }] }, /valid-attachments"\[0\]/],
    ];
    for (const [config, pattern] of cases) {
      const e = configError(JSON.stringify(config));
      assert.equal(e.code, ErrorCode.InvalidConfig, e.message);
      assert.match(e.message, pattern);
    }
  });

  test("errors are answered in the configuration's version when it is readable", () => {
    assert.equal(peekVersion(JSON.stringify({ ...base, cniVersion: "1.1.0", name: 5 })), "1.1.0");
    assert.equal(peekVersion("{oops"), undefined);
    assert.equal(peekVersion(JSON.stringify({ cniVersion: "9.9.9" })), undefined);
  });
});
