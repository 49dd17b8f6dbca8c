/**
 * Policy datapath benchmark, on a real network namespace programmed by LinuxDatapath.reconcilePolicy
 * (`table ip trellis_policy`); no traffic flows, no interfaces are needed (the table names them):
 *   1. a new policy on 1,000 endpoints (a few allow keys each): as the first reconcile of an
 *      instance (a rebuild) and as one change to a table that has none;
 *   2. one policy key added to one endpoint, with those 1,000 endpoints present;
 *   3. ONE ipcache change (an address changing identity) with 100,000 ipcache entries present,
 *      and with 1,000 (target: about the same); one pod starting or stopping (its policy and
 *      address) with both sizes' worth of state present;
 *   4. the full rebuild with 100,000 ipcache entries (a new instance, and the periodic resync).
 * Sizes shrink with options.scale. The namespace (`trtest-pol-<pid>-<n>-*`) is removed however the
 * run ends, short of SIGKILL (the next run removes that). Needs root and nftables.
 *
 *   npx tsx -e 'import("./bench/policy-datapath.bench.ts").then(m=>m.run({scale:1})).then(s=>console.log(s.markdown))'
 */
import { loadavg } from "node:os";
import { subsystemLogger } from "../src/log/logger.js";
import { LinuxDatapath } from "../src/datapath/linux/linux-datapath.js";
import { NetnsFixture } from "../src/datapath/linux/netns-fixture.js";
import type { EndpointPolicyRules, PolicyReconcileReport } from "../src/datapath/types.js";
import { formatIpv4 } from "../src/util/ipv4.js";
import { run as runCommand } from "../src/util/exec.js";
import { fmt, percentile, type BenchOptions, type BenchSection } from "./section.js";

const CHANGES = 21;
const SMALL_IPCACHE = 1000;

const silent = subsystemLogger("policy-bench");
silent.level = "silent";

/** Endpoint i: ingress enforced, allowing three identities on TCP 80/443 and one L3-only; egress to DNS. */
function endpoint(i: number): EndpointPolicyRules {
  const peer = 65536 + (i % 500);
  return {
    hostIfName: `trl${i.toString(16).padStart(11, "0")}`,
    ip: formatIpv4(0x647f0000 + 10 + i),
    ingress: { enforced: true, allow: new Set([`${peer}/6/80`, `${peer + 1}/6/443`, `${peer + 2}/0/0`]), deny: new Set() },
    egress: { enforced: true, allow: new Set(["0/17/53", `${peer}/6/8080`]), deny: new Set([`${peer + 3}/0/0`]) },
  };
}

/** `count` addresses of 100.64.0.0/10, with identities cycling over 1,000 numbers. */
function ipcache(count: number): Map<string, number> {
  return new Map(Array.from({ length: count }, (_, i) => [formatIpv4(0x64400000 + i), 65536 + (i % 1000)] as const));
}

function check(what: string, report: PolicyReconcileReport, ok: boolean): PolicyReconcileReport {
  if (!ok || report.problems.length) {
    throw new Error(`policy bench: ${what}: ${JSON.stringify({ ...report, problems: report.problems.map((p) => p.message) })}`);
  }
  return report;
}

export interface PolicyTimings {
  readonly endpoints: number;
  readonly largeIpcache: number;
  readonly endpointsRebuildMs: number;
  readonly endpointsChangeMs: number;
  readonly oneKeyMs: number[];
  readonly oneIpcacheSmallMs: number[];
  readonly oneIpcacheLargeMs: number[];
  /** A pod starting or stopping: its policy and its ipcache entry, with the large ipcache. */
  readonly oneEndpointMs: number[];
  readonly rebuildLargeMs: number;
  readonly resyncLargeMs: number;
  readonly teardownMs: number;
}

