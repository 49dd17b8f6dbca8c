/**
 * Service datapath benchmark, on a real network namespace programmed by LinuxDatapath:
 *   1. time to program 10,000 services x 10 backends from scratch (one nft transaction), and for a
 *      new instance to adopt them unchanged (the full read an agent restart does);
 *   2. the time of ONE backend change (a backend turning inactive, then active again) with
 *      10,000 services programmed and with 100, and their ratio (target: close to 1).
 * Sizes shrink with options.scale. Only kernel tables are programmed; no traffic flows. The
 * namespace (`trtest-dp-<pid>-<n>-*`) is removed however the run ends. Needs root, iproute2 and nftables.
 *
 *   npx tsx -e 'import("./bench/services.bench.ts").then(m=>m.run({scale:1})).then(s=>console.log(s.markdown))'
 */
import { loadavg } from "node:os";
import { subsystemLogger } from "../src/log/logger.js";
import { reportChanged } from "../src/datapath/report.js";
import type { DesiredNodeState, ReconcileReport, ServiceSpec } from "../src/datapath/types.js";
import { LinuxDatapath } from "../src/datapath/linux/linux-datapath.js";
import { run as runCommand } from "../src/util/exec.js";
import type { NetnsFixture } from "../src/datapath/linux/netns-fixture.js";
import { withNamespaces } from "./datapath/cleanup.js";
import { fmt, percentile, type BenchOptions, type BenchSection } from "./section.js";

const BACKENDS_PER_SERVICE = 10;
const SMALL = 100;
const CHANGES = 41;

const silent = subsystemLogger("services-bench");
silent.level = "silent";

/** Service i: ClusterIP in 198.19.0.0/16, backends spread over pod CIDRs of 100.64.0.0/10. */
function syntheticService(i: number): ServiceSpec {
  return {
    id: `ns${i % 50}/svc-${i}`,
    protocol: "tcp",
    port: 80,
    clusterIP: `198.19.${i >> 8}.${i & 255}`,
    backends: Array.from({ length: BACKENDS_PER_SERVICE }, (_, b) => ({ ip: `100.${64 + b}.${i >> 8}.${i & 255}`, port: 8080, active: true })),
  };
}

export interface ServiceTimings {
  readonly services: number;
  readonly scratchMs: number;
  readonly adoptMs: number;
  /** Reconcile time of each single-backend change. */
  readonly changeMs: number[];
  readonly teardownMs: number;
}

function expect(what: string, ok: boolean, report: ReconcileReport | undefined, detail: string): void {
  if (ok) return;
  const problems = report?.problems.map((p) => p.message).join("; ");
  throw new Error(`services bench: ${what}: ${detail}${problems ? ` (problems: ${problems})` : ""}`);
}

/** A node namespace with `count` services programmed, and a way to flip one backend of one of them. */
interface ProgrammedNode {
  readonly timings: ServiceTimings;
  flipOneBackend(): Promise<void>;
  teardown(): Promise<void>;
}

