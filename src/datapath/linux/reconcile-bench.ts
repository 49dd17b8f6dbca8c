/**
 * How long the Linux datapath takes to reconcile a node with many peers: from scratch, with no
 * change, and with one peer added or removed among them. Runs in a throwaway namespace.
 *
 *   npx tsx src/datapath/linux/reconcile-bench.ts [peers...]     (default: 1000)
 *
 * `run()` has the shape bench/run.ts expects of a bench module ({ title, markdown }).
 */
import { pathToFileURL } from "node:url";
import { subsystemLogger } from "../../log/logger.js";
import type { DatapathMode, DesiredNodeState, PeerNode } from "../types.js";
import { LinuxDatapath } from "./linux-datapath.js";
import { NetnsFixture } from "./netns-fixture.js";

const ROUNDS = 5;

function peers(count: number): PeerNode[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `peer-${i}`,
    cluster: `c${1 + (i % 4)}`,
    nodeIP: `198.18.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`,
    podCIDR: `100.${64 + (i >> 8)}.${i & 255}.0/24`,
  }));
}

interface Timings {
  scratch: number;
  unchanged: number;
  addOne: number;
  removeOne: number;
  teardown: number;
  objects: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measure(peerCount: number, mode: DatapathMode): Promise<Timings> {
  const fixture = await NetnsFixture.create();
  try {
    const ns = await fixture.namespace("bench");
    await fixture.ip(ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0-peer");
    await fixture.ip(ns, "address", "add", "198.18.250.11/16", "dev", "eth0");
    await fixture.ip(ns, "link", "set", "dev", "eth0", "up");
    await fixture.ip(ns, "link", "set", "dev", "eth0-peer", "up");
    const all = peers(peerCount + 1);
    const local = { name: "bench", cluster: "c0", nodeIP: "198.18.250.11", podCIDR: "100.127.1.0/24", uplink: "eth0" };
    const state = (list: PeerNode[]): DesiredNodeState => ({ mode, local, peers: list, endpoints: [] });
    const base = state(all.slice(0, peerCount));
    const plusOne = state(all);
    const runs: Timings[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const dp = new LinuxDatapath({ netns: ns, logger: silent });
      const scratch = await dp.reconcile(base);
      const unchanged = await dp.reconcile(base);
      const addOne = await dp.reconcile(plusOne);
      const removeOne = await dp.reconcile(base);
      const teardown = await dp.teardown();
      if (scratch.problems.length || addOne.added.length === 0 || removeOne.removed.length === 0) {
        throw new Error(`bench reconcile went wrong: ${JSON.stringify(scratch.problems.slice(0, 3))}`);
      }
      runs.push({
        scratch: scratch.durationMs,
        unchanged: unchanged.durationMs,
        addOne: addOne.durationMs,
        removeOne: removeOne.durationMs,
        teardown: teardown.durationMs,
        objects: scratch.added.length + scratch.updated.length,
      });
    }
    const pick = (k: keyof Timings) => median(runs.map((r) => r[k]));
    return { scratch: pick("scratch"), unchanged: pick("unchanged"), addOne: pick("addOne"), removeOne: pick("removeOne"), teardown: pick("teardown"), objects: pick("objects") };
  } finally {
    await fixture.cleanup();
  }
}

const silent = subsystemLogger("datapath-bench");
silent.level = "silent";

export async function run(options: { scale: number } = { scale: 1 }, sizes = [1000]): Promise<{ title: string; markdown: string }> {
  const rows: string[] = [];
  for (const size of sizes.map((s) => Math.max(1, Math.round(s * options.scale)))) {
    for (const mode of ["tunnel", "native"] as const) {
      const t = await measure(size, mode);
      const ms = (x: number) => x.toFixed(1);
      rows.push(`| ${size} | ${mode} | ${t.objects} | ${ms(t.scratch)} | ${ms(t.unchanged)} | ${ms(t.addOne)} | ${ms(t.removeOne)} | ${ms(t.teardown)} |`);
    }
  }
  const markdown = [
    `Linux datapath reconcile in one network namespace, median of ${ROUNDS} rounds (ms). "objects" is what a`,
    "reconcile from scratch installs (per peer: route, FDB entry, neighbour in tunnel mode; one route in native).",
    "",
    "| peers | mode | objects | from scratch | no change | +1 peer | -1 peer | teardown |",
    "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...rows,
  ].join("\n");
  return { title: "Datapath reconcile", markdown };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
  const section = await run({ scale: 1 }, sizes.length ? sizes : [1000]);
  console.log(`## ${section.title}\n\n${section.markdown}`);
}
