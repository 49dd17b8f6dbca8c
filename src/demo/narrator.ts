import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "../lab/repo-paths.js";

/**
 * Runs real `trellis` commands for the demo and shows each one as a user would type it, with its
 * real output. Nothing is simulated: a failing command stops the demo with its error.
 */
export class Narrator {
  private readonly bin = join(packageRoot(), "bin", "trellis.js");
  private stepNo = 0;

  constructor(private readonly out: (s: string) => void = (s) => process.stdout.write(s)) {}

  step(title: string): void {
    this.stepNo++;
    this.out(`\n\x1b[1m== ${this.stepNo}. ${title}\x1b[0m\n`);
  }

  say(text: string): void {
    this.out(`${text}\n`);
  }

  /** Runs `trellis <args>`, echoing the command line and the output. */
  run(args: readonly string[], options: { allowFailure?: boolean; quietStderr?: boolean } = {}): { code: number; stdout: string } {
    this.out(`\x1b[36m$ trellis ${args.map((a) => (/[\s'"|;&]/.test(a) ? `'${a}'` : a)).join(" ")}\x1b[0m\n`);
    const r = spawnSync(process.execPath, [this.bin, ...args], { encoding: "utf8", env: { ...process.env, NODE_NO_WARNINGS: "1" } });
    if (r.stdout) this.out(r.stdout);
    if (r.stderr && !options.quietStderr) this.out(r.stderr);
    const code = r.status ?? 1;
    if (code !== 0 && !options.allowFailure) throw new Error(`the demo stopped: "trellis ${args.join(" ")}" exited with ${code}`);
    return { code, stdout: r.stdout ?? "" };
  }

  /** Runs `trellis <args>` without showing it (the demo's own polling), returning its output. */
  query(args: readonly string[]): string {
    const r = spawnSync(process.execPath, [this.bin, ...args], { encoding: "utf8", env: { ...process.env, NODE_NO_WARNINGS: "1" } });
    return r.status === 0 ? (r.stdout ?? "") : "";
  }

  /** Writes a manifest the way the seed shows it, and prints it. */
  manifest(dir: string, name: string, text: string): string {
    const path = join(dir, name);
    writeFileSync(path, text);
    this.out(`\x1b[2m# ${name}\n${text}\x1b[0m`);
    return path;
  }

  /** Polls `check` until it returns true; prints a dot per try so a long wait stays visible. */
  async waitFor(what: string, check: () => boolean, timeoutMs = 120_000): Promise<void> {
    this.out(`waiting for ${what} `);
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`the demo stopped: ${what} did not happen within ${timeoutMs / 1000} s`);
      this.out(".");
      await new Promise((r) => setTimeout(r, 1000));
    }
    this.out(" done\n");
  }
}
