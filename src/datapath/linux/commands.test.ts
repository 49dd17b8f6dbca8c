import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { KernelTools } from "./commands.js";
import { NetnsFixture } from "./netns-fixture.js";

describe("KernelTools: iproute2 in a named namespace", () => {
  let fixture: NetnsFixture | undefined;
  after(() => fixture?.cleanup());
  const namespace = async () => {
    fixture ??= await NetnsFixture.create();
    const ns = await fixture.namespace(`tools${Math.random().toString(16).slice(2, 8)}`);
    await fixture.ip(ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1");
    await fixture.ip(ns, "link", "set", "dev", "eth0", "up");
    await fixture.ip(ns, "link", "set", "dev", "eth1", "up");
    return ns;
  };

  test("a batch runs every line; each failed line comes back with its own tag and message", async () => {
    const ns = await namespace();
    const tools = new KernelTools(ns);
    const failures = await tools.ipBatch([
      { command: "route replace 100.127.2.0/24 dev eth0 proto 116", tag: "first" },
      { command: "route replace 100.127.3.0/24 via 198.18.99.1 dev eth0 proto 116", tag: "unreachable gateway" },
      { command: "route del 100.127.99.0/24 proto 116", tag: "missing" },
      { command: "route replace 100.127.4.0/24 dev eth0 proto 116", tag: "last" },
    ]);
    assert.deepEqual(
      failures.map((f) => f.tag),
      ["unreachable gateway", "missing"],
    );
    assert.match(failures[0]!.message, /gateway/i);
    assert.match(failures[1]!.message, /No such process/);
    const routes = await tools.ipJson<{ dst: string }>(["route", "show", "proto", "116"]);
    assert.deepEqual(routes.map((r) => r.dst).sort(), ["100.127.2.0/24", "100.127.4.0/24"]);
  });

  test("a missing device reads as empty only when asked to", async () => {
    const tools = new KernelTools(await namespace());
    assert.deepEqual(await tools.ipJson(["neigh", "show", "dev", "nosuchdev"], { missingDevice: "empty" }), []);
    await assert.rejects(tools.ipJson(["neigh", "show", "dev", "nosuchdev"]), /Cannot find device "nosuchdev".*network namespace "trtest-dp-/);
  });

  test("sysctls are read and written inside the namespace, not in the caller's", async () => {
    const ns = await namespace();
    const tools = new KernelTools(ns);
    await tools.writeSysctl("net.ipv4.ip_forward", "0");
    assert.equal(await tools.readSysctl("net.ipv4.ip_forward"), "0");
    const own = await new KernelTools().readSysctl("net.ipv4.ip_forward");
    await tools.writeSysctl("net.ipv4.ip_forward", "1");
    assert.equal(await tools.readSysctl("net.ipv4.ip_forward"), "1");
    assert.equal(await new KernelTools().readSysctl("net.ipv4.ip_forward"), own);
  });
});