export async function measurePolicy(endpointCount: number, largeIpcache: number): Promise<PolicyTimings> {
  const fixture = await NetnsFixture.create("trtest-pol-");
  try {
    const ns = await fixture.namespace("bench");
    const endpoints = Array.from({ length: endpointCount }, (_, i) => endpoint(i));
    const small = ipcache(SMALL_IPCACHE);

    // 1. 1,000 endpoints, as a rebuild and as one change.
    const first = new LinuxDatapath({ netns: ns, logger: silent });
    const rebuild = check("endpoints, rebuild", await first.reconcilePolicy({ ipcache: small, endpoints }), true);
    await first.reconcilePolicy({ ipcache: small, endpoints: [] });
    const change = check("endpoints, change", await first.reconcilePolicy({ ipcache: small, endpoints }), true);
    if (change.rebuilt || change.endpoints.added !== endpointCount) throw new Error(`policy bench: expected ${endpointCount} endpoints added without a rebuild`);

    // 2. One key more or less on one endpoint; 3a. one ipcache change with the small ipcache.
    const oneKeyMs: number[] = [];
    const oneIpcacheSmallMs: number[] = [];
    const target = Math.floor(endpointCount / 2);
    for (let round = 0; round < CHANGES; round++) {
      const ep = endpoints[target]!;
      const allow = new Set(ep.ingress.allow);
      if (round % 2 === 0) allow.add("70000/6/9000");
      else allow.delete("70000/6/9000");
      const changed = [...endpoints];
      changed[target] = { ...ep, ingress: { ...ep.ingress, allow } };
      endpoints[target] = changed[target];
      const r = check("one key", await first.reconcilePolicy({ ipcache: small, endpoints: changed }), true);
      if (r.endpoints.updated !== 1 || r.rebuilt) throw new Error(`policy bench: one key change was not one endpoint update: ${JSON.stringify(r)}`);
      oneKeyMs.push(r.durationMs);
      const ip = formatIpv4(0x64400000 + 7);
      small.set(ip, small.get(ip) === 65537 ? 65538 : 65537);
      const c = check("one ipcache change (small)", await first.reconcilePolicy({ ipcache: small, endpoints }), true);
      if (c.ipcache.updated !== 1 || c.rebuilt) throw new Error("policy bench: one ipcache change was not one update");
      oneIpcacheSmallMs.push(c.durationMs);
    }

    // 3b. 100,000 entries: first a rebuild (a new instance), then single changes.
    const large = ipcache(largeIpcache);
    const second = new LinuxDatapath({ netns: ns, logger: silent });
    const rebuildLarge = check("rebuild with the large ipcache", await second.reconcilePolicy({ ipcache: large, endpoints }), true);
    const oneIpcacheLargeMs: number[] = [];
    const oneEndpointMs: number[] = [];
    const extra = endpoint(endpointCount);
    for (let round = 0; round < CHANGES; round++) {
      // A pod starting on the node (its policy and address), then stopping again.
      const starting = round % 2 === 0;
      if (starting) large.set(extra.ip, 65536);
      else large.delete(extra.ip);
      const present = starting ? [...endpoints, extra] : endpoints;
      const e = check("one endpoint", await second.reconcilePolicy({ ipcache: large, endpoints: present }), true);
      if ((starting ? e.endpoints.added : e.endpoints.removed) !== 1 || e.rebuilt) throw new Error(`policy bench: one endpoint was not one change: ${JSON.stringify(e)}`);
      oneEndpointMs.push(e.durationMs);

      const ip = formatIpv4(0x64400000 + 12345 % largeIpcache);
      large.set(ip, large.get(ip) === 65537 ? 65538 : 65537);
      const c = check("one ipcache change (large)", await second.reconcilePolicy({ ipcache: large, endpoints: present }), true);
      if (c.ipcache.updated !== 1 || c.rebuilt) throw new Error("policy bench: one ipcache change was not one update");
      oneIpcacheLargeMs.push(c.durationMs);
    }
    // 4. The periodic resync: a rebuild over the full table.
    const resyncing = new LinuxDatapath({ netns: ns, logger: silent, policyResyncMs: 0 });
    await resyncing.reconcilePolicy({ ipcache: large, endpoints });
    const resync = check("resync", await resyncing.reconcilePolicy({ ipcache: large, endpoints }), true);
    if (!resync.rebuilt) throw new Error("policy bench: resync did not rebuild");
    const teardownStarted = performance.now();
    await second.teardown();
    const teardownMs = performance.now() - teardownStarted;
    return {
      endpoints: endpointCount,
      largeIpcache,
      endpointsRebuildMs: rebuild.durationMs,
      endpointsChangeMs: change.durationMs,
      oneKeyMs,
      oneIpcacheSmallMs,
      oneIpcacheLargeMs,
      oneEndpointMs,
      rebuildLargeMs: rebuildLarge.durationMs,
      resyncLargeMs: resync.durationMs,
      teardownMs,
    };
  } finally {
    await fixture.cleanup();
  }
}

