import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { datapathContract } from "../contract.js";
import { describeObject } from "../objects.js";
import type { DesiredNodeState, NodePolicyState } from "../types.js";
import { FakeKernel, RecordingDatapath } from "./recording-datapath.js";

datapathContract("recording fake", {
  async createNode() {
    const kernel = new FakeKernel();
    const uplinkMtu = 1400;
    return {
      datapath: new RecordingDatapath({ kernel, uplinkMtu }),
      restart: () => new RecordingDatapath({ kernel, uplinkMtu }),
      local: { name: "node-1", cluster: "c1", nodeIP: "198.18.250.11", podCIDR: "100.127.1.0/24", uplink: "eth0" },
      uplinkMtu,
      peerNodeIPs: ["198.18.250.12", "198.18.250.13", "198.18.250.14", "198.18.250.15"],
      endpointInterfaces: ["trl00000000001", "trl00000000002", "trl00000000003"],
      installed: async () => kernel.list(),
      cleanup: async () => {},
    };
  },
});

const desired: DesiredNodeState = {
  mode: "tunnel",
  local: { name: "node-1", cluster: "c1", nodeIP: "198.18.250.11", podCIDR: "100.127.1.0/24", uplink: "eth0" },
  peers: [{ name: "node-2", cluster: "c1", nodeIP: "198.18.250.12", podCIDR: "100.127.2.0/24" }],
  endpoints: [],
};

describe("RecordingDatapath, for tests of the layers above", () => {
  test("records each desired state as given at the time of the call", async () => {
    const dp = new RecordingDatapath();
    const mutable = structuredClone(desired) as { -readonly [K in keyof DesiredNodeState]: DesiredNodeState[K] };
    await dp.reconcile(mutable);
    mutable.mode = "native";
    await dp.reconcile(mutable);
    assert.deepEqual(
      dp.desiredStates.map((d) => d.mode),
      ["tunnel", "native"],
    );
    assert.equal(dp.lastDesired?.mode, "native");
  });

  test("failNext makes exactly the next call fail, and that call changes nothing", async () => {
    const dp = new RecordingDatapath();
    dp.failNext(new Error("netlink is sad"));
    await assert.rejects(dp.reconcile(desired), /netlink is sad/);
    assert.deepEqual(dp.kernel.list().map(describeObject), ["sysctl net.ipv4.ip_forward=0"]);
    const report = await dp.reconcile(desired);
    assert.equal(report.added.length, 5);
    assert.deepEqual(
      dp.calls.map((c) => [c.kind, c.error?.message]),
      [
        ["reconcile", "netlink is sad"],
        ["reconcile", undefined],
      ],
    );
  });

  test("waitForDesired resolves on a state recorded later and rejects after its deadline", async () => {
    const dp = new RecordingDatapath();
    const waiting = dp.waitForDesired((d) => d.peers.length === 0);
    await dp.reconcile(desired);
    await dp.reconcile({ ...desired, peers: [] });
    assert.deepEqual((await waiting).peers, []);
    await assert.rejects(dp.waitForDesired((d) => d.mode === "native", 20), /no matching desired state within 20 ms; 2 recorded/);
  });
});

const policy = (ipcache: [string, number][], ingressAllow: string[] = []): NodePolicyState => ({
  ipcache: new Map(ipcache),
  endpoints: [
    {
      hostIfName: "trl00000000001",
      ip: "100.127.1.10",
      ingress: { enforced: true, allow: new Set(ingressAllow), deny: new Set() },
      egress: { enforced: false, allow: new Set(), deny: new Set() },
    },
  ],
});

describe("RecordingDatapath.reconcilePolicy", () => {
  test("records each policy state as a copy and makes it the fake node's policy", async () => {
    const dp = new RecordingDatapath();
    const ipcache: [string, number][] = [["100.127.1.10", 65537]];
    const state = policy(ipcache, ["65538/6/80"]);
    await dp.reconcilePolicy(state);
    (state.ipcache as Map<string, number>).set("100.127.9.9", 9);
    assert.deepEqual([...dp.lastPolicy!.ipcache], ipcache);
    assert.deepEqual([...dp.kernel.policy!.endpoints[0]!.ingress.allow], ["65538/6/80"]);
    await dp.teardown();
    assert.equal(dp.kernel.policy, undefined);
  });

  test("reports what changed since the last call, and a rebuild first and after a failure", async () => {
    const dp = new RecordingDatapath();
    const first = await dp.reconcilePolicy(policy([["100.127.1.10", 65537]]));
    assert.equal(first.rebuilt, true);
    assert.deepEqual(first.endpoints, { added: 1, updated: 0, removed: 0, kept: 0 });
    const second = await dp.reconcilePolicy(policy([["100.127.1.10", 65538], ["100.127.1.11", 65537]], ["65537/6/80"]));
    assert.equal(second.rebuilt, false);
    assert.deepEqual(second.ipcache, { added: 1, updated: 1, removed: 0 });
    assert.deepEqual(second.endpoints, { added: 0, updated: 1, removed: 0, kept: 0 });
    dp.failNext(new Error("nft is sad"));
    await assert.rejects(dp.reconcilePolicy(policy([])), /nft is sad/);
    const third = await dp.reconcilePolicy({ ipcache: new Map(), endpoints: [] });
    assert.equal(third.rebuilt, true);
    assert.deepEqual(
      dp.calls.map((c) => [c.kind, c.error?.message]),
      [
        ["reconcilePolicy", undefined],
        ["reconcilePolicy", undefined],
        ["reconcilePolicy", "nft is sad"],
        ["reconcilePolicy", undefined],
      ],
    );
  });

  test("waitForPolicy resolves on a state recorded later", async () => {
    const dp = new RecordingDatapath();
    const waiting = dp.waitForPolicy((p) => p.ipcache.get("100.127.1.10") === 7);
    await dp.reconcilePolicy(policy([["100.127.1.10", 6]]));
    await dp.reconcilePolicy(policy([["100.127.1.10", 7]]));
    assert.equal((await waiting).ipcache.get("100.127.1.10"), 7);
  });
});