async function programNode(fixture: NetnsFixture, count: number): Promise<ProgrammedNode> {
  const ns = await fixture.namespace(`services-${count}`);
  await fixture.ip(ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0-peer");
  await fixture.ip(ns, "address", "add", "198.18.250.11/24", "dev", "eth0");
  await fixture.ip(ns, "link", "set", "dev", "eth0", "up");
  const base: DesiredNodeState = {
    mode: "native",
    local: { name: "bench", cluster: "c0", nodeIP: "198.18.250.11", podCIDR: "100.127.1.0/24", uplink: "eth0" },
    peers: [],
    endpoints: [],
  };
  // Specs are values: an unchanged service is passed as the same object, as the agent does.
  const services = Array.from({ length: count }, (_, i) => syntheticService(i));
  const dp = new LinuxDatapath({ netns: ns, logger: silent });
  const scratch = await dp.reconcile({ ...base, services });
  expect("from scratch", scratch.problems.length === 0 && scratch.counts["lb-frontend"].added === count, scratch, `added ${scratch.counts["lb-frontend"].added} frontends`);
  const adopt = await new LinuxDatapath({ netns: ns, logger: silent }).reconcile({ ...base, services });
  expect("adoption", !reportChanged(adopt) && adopt.problems.length === 0, adopt, `changed ${adopt.updated.length + adopt.added.length + adopt.removed.length} objects`);

  const timings: ServiceTimings = { services: count, scratchMs: scratch.durationMs, adoptMs: adopt.durationMs, changeMs: [], teardownMs: NaN };
  const target = Math.floor(count / 2);
  return {
    timings,
    async flipOneBackend() {
      const spec = services[target]!;
      // Alternately drain and restore the first backend of one service.
      services[target] = { ...spec, backends: spec.backends.map((b, i) => (i === 0 ? { ...b, active: !b.active } : b)) };
      const report = await dp.reconcile({ ...base, services });
      expect("one backend change", report.counts["lb-frontend"].updated === 1 && report.problems.length === 0, report, `updated ${report.updated.length} objects`);
      timings.changeMs.push(report.durationMs);
    },
    async teardown() {
      const report = await dp.teardown();
      expect("teardown", report.removed.some((o) => o.kind === "lb-table"), undefined, "no service table removed");
      (timings as { teardownMs: number }).teardownMs = report.durationMs;
    },
  };
}

/**
 * Programs a small and a large node side by side, then alternates single-backend changes between
 * them, so both sets of samples see the same load on a shared machine.
 */
export async function measureServices(smallCount: number, largeCount: number, changes: number): Promise<[ServiceTimings, ServiceTimings]> {
  return withNamespaces(async (fixture) => {
    const small = await programNode(fixture, smallCount);
    const large = await programNode(fixture, largeCount);
    for (let round = 0; round < changes; round++) {
      await small.flipOneBackend();
      await large.flipOneBackend();
    }
    await small.teardown();
    await large.teardown();
    return [small.timings, large.timings];
  });
}

const median = (xs: readonly number[]) => percentile([...xs].sort((a, b) => a - b), 50);
const p95 = (xs: readonly number[]) => percentile([...xs].sort((a, b) => a - b), 95);

export async function run(options: BenchOptions): Promise<BenchSection> {
  const { scale } = options;
  if (!(scale > 0 && scale <= 1)) throw new Error(`scale must be in (0, 1], got ${scale}`);
  if (process.getuid?.() !== 0) throw new Error(`the services bench creates network namespaces and needs root; running as uid ${process.getuid?.()}`);
  const nft = await runCommand("nft", ["--version"], { allowFailure: true }).catch(() => undefined);
  if (!nft || nft.code !== 0) throw new Error("the services bench needs nft (Debian package nftables): install it with apt-get, or run scripts/setup.sh");

  const large = Math.max(SMALL * 2, Math.round(10_000 * scale));
  const loadBefore = loadavg()[0]!;
  const [small, big] = await measureServices(SMALL, large, CHANGES);
  const loadAfter = loadavg()[0]!;
  const ratio = median(big.changeMs) / median(small.changeMs);

  const row = (t: ServiceTimings) =>
    `| ${t.services} | ${t.services * BACKENDS_PER_SERVICE} | ${fmt(t.scratchMs / 1000)} | ${fmt(t.adoptMs, 0)} | ${fmt(median(t.changeMs), 1)} | ${fmt(p95(t.changeMs), 1)} | ${fmt(t.teardownMs, 0)} |`;
  const markdown = [
    `One node namespace programmed by \`LinuxDatapath\` (nftables 1.0.6, \`table ip trellis_lb\`), ${BACKENDS_PER_SERVICE} active backends per`,
    "TCP service. \"From scratch\" is the first reconcile: the whole program in one `nft -f` transaction. \"Adopt\" is a",
    "new instance's first reconcile over the programmed node with the same state (a full `nft -j list table` read",
    `and no change). "One backend change" is the reconcile after one backend of one service turns inactive or active`,
    `again, ${CHANGES} times on each node, alternating between the two nodes so both see the same load; each is one`,
    "transaction that rewrites that service's frontend and touches nothing else.",
    `Load average (1 min) ${fmt(loadBefore)} at the start and ${fmt(loadAfter)} at the end.`,
    "",
    "| services | backends | from scratch (s) | adopt (ms) | one backend change, median (ms) | p95 (ms) | teardown (ms) |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    row(small),
    row(big),
    "",
    `One backend change with ${big.services} services vs ${small.services}: ×${fmt(ratio)} (target: close to 1).`,
  ].join("\n");
  return { title: "Services: programming 10,000 services, and the cost of one backend change", markdown };
}
