// The project's test command: type-check and build, lint, then unit tests in parallel and
// end-to-end tests one at a time (they share the lab's address ranges). Ends with one summary line
// CI can read: "tests: N passed, N failed".
import { spawnSync } from "node:child_process";
import { readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

const args = new Set(process.argv.slice(2));
const only = args.has("--unit") ? "unit" : args.has("--e2e") ? "e2e" : "all";
const filter = process.argv.slice(2).filter((a) => !a.startsWith("--"));

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { stdio: opts.capture ? ["inherit", "pipe", "inherit"] : "inherit", encoding: "utf8" });
  if (opts.capture) process.stdout.write(r.stdout ?? "");
  return r;
}

function findTests(dir) {
  const out = [];
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith(".test.js")) out.push(p);
  }
  return out.sort();
}

const step = (name) => console.log(`\n== ${name}`);

step("type-check and build (tsc)");
// A clean build: tests deleted from the source must not keep running from stale output.
rmSync("dist", { recursive: true, force: true });
if (run("npx", ["tsc", "-p", "tsconfig.json"]).status !== 0) process.exit(1);
step("lint (eslint)");
if (run("npx", ["eslint", "--max-warnings=0", "."]).status !== 0) process.exit(1);

let passed = 0;
let failed = 0;
function runSuite(name, files, concurrency) {
  if (filter.length) files = files.filter((f) => filter.some((x) => f.includes(x)));
  if (!files.length) return;
  step(`${name}: ${files.length} files`);
  const r = run(
    process.execPath,
    ["--enable-source-maps", "--test", `--test-concurrency=${concurrency}`, "--test-reporter=spec", ...files],
    { capture: true },
  );
  const pass = /^ℹ pass (\d+)/m.exec(r.stdout ?? "");
  const fail = /^ℹ fail (\d+)/m.exec(r.stdout ?? "");
  passed += pass ? Number(pass[1]) : 0;
  failed += fail ? Number(fail[1]) : 0;
  if (r.status !== 0 && !(fail && Number(fail[1]) > 0)) failed += 1; // runner crashed outside a test
}

if (only !== "e2e") runSuite("unit tests", [...findTests("dist/src"), ...findTests("dist/bench")], 2);
if (only !== "unit") runSuite("end-to-end tests", findTests("dist/test/e2e"), 1);

console.log(`\ntests: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
