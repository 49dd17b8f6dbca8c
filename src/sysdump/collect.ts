import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { run } from "../util/exec.js";
import { mapLimited } from "../util/map-limited.js";
import type { DumpItem } from "./items.js";

/**
 * Runs the sysdump's items into a directory and packs it with the system `tar`. Every item is
 * attempted; a failure is written to `errors.txt` and `sysdump.json` in the archive and never
 * stops the others.
 */

export interface ItemResult {
  readonly path: string;
  readonly ok: boolean;
  readonly bytes: number;
  readonly durationMs: number;
  readonly error?: string;
}

/** `trellis-sysdump-20261123-070500`: the archive's base name and its top directory. */
export function sysdumpName(now: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `trellis-sysdump-${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
}

/** --output-filename with or without ".tar.gz"; default: the timestamped name in the current directory. */
export function archivePath(outputFilename: string | undefined, now: Date, cwd = process.cwd()): string {
  const name = outputFilename ?? sysdumpName(now);
  return resolve(cwd, name.endsWith(".tar.gz") ? name : `${name}.tar.gz`);
}

export async function collectItems(dir: string, items: readonly DumpItem[], options: { concurrency?: number; onItem?: (r: ItemResult) => void } = {}): Promise<ItemResult[]> {
  return mapLimited(items, options.concurrency ?? 3, async (item) => {
    const started = Date.now();
    let r: ItemResult;
    try {
      const content = await item.collect();
      const file = join(dir, item.path);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, content);
      r = { path: item.path, ok: true, bytes: Buffer.byteLength(content), durationMs: Date.now() - started };
    } catch (e) {
      r = { path: item.path, ok: false, bytes: 0, durationMs: Date.now() - started, error: (e as Error).message };
    }
    options.onItem?.(r);
    return r;
  });
}

export interface SysdumpResult {
  readonly archive: string;
  readonly items: readonly ItemResult[];
}

/** Collects `items` and writes the archive (a .tar.gz with one top directory named like the archive). */
export async function writeSysdump(archive: string, items: readonly DumpItem[], meta: Record<string, unknown>, options: { concurrency?: number; onItem?: (r: ItemResult) => void } = {}): Promise<SysdumpResult> {
  const top = basename(archive).replace(/\.tar\.gz$/, "");
  const work = await mkdtemp(join(tmpdir(), "trellis-sysdump-"));
  try {
    const dir = join(work, top);
    await mkdir(dir, { recursive: true });
    const results = await collectItems(dir, items, options);
    const failed = results.filter((r) => !r.ok);
    await writeFile(join(dir, "sysdump.json"), JSON.stringify({ ...meta, items: results }, null, 2) + "\n");
    await writeFile(join(dir, "errors.txt"), failed.length ? failed.map((r) => `${r.path}: ${r.error}\n`).join("") : "every item was collected\n");
    await mkdir(dirname(archive), { recursive: true });
    await run("tar", ["-czf", archive, "-C", work, top]);
    return { archive, items: results };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
