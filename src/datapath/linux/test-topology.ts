/**
 * Test support: a small lab of real namespaces. A "fabric" namespace holds a bridge; each node
 * namespace has an uplink veth `eth0` on that bridge (198.18.250.1N/24) and a pod CIDR
 * 100.127.N.0/24; each pod namespace is wired the way the CNI plugin does it
 * (docs/agent-api.md): `<ip>/32` on eth0, a link route to the router IP, a default route via it,
 * and a host veth `trl` + 11 hex digits of sha256(containerID) in the node namespace.
 */
import { createHash } from "node:crypto";
import { spawn } from "node:child_process";
import { podMtu } from "../mtu.js";
import { routerIP } from "../node-addressing.js";
import type { DatapathMode, DesiredNodeState, LocalEndpoint, LocalNode, PeerNode } from "../types.js";
import { type NetnsFixture } from "./netns-fixture.js";

export interface TestNode {
  readonly index: number;
  readonly netns: string;
  readonly local: LocalNode;
  readonly pods: TestPod[];
}

export interface TestPod {
  readonly netns: string;
  readonly ip: string;
  readonly endpoint: LocalEndpoint;
}

export function hostIfName(containerId: string): string {
  return `trl${createHash("sha256").update(containerId).digest("hex").slice(0, 11)}`;
}

export class TestTopology {
  private constructor(
    readonly fixture: NetnsFixture,
    readonly fabric: string,
    readonly nodes: TestNode[],
    readonly uplinkMtu: number,
  ) {}

  static async create(fixture: NetnsFixture, nodeCount: number, uplinkMtu = 1500): Promise<TestTopology> {
    const fabric = await fixture.namespace("fabric");
    await fixture.ip(fabric, "link", "add", "br0", "type", "bridge");
    await fixture.ip(fabric, "link", "set", "dev", "br0", "up");
    const nodes: TestNode[] = [];
    for (let i = 1; i <= nodeCount; i++) {
      const netns = await fixture.namespace(`node${i}`);
      await fixture.ip(netns, "link", "add", "eth0", "mtu", String(uplinkMtu), "type", "veth", "peer", "name", `port${i}`, "netns", fabric);
      await fixture.ip(fabric, "link", "set", "dev", `port${i}`, "mtu", String(uplinkMtu), "master", "br0", "up");
      await fixture.ip(netns, "address", "add", `198.18.250.${10 + i}/24`, "dev", "eth0");
      await fixture.ip(netns, "link", "set", "dev", "eth0", "up");
      const local: LocalNode = { name: `node-${i}`, cluster: i === 3 ? "c2" : "c1", nodeIP: `198.18.250.${10 + i}`, podCIDR: `100.127.${i}.0/24`, uplink: "eth0" };
      nodes.push({ index: i, netns, local, pods: [] });
    }
    return new TestTopology(fixture, fabric, nodes, uplinkMtu);
  }

  /** A pod on `node` with address 100.127.N.<host>, wired as the CNI plugin would for `mode`. */
  async addPod(node: TestNode, host: number, mode: DatapathMode): Promise<TestPod> {
    const f = this.fixture;
    const netns = await f.namespace(`pod${node.index}-${host}`);
    const ip = `100.127.${node.index}.${host}`;
    const containerId = `${netns}-container`;
    const hostIf = hostIfName(containerId);
    const mtu = String(podMtu(mode, this.uplinkMtu));
    await f.ip(node.netns, "link", "add", hostIf, "mtu", mtu, "type", "veth", "peer", "name", "eth0", "netns", netns);
    await f.ip(node.netns, "link", "set", "dev", hostIf, "up");
    await f.ip(netns, "link", "set", "dev", "eth0", "mtu", mtu, "up");
    await f.ip(netns, "address", "add", `${ip}/32`, "dev", "eth0");
    const gateway = routerIP(node.local.podCIDR);
    await f.ip(netns, "route", "add", gateway, "dev", "eth0", "scope", "link");
    await f.ip(netns, "route", "add", "default", "via", gateway, "dev", "eth0");
    const pod: TestPod = { netns, ip, endpoint: { ip, hostIfName: hostIf, containerId } };
    node.pods.push(pod);
    return pod;
  }

  peersOf(node: TestNode): PeerNode[] {
    return this.nodes.filter((n) => n !== node).map(({ local }) => ({ name: local.name, cluster: local.cluster, nodeIP: local.nodeIP, podCIDR: local.podCIDR }));
  }

  desired(node: TestNode, mode: DatapathMode, peers = this.peersOf(node)): DesiredNodeState {
    return { mode, local: node.local, peers, endpoints: node.pods.map((p) => p.endpoint) };
  }

  /** One ping; true when it was answered. */
  async ping(from: TestPod, to: string): Promise<boolean> {
    const r = await this.fixture.exec(from.netns, "ping", ["-c", "1", "-W", "1", "-n", "-q", to], { allowFailure: true });
    return r.code === 0;
  }

  /**
   * Counters on the fabric bridge (frames between nodes): VXLAN (UDP 8472) and packets whose
   * outer source is a pod address, i.e. pod traffic crossing the underlay unencapsulated.
   */
  async installCounters(): Promise<void> {
    const rules = [
      "table bridge trtest {",
      "  counter vxlan { }",
      "  counter bare_pod { }",
      "  chain observe {",
      "    type filter hook forward priority 0; policy accept;",
      '    udp dport 8472 counter name "vxlan"',
      '    ip saddr 100.64.0.0/10 counter name "bare_pod"',
      "  }",
      "}",
    ];
    await this.fixture.exec(this.fabric, "nft", ["-f", "-"], { input: rules.join("\n") + "\n" });
  }

  async counters(): Promise<{ vxlan: number; barePod: number }> {
    const r = await this.fixture.exec(this.fabric, "nft", ["-j", "list", "counters", "table", "bridge", "trtest"]);
    const items = (JSON.parse(r.stdout) as { nftables: { counter?: { name: string; packets: number } }[] }).nftables;
    const get = (name: string) => items.find((i) => i.counter?.name === name)?.counter?.packets ?? 0;
    return { vxlan: get("vxlan"), barePod: get("bare_pod") };
  }
}

/** A ping running in the background: `count` echo requests, one every 50 ms. */
export class RunningPing {
  private readonly child;
  private output = "";
  private readonly exited: Promise<number>;
  private done = false;

  constructor(netns: string, to: string, count: number) {
    this.child = spawn("ip", ["netns", "exec", netns, "ping", "-n", "-c", String(count), "-i", "0.05", "-W", "1", to], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child.stdout.on("data", (b: Buffer) => (this.output += b.toString()));
    this.exited = new Promise((resolve) =>
      this.child.on("close", (code) => {
        this.done = true;
        resolve(code ?? -1);
      }),
    );
  }

  get replies(): number {
    return (this.output.match(/bytes from/g) ?? []).length;
  }

  get finished(): boolean {
    return this.done;
  }

  /** Waits for the last request (answered or timed out) and returns the summary. */
  async result(): Promise<{ transmitted: number; received: number; output: string }> {
    await this.exited;
    const m = /(\d+) packets transmitted, (\d+) received/.exec(this.output);
    return { transmitted: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0), output: this.output };
  }

  kill(): void {
    if (!this.done) this.child.kill("SIGKILL");
  }
}