const median = (xs: readonly number[]) => percentile([...xs].sort((a, b) => a - b), 50);
const p95 = (xs: readonly number[]) => percentile([...xs].sort((a, b) => a - b), 95);

export async function run(options: BenchOptions): Promise<BenchSection> {
  const { scale } = options;
  if (!(scale > 0 && scale <= 1)) throw new Error(`scale must be in (0, 1], got ${scale}`);
  if (process.getuid?.() !== 0) throw new Error(`the policy bench creates network namespaces and needs root; running as uid ${process.getuid?.()}`);
  const nft = await runCommand("nft", ["--version"], { allowFailure: true }).catch(() => undefined);
  if (!nft || nft.code !== 0) throw new Error("the policy bench needs nft (Debian package nftables): install it with apt-get, or run scripts/setup.sh");

  const loadBefore = loadavg()[0]!;
  const t = await measurePolicy(Math.max(10, Math.round(1000 * scale)), Math.max(SMALL_IPCACHE * 2, Math.round(100_000 * scale)));
  const loadAfter = loadavg()[0]!;
  const ms = (n: number) => fmt(n, 0);
  const markdown = [
    "One namespace, `table ip trellis_policy` programmed by `LinuxDatapath.reconcilePolicy` (nftables 1.0.6). Each",
    "endpoint has ingress enforced with 3 allow keys and egress enforced with 2 allow keys and 1 deny key",
    `(2 chains, 4 interval sets). Single changes are repeated ${CHANGES} times. Load average (1 min) ${fmt(loadBefore)} at the`,
    `start and ${fmt(loadAfter)} at the end.`,
    "",
    "| what | time (ms) |",
    "| --- | ---: |",
    `| ${t.endpoints} endpoints, first reconcile of an instance (one rebuild transaction) | ${ms(t.endpointsRebuildMs)} |`,
    `| ${t.endpoints} endpoints added to a table with none (one change transaction) | ${ms(t.endpointsChangeMs)} |`,
    `| one key on one endpoint, ${t.endpoints} endpoints present, median / p95 | ${fmt(median(t.oneKeyMs), 1)} / ${fmt(p95(t.oneKeyMs), 1)} |`,
    `| one ipcache change, ${SMALL_IPCACHE} entries, median / p95 | ${fmt(median(t.oneIpcacheSmallMs), 1)} / ${fmt(p95(t.oneIpcacheSmallMs), 1)} |`,
    `| one ipcache change, ${t.largeIpcache} entries, median / p95 | ${fmt(median(t.oneIpcacheLargeMs), 1)} / ${fmt(p95(t.oneIpcacheLargeMs), 1)} |`,
    `| one endpoint (pod) added or removed, with its ipcache entry; ${t.endpoints} endpoints and ${t.largeIpcache} entries present, median / p95 | ${fmt(median(t.oneEndpointMs), 1)} / ${fmt(p95(t.oneEndpointMs), 1)} |`,
    `| rebuild with ${t.largeIpcache} ipcache entries and ${t.endpoints} endpoints (new instance) | ${ms(t.rebuildLargeMs)} |`,
    `| the same as a periodic resync (table already full) | ${ms(t.resyncLargeMs)} |`,
    `| teardown (delete the table) | ${ms(t.teardownMs)} |`,
    "",
    `One ipcache change with ${t.largeIpcache} entries vs ${SMALL_IPCACHE}: ×${fmt(median(t.oneIpcacheLargeMs) / median(t.oneIpcacheSmallMs))}.`,
  ].join("\n");
  return { title: "Network policy: 1,000 endpoints, 100,000 ipcache entries, and the cost of one change", markdown };
}
