/**
 * The prober, first with stand-in probes (scheduling, concurrency, failures), then against real
 * targets: namespaces on a bridge, all named trtest-hl-<pid>-..., cleaned up after (and leftovers
 * of a crashed run first). The prober runs inside node A's namespace through the test driver:
 *   A 198.18.251.11  local node: health server, health endpoint 100.127.11.2 (built by HealthEndpoint)
 *   B 198.18.251.12  remote node: health server, health endpoint 100.127.12.2, routed natively
 *   C 198.18.251.13  remote node: health server behind an nftables rule dropping TCP 4240
 *   198.18.251.99    nobody: an unused address of the test subnet
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { diagnose } from "./diagnose.js";
import type { HealthEndpointSpec, HealthEndpointStatus } from "./health-endpoint.js";
import { HealthProber, type HttpProbe, type IcmpProbe } from "./prober.js";
import { formatHealthStatus } from "./status-format.js";
import { Testbed, testResponderCommand } from "./testing/testbed.js";
import type { HealthReport, HealthTarget, ProbeOutcome, TargetResult } from "./types.js";

const OK: ProbeOutcome = { ok: true, rttMs: 0.5 };
const okIcmp: IcmpProbe = async () => OK;
const okHttp: HttpProbe = async () => OK;

function targets(n: number): HealthTarget[] {
  return Array.from({ length: n }, (_, i) => ({ cluster: "cluster-2", node: `node-${i}`, local: i === 0, hostIP: `198.18.2.${10 + i}`, healthIP: `100.66.${i}.2` }));
}

/** Lets pending promise callbacks and I/O run, without waiting on any timer. */
async function settle(until: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (until()) return;
    await new Promise((r) => setImmediate(r));
  }
  assert.fail(`never happened: ${what}`);
}

describe("HealthProber scheduling and results", () => {
  test("each target gets ICMP and HTTP to its IP and, when it has one, to its health endpoint", async () => {
    const seen: string[] = [];
    const prober = new HealthProber({
      targets: [
        { cluster: "c1", node: "n1", local: true, hostIP: "198.18.1.11", healthIP: "100.65.0.2" },
        { cluster: "c2", node: "n1", local: false, hostIP: "198.18.2.11" },
      ],
      icmp: async (ip) => (seen.push(`icmp ${ip}`), OK),
      http: async (ip, port, timeoutMs) => (seen.push(`http ${ip}:${port} ${timeoutMs}`), OK),
      timeoutMs: 1500,
    });
    const report = await prober.probeNow();
    assert.deepEqual(seen.sort(), ["http 100.65.0.2:4240 1500", "http 198.18.1.11:4240 1500", "http 198.18.2.11:4240 1500", "icmp 100.65.0.2", "icmp 198.18.1.11", "icmp 198.18.2.11"]);
    const [local, remote] = report.nodes as [TargetResult, TargetResult];
    assert.deepEqual(local.endpoint, { ip: "100.65.0.2", icmp: OK, http: OK });
    assert.equal(local.local, true);
    assert.equal(remote.endpoint, undefined);
    assert.ok(!Number.isNaN(Date.parse(report.probeTime)) && !Number.isNaN(Date.parse(remote.lastProbed)));
    assert.equal(report.intervalMs, 60_000, "Cilium's default interval");
    assert.equal(prober.latest(), report);
  });

  test("at most `concurrency` probes run at once, and they do run concurrently", async () => {
    let active = 0;
    let peak = 0;
    const slow = async (): Promise<ProbeOutcome> => {
      active++;
      peak = Math.max(peak, active);
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      active--;
      return OK;
    };
    const report = await new HealthProber({ targets: targets(40), icmp: slow, http: slow }).probeNow();
    assert.equal(report.nodes.length, 40);
    assert.equal(peak, 16);
    const narrow = await new HealthProber({ targets: targets(5), icmp: slow, http: slow, concurrency: 3 }).probeNow();
    assert.equal(narrow.nodes.length, 5);
    assert.equal(peak, 16);
  });

  test("a probe that throws, a target list that throws, or a bad IP never escape the round", async () => {
    const boom = new HealthProber({ targets: targets(2), icmp: async () => Promise.reject(new Error("raw socket denied")), http: okHttp });
    const r = await boom.probeNow();
    assert.deepEqual(r.nodes[0]!.host.icmp, { ok: false, error: "probe failed: raw socket denied" });
    assert.equal(r.nodes[0]!.host.http.ok, true);

    const noList = await new HealthProber({ targets: () => { throw new Error("cache not ready"); }, icmp: okIcmp, http: okHttp, logger: silent() }).probeNow();
    assert.deepEqual(noList.nodes, []);

    const bad = await new HealthProber({ targets: [{ cluster: "c", node: "n", local: false, hostIP: "198.18.2" }], icmp: okIcmp, http: okHttp }).probeNow();
    assert.deepEqual(bad.nodes[0]!.host.icmp, { ok: false, error: 'not probed: "198.18.2" is not an IPv4 address' });
  });

  test("probeNow() during a round gets the next round; callers in the meantime share it", async () => {
    const gates: (() => void)[] = [];
    const gated: IcmpProbe = () => new Promise((r) => gates.push(() => r(OK)));
    let rounds = 0;
    const prober = new HealthProber({ targets: targets(1), icmp: gated, http: okHttp, onReport: () => rounds++ });
    const first = prober.probeNow();
    const second = prober.probeNow();
    const third = prober.probeNow();
    assert.notEqual(first, second);
    assert.equal(second, third);
    await settle(() => gates.length === 2, "the first round's ICMP probes");
    gates.splice(0).forEach((open) => open());
    await first;
    await settle(() => gates.length === 2, "the second round's ICMP probes");
    gates.splice(0).forEach((open) => open());
    await second;
    assert.equal(rounds, 2);
  });

  test("start() probes at once and then every interval; stop() ends the loop", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    let rounds = 0;
    const prober = new HealthProber({ targets: targets(2), intervalMs: 60_000, icmp: okIcmp, http: okHttp, onReport: () => rounds++ });
    prober.start();
    await settle(() => rounds === 1, "the first round at start");
    t.mock.timers.tick(59_999);
    await settle(() => true, "");
    assert.equal(rounds, 1, "nothing before the interval has passed");
    t.mock.timers.tick(1);
    await settle(() => rounds === 2, "the second round one interval later");
    await prober.stop();
    t.mock.timers.tick(10 * 60_000);
    await settle(() => true, "");
    assert.equal(rounds, 2, "no round after stop()");
  });

  test("bad settings are refused with the value given", () => {
    assert.throws(() => new HealthProber({ targets: [], intervalMs: 0 }), /health probe interval must be a positive whole number of milliseconds \(got 0\)/);
    assert.throws(() => new HealthProber({ targets: [], concurrency: 1.5 }), /concurrency .*1\.5/);
    assert.throws(() => new HealthProber({ targets: [], port: 99999 }), /port .*99999/);
  });
});

