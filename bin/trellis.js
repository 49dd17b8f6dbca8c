#!/usr/bin/env node
// The published entry point: runs the compiled CLI (npm run build writes dist/).
// `lab pod-server` (one per lab pod) skips loading the CLI: see dist/src/lab/pod-server-main.js.
const [group, command, ...rest] = process.argv.slice(2);
if (group === "lab" && command === "pod-server" && !rest.includes("--help")) {
  const { podServerMain } = await import("../dist/src/lab/pod-server-main.js");
  await podServerMain(rest);
} else {
  await import("../dist/src/cli/main.js");
}
