/**
 * How the Linux datapath treats state it finds on a node: its own leftovers go, everyone else's
 * stays, and one bad object does not stop the rest from going in.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { run } from "../../util/exec.js";
import { DatapathCommandError, DatapathEnvironmentError } from "../errors.js";
import { describeObject } from "../objects.js";
import type { DesiredNodeState } from "../types.js";
import { LinuxDatapath } from "./linux-datapath.js";
import { NetnsFixture } from "./netns-fixture.js";

const fixtures: NetnsFixture[] = [];
after(() => Promise.all(fixtures.map((f) => f.cleanup())));

/** A node namespace with uplink eth0 (198.18.250.11/24) and one host veth. */
async function node(): Promise<{ f: NetnsFixture; ns: string; desired: DesiredNodeState }> {
  const f = await NetnsFixture.create();
  fixtures.push(f);
  const ns = await f.namespace("node");
  await f.ip(ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0-peer");
  await f.ip(ns, "link", "add", "trl0000000000a", "type", "veth", "peer", "name", "pod-a");
  for (const dev of ["eth0", "eth0-peer", "trl0000000000a", "pod-a"]) await f.ip(ns, "link", "set", "dev", dev, "up");
  await f.ip(ns, "address", "add", "198.18.250.11/24", "dev", "eth0");
  const desired: DesiredNodeState = {
    mode: "tunnel",
    local: { name: "node-1", cluster: "c1", nodeIP: "198.18.250.11", podCIDR: "100.127.1.0/24", uplink: "eth0" },
    peers: [
      { name: "node-2", cluster: "c1", nodeIP: "198.18.250.12", podCIDR: "100.127.2.0/24" },
      { name: "node-3", cluster: "c2", nodeIP: "198.18.250.13", podCIDR: "100.127.3.0/24" },
    ],
    endpoints: [{ ip: "100.127.1.10", hostIfName: "trl0000000000a" }],
  };
  return { f, ns, desired };
}

const described = (list: readonly Parameters<typeof describeObject>[0][]) => list.map(describeObject).sort();

describe("Linux datapath: ownership of kernel state", () => {
  test("a stale Trellis route from an earlier run is removed; routes Trellis did not make are kept", async () => {
    const { f, ns, desired } = await node();
    await f.ip(ns, "route", "add", "100.127.99.0/24", "via", "198.18.250.99", "dev", "eth0", "proto", "116");
    await f.ip(ns, "route", "add", "100.126.0.0/24", "via", "198.18.250.98", "dev", "eth0");
    await f.ip(ns, "route", "add", "100.126.1.0/24", "via", "198.18.250.97", "dev", "eth0", "proto", "static");
    const dp = new LinuxDatapath({ netns: ns });
    const report = await dp.reconcile(desired);
    assert.deepEqual(described(report.removed), ["route 100.127.99.0/24 via 198.18.250.99 dev eth0"]);
    const routes = await f.ip(ns, "route", "show", "table", "main");
    assert.doesNotMatch(routes, /100\.127\.99\.0/);
    assert.match(routes, /100\.126\.0\.0\/24 via 198\.18\.250\.98 dev eth0/);
    assert.match(routes, /100\.126\.1\.0\/24 via 198\.18\.250\.97 dev eth0 proto static/);

    await dp.teardown();
    const left = await f.ip(ns, "route", "show", "table", "main");
    assert.match(left, /100\.126\.0\.0\/24 via 198\.18\.250\.98/);
    assert.match(left, /100\.126\.1\.0\/24 via 198\.18\.250\.97/);
    assert.match(left, /198\.18\.250\.0\/24 dev eth0 proto kernel/);
    assert.equal(await f.ip(ns, "route", "show", "proto", "116"), "");
    assert.doesNotMatch(await f.ip(ns, "-o", "link", "show"), /trellis_vxlan/);
    assert.doesNotMatch(await f.ip(ns, "address", "show", "dev", "lo"), /lo:trellis/);
  });

  test("a route someone else made to a peer's pod CIDR is left alone and reported; the rest goes in", async () => {
    const { f, ns, desired } = await node();
    await f.ip(ns, "route", "add", "100.127.2.0/24", "via", "198.18.250.97", "dev", "eth0", "proto", "static");
    const report = await new LinuxDatapath({ netns: ns }).reconcile(desired);
    assert.equal(report.problems.length, 1);
    assert.match(report.problems[0]!.message, /100\.127\.2\.0\/24 .*did not make \(100\.127\.2\.0\/24 via 198\.18\.250\.97 dev eth0 proto 4\)/);
    assert.match(await f.ip(ns, "route", "show", "100.127.2.0/24"), /via 198\.18\.250\.97 dev eth0 proto static/);
    assert.match(await f.ip(ns, "route", "show", "proto", "116"), /100\.127\.3\.0\/24 via 100\.127\.3\.1 dev trellis_vxlan onlink/);
  });

  test("FDB and neighbour entries on the tunnel device that no peer calls for are removed", async () => {
    const { f, ns, desired } = await node();
    const dp = new LinuxDatapath({ netns: ns });
    await dp.reconcile(desired);
    await run("bridge", ["-n", ns, "fdb", "append", "0e:74:64:7f:63:01", "dev", "trellis_vxlan", "dst", "198.18.250.99"]);
    await f.ip(ns, "neigh", "replace", "100.127.99.1", "lladdr", "0e:74:64:7f:63:01", "dev", "trellis_vxlan", "nud", "permanent");
    const report = await dp.reconcile(desired);
    assert.deepEqual(described(report.removed), [
      "fdb 0e:74:64:7f:63:01 dev trellis_vxlan dst 198.18.250.99",
      "neigh 100.127.99.1 lladdr 0e:74:64:7f:63:01 dev trellis_vxlan nud permanent",
    ]);
    assert.deepEqual([report.added, report.updated], [[], []]);
    assert.doesNotMatch((await run("bridge", ["-n", ns, "fdb", "show", "dev", "trellis_vxlan"])).stdout, /0e:74:64:7f:63:01/);
  });

  test("a tunnel device that cannot be fixed in place is re-created, with its entries", async () => {
    const { f, ns, desired } = await node();
    const dp = new LinuxDatapath({ netns: ns });
    await dp.reconcile(desired);
    await f.ip(ns, "address", "add", "198.18.250.21/24", "dev", "eth0");
    const moved = { ...desired, local: { ...desired.local, nodeIP: "198.18.250.21" } };
    const report = await dp.reconcile(moved);
    assert.equal(report.updated.length, 1);
    assert.match(describeObject(report.updated[0]!.to), /local 198\.18\.250\.21/);
    assert.equal(report.counts.fdb.added, 2);
    assert.equal(report.counts.neigh.added, 2);
    assert.equal(report.counts.route.added, 2);
    const [vx] = await f.ipJson<{ linkinfo: { info_data: { local: string } } }>(ns, "-d", "link", "show", "dev", "trellis_vxlan");
    assert.equal(vx!.linkinfo.info_data.local, "198.18.250.21");
    assert.match(await f.ip(ns, "route", "show", "proto", "116"), /100\.127\.2\.0\/24 via 100\.127\.2\.1 dev trellis_vxlan onlink/);
    assert.equal((await dp.reconcile(moved)).kept, report.added.length + report.updated.length + report.kept);
  });

  test("a device that took the tunnel's name but is no VXLAN device is replaced", async () => {
    const { f, ns, desired } = await node();
    await f.ip(ns, "link", "add", "trellis_vxlan", "type", "bridge");
    const report = await new LinuxDatapath({ netns: ns }).reconcile(desired);
    assert.deepEqual(report.problems, []);
    const [vx] = await f.ipJson<{ linkinfo: { info_kind: string } }>(ns, "-d", "link", "show", "dev", "trellis_vxlan");
    assert.equal(vx!.linkinfo.info_kind, "vxlan");
  });

  test("the router IP follows the pod CIDR, and lo is brought up so the node answers for it", async () => {
    const { f, ns, desired } = await node();
    await f.ip(ns, "link", "set", "dev", "lo", "down");
    const dp = new LinuxDatapath({ netns: ns });
    await dp.reconcile({ ...desired, endpoints: [] });
    assert.match(await f.ip(ns, "link", "show", "dev", "lo"), /<LOOPBACK,UP/);
    assert.match(await f.ip(ns, "address", "show", "dev", "lo"), /inet 100\.127\.1\.1\/32 scope global lo:trellis/);
    const report = await dp.reconcile({ ...desired, local: { ...desired.local, podCIDR: "100.127.5.0/24" }, endpoints: [] });
    assert.ok(described(report.added).includes("address 100.127.5.1/32 dev lo"));
    assert.ok(described(report.removed).includes("address 100.127.1.1/32 dev lo"));
    const lo = await f.ip(ns, "address", "show", "dev", "lo");
    assert.doesNotMatch(lo, /100\.127\.1\.1/);
    assert.match(lo, /127\.0\.0\.1\/8/);
  });
});

describe("Linux datapath: partial failures and bad environments", () => {
  test("an endpoint whose host veth does not exist yet is reported; the rest goes in, and its route follows once the veth exists", async () => {
    const { f, ns, desired } = await node();
    const dp = new LinuxDatapath({ netns: ns });
    const withMissing = { ...desired, endpoints: [...desired.endpoints, { ip: "100.127.1.11", hostIfName: "trl0000000000b" }] };
    const report = await dp.reconcile(withMissing);
    assert.equal(report.problems.length, 1);
    assert.match(report.problems[0]!.message, /interface "trl0000000000b" for 100\.127\.1\.11\/32 does not exist/);
    assert.equal(report.counts.route.added, 3);
    await f.ip(ns, "link", "add", "trl0000000000b", "type", "veth", "peer", "name", "pod-b");
    await f.ip(ns, "link", "set", "dev", "trl0000000000b", "up");
    const later = await dp.reconcile(withMissing);
    assert.deepEqual(described(later.added), ["route 100.127.1.11/32 dev trl0000000000b"]);
    assert.deepEqual(later.problems, []);
  });

  test("native mode: a peer whose node IP is not on the uplink's subnet is reported; the other peers are routed", async () => {
    const { f, ns, desired } = await node();
    const peers = [...desired.peers, { name: "far", cluster: "c3", nodeIP: "198.18.77.5", podCIDR: "100.127.77.0/24" }];
    const report = await new LinuxDatapath({ netns: ns }).reconcile({ ...desired, mode: "native", peers });
    assert.equal(report.problems.length, 1);
    assert.match(report.problems[0]!.message, /could not add route 100\.127\.77\.0\/24 via 198\.18\.77\.5 dev eth0: .*gateway/i);
    const routes = await f.ip(ns, "route", "show", "proto", "116");
    assert.match(routes, /100\.127\.2\.0\/24 via 198\.18\.250\.12 dev eth0/);
    assert.match(routes, /100\.127\.3\.0\/24 via 198\.18\.250\.13 dev eth0/);
    assert.doesNotMatch(routes, /100\.127\.77/);
  });

  test("an uplink that does not exist is an error naming it, and nothing is changed", async () => {
    const { f, ns, desired } = await node();
    const dp = new LinuxDatapath({ netns: ns });
    await assert.rejects(
      dp.reconcile({ ...desired, local: { ...desired.local, uplink: "eth9" } }),
      (e: unknown) => e instanceof DatapathEnvironmentError && /uplink interface "eth9" of node "node-1" does not exist/.test(e.message),
    );
    assert.equal(await f.ip(ns, "route", "show", "proto", "116"), "");
  });

  test("an uplink MTU too small for the tunnel is an error naming the MTU", async () => {
    const { f, ns, desired } = await node();
    await f.ip(ns, "link", "set", "dev", "eth0", "mtu", "100");
    await assert.rejects(new LinuxDatapath({ netns: ns }).reconcile(desired), /underlay MTU 100 of uplink "eth0" leaves 50 for the tunnel/);
  });

  test("a network namespace that does not exist is an error naming it", async () => {
    const { desired } = await node();
    await assert.rejects(
      new LinuxDatapath({ netns: "trtest-dp-no-such-namespace" }).reconcile(desired),
      (e: unknown) => e instanceof DatapathCommandError && /trtest-dp-no-such-namespace/.test(e.message),
    );
  });

  test("an agent running inside the node's namespace (no netns option) programs that namespace", async () => {
    const { f, ns, desired } = await node();
    const module = new URL("./linux-datapath.js", import.meta.url).href;
    const script = `
      const { LinuxDatapath } = await import(${JSON.stringify(module)});
      const report = await new LinuxDatapath().reconcile(JSON.parse(process.env.DESIRED));
      console.log(JSON.stringify({ added: report.added.length, problems: report.problems }));
    `;
    // Under tsx the module is TypeScript and needs its loader; the built tests import plain .js.
    const loader = import.meta.url.endsWith(".ts") ? ["--import", "tsx"] : [];
    const r = await run("ip", ["netns", "exec", ns, process.execPath, ...loader, "--input-type=module", "-e", script], {
      env: { DESIRED: JSON.stringify(desired), TRELLIS_LOG_LEVEL: "silent" },
    });
    assert.deepEqual(JSON.parse(r.stdout), { added: 9, problems: [] });
    assert.match(await f.ip(ns, "route", "show", "proto", "116"), /100\.127\.1\.10 dev trl0000000000a/);
    assert.equal((await f.exec(ns, "sysctl", ["-n", "net.ipv4.ip_forward"])).stdout.trim(), "1");
  });
});