function silent() {
  const noop = () => undefined;
  const logger = { debug: noop, info: noop, warn: noop, error: noop, child: () => logger };
  return logger as unknown as NonNullable<ConstructorParameters<typeof HealthProber>[0]["logger"]>;
}

// ---------------------------------------------------------------------------------------------
// Real targets

const A = "198.18.251.11";
const B = "198.18.251.12";
const C = "198.18.251.13";
const NOBODY = "198.18.251.99";
const A_HEALTH = "100.127.11.2";
const B_HEALTH = "100.127.12.2";
const TIMEOUT_MS = 1000;

describe("HealthProber against real nodes", () => {
  let bed: Testbed;
  let nodeA: string;
  let report: HealthReport;
  const byNode = (name: string) => report.nodes.find((n) => n.node === name)!;

  async function endpointOn(ns: string, suffix: string, ip: string, routerIp: string, node: string): Promise<void> {
    const spec: HealthEndpointSpec = {
      netns: bed.name(`health-${suffix}`),
      ip,
      routerIp,
      mtu: 1500,
      identity: { cluster: suffix === "a" ? "cluster-1" : "cluster-2", node },
      stateDir: bed.workDir,
      responder: testResponderCommand(),
      readyTimeoutMs: 30_000,
      env: { TRELLIS_LOG_LEVEL: "warn" },
    };
    await bed.exec(ns, "ip", ["addr", "add", `${routerIp}/32`, "dev", "lo"]);
    const status = await bed.driver<HealthEndpointStatus>(ns, { op: "ensure", spec });
    // What the node's datapath does once the agent registers the endpoint's host veth.
    await bed.exec(ns, "ip", ["route", "replace", `${ip}/32`, "dev", status.hostIfName]);
  }

  before(async () => {
    bed = await Testbed.create();
    nodeA = await bed.node("a", `${A}/24`);
    const nodeB = await bed.node("b", `${B}/24`);
    const nodeC = await bed.node("c", `${C}/24`);
    await Promise.all([
      bed.healthServer(nodeA, A, "cluster-1", "node-a"),
      bed.healthServer(nodeB, B, "cluster-2", "node-b"),
      bed.healthServer(nodeC, C, "cluster-2", "node-c"),
    ]);
    await endpointOn(nodeA, "a", A_HEALTH, "100.127.11.1", "node-a");
    await endpointOn(nodeB, "b", B_HEALTH, "100.127.12.1", "node-b");
    // Native routing from A to B's pods; B forwards to its endpoint and answers A directly.
    await bed.exec(nodeA, "ip", ["route", "add", "100.127.12.0/24", "via", B]);
    await bed.exec(nodeB, "sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
    await bed.exec(nodeC, "nft", ["-f", "-"], {
      input: "table inet trtest_hl {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    tcp dport 4240 drop\n  }\n}\n",
    });

    report = await bed.driver<HealthReport>(nodeA, {
      op: "probe",
      timeoutMs: TIMEOUT_MS,
      targets: [
        { cluster: "cluster-1", node: "node-a", local: true, hostIP: A, healthIP: A_HEALTH },
        { cluster: "cluster-2", node: "node-b", local: false, hostIP: B, healthIP: B_HEALTH },
        { cluster: "cluster-2", node: "node-c", local: false, hostIP: C },
        { cluster: "cluster-2", node: "gone", local: false, hostIP: NOBODY },
      ],
    });
  });

  after(async () => {
    await bed?.cleanup();
  });

  test("the local node and its health endpoint answer ICMP and HTTP", () => {
    const a = byNode("node-a");
    for (const [what, o] of [["host icmp", a.host.icmp], ["host http", a.host.http], ["endpoint icmp", a.endpoint?.icmp], ["endpoint http", a.endpoint?.http]] as const) {
      assert.equal(o?.ok, true, `${what}: ${o?.error}`);
      assert.ok(o.rttMs! > 0 && o.rttMs! < TIMEOUT_MS, `${what} RTT ${o.rttMs}`);
    }
  });

  test("a remote node and its health endpoint (reached through the pod route) answer ICMP and HTTP", () => {
    const b = byNode("node-b");
    assert.deepEqual([b.host.icmp.ok, b.host.http.ok, b.endpoint?.icmp.ok, b.endpoint?.http.ok], [true, true, true, true], JSON.stringify(b));
  });

  test("TCP 4240 dropped: ICMP works, HTTP times out, and the hint names TCP 4240", () => {
    const c = byNode("node-c");
    assert.equal(c.host.icmp.ok, true, c.host.icmp.error);
    assert.equal(c.host.http.ok, false);
    assert.equal(c.host.http.error, `Get "http://${C}:4240/hello": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`);
    const hints = diagnose(report.nodes).filter((h) => h.node === "cluster-2/node-c");
    assert.deepEqual(hints.map((h) => h.code), ["tcp-4240-blocked"]);
    assert.match(hints[0]!.message, /TCP 4240 may be blocked between the nodes/);
  });

  test("an address nobody holds fails both probes", () => {
    const gone = byNode("gone");
    assert.deepEqual(gone.host.icmp, { ok: false, error: "Connection timed out" });
    assert.equal(gone.host.http.ok, false);
    assert.match(gone.host.http.error!, new RegExp(`^Get "http://${NOBODY.replaceAll(".", "\\.")}:4240/hello": `));
  });

  test("the status text lists the two failing nodes with their errors and the TCP 4240 hint", () => {
    const text = formatHealthStatus(report);
    assert.match(text, /^Cluster health: {3}2\/4 reachable\n/);
    assert.match(text, new RegExp(`  cluster-2/node-c:\\n    Host connectivity to ${C.replaceAll(".", "\\.")}:\\n      ICMP to stack:   OK, RTT=[\\d.]+(µs|ms)\\n      HTTP to agent:   Get "http://`));
    assert.match(text, /ICMP to stack: {3}Connection timed out/);
    assert.ok(!text.includes("node-a") && !text.includes("node-b:"), "healthy nodes are not listed without verbose");
    assert.match(text, /Hints:\n(.*\n)* {2}cluster-2\/node-c: .*TCP 4240 may be blocked between the nodes/);
  });
});
