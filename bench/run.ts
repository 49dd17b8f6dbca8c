/**
 * `npm run bench`: runs every benchmark in turn and writes docs/benchmarks.md, with the command and
 * the machine it ran on. `--only NAME[,NAME]` reruns some and keeps the other sections as they were;
 * `--scale F` shrinks the workloads for a quick look (the page then says so).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem, release } from "node:os";
import type { BenchModule, BenchSection } from "./section.js";

const BENCHES: Record<string, () => Promise<BenchModule>> = {
  kvstore: () => import("./kvstore.bench.js"),
  decode: () => import("./decode.bench.js"),
  datapath: () => import("./datapath.bench.js"),
  services: () => import("./services.bench.js"),
  policy: () => import("./policy-datapath.bench.js"),
  "policy-traffic": () => import("./policy-traffic.bench.js"),
  lab: () => import("./lab.bench.js"),
  failover: () => import("./failover.bench.js"),
  clustermesh: () => import("./clustermesh.bench.js"),
};

const PAGE = "docs/benchmarks.md";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function machine(): string {
  const etcd = (() => {
    try {
      return /etcd Version: (\S+)/.exec(execFileSync("etcd", ["--version"], { encoding: "utf8" }))?.[1] ?? "?";
    } catch {
      return "not installed";
    }
  })();
  return `${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}, Node ${process.version}, etcd ${etcd}`;
}

function sectionBlock(name: string, s: BenchSection, when: string, scale: number): string {
  const scaled = scale === 1 ? "" : ` (scale ${scale}: reduced workload)`;
  return `<!-- bench:${name} -->\n## ${s.title}\n\n_Run ${when}${scaled}, \`npm run bench -- --only ${name}\`._\n\n${s.markdown.trim()}\n<!-- /bench:${name} -->`;
}

async function main(): Promise<void> {
  const scale = Number(arg("--scale") ?? "1");
  if (!(scale > 0 && scale <= 1)) throw new Error(`--scale must be in (0, 1], got ${arg("--scale")}`);
  const only = arg("--only")?.split(",");
  for (const n of only ?? []) if (!BENCHES[n]) throw new Error(`unknown benchmark "${n}"; known: ${Object.keys(BENCHES).join(", ")}`);
  const names = only ?? Object.keys(BENCHES);

  const old = existsSync(PAGE) ? readFileSync(PAGE, "utf8") : "";
  const blocks = new Map<string, string>();
  for (const m of old.matchAll(/<!-- bench:([\w-]+) -->[\s\S]*?<!-- \/bench:\1 -->/g)) blocks.set(m[1]!, m[0]);

  for (const name of names) {
    process.stderr.write(`bench: ${name} ...\n`);
    const started = Date.now();
    const mod = await BENCHES[name]!();
    const section = await mod.run({ scale });
    blocks.set(name, sectionBlock(name, section, new Date().toISOString().slice(0, 10), scale));
    process.stderr.write(`bench: ${name} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }

  const ordered = Object.keys(BENCHES).filter((n) => blocks.has(n)).map((n) => blocks.get(n)!);
  const page = [
    "# Benchmarks",
    "",
    "Written by `npm run bench` (all of them) or `npm run bench -- --only NAME`. Figures are from one",
    "shared machine; compare ratios measured in the same run rather than absolute times.",
    "",
    `Machine of the latest run: ${machine()}.`,
    "",
    ...ordered.flatMap((b) => [b, ""]),
  ].join("\n");
  writeFileSync(PAGE, page);
  process.stderr.write(`bench: wrote ${PAGE}\n`);
}

main().catch((e: unknown) => {
  console.error(`bench: ${(e as Error).message}`);
  process.exit(1);
});
