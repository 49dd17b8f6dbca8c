import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { datapathContract } from "../contract.js";
import { describeObject } from "../objects.js";
import type { DesiredNodeState } from "../types.js";
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
