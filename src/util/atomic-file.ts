import { randomBytes } from "node:crypto";
import { open, readdir, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * Whole-file replacement that a crash cannot tear: the new content goes to a temp file in the same
 * directory, is fsynced, then renamed over the old file (rename is atomic within a filesystem), and
 * the directory is fsynced so the rename itself is durable. A reader sees the old file or the new
 * one, never half of either.
 */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  const tmp = join(dirname(path), `${tempPrefix(path)}${process.pid}-${randomBytes(4).toString("hex")}`);
  const fh = await open(tmp, "wx", 0o600);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  const dir = await open(dirname(path), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/**
 * Removes temp files a crashed writer left beside `path`. Call it only while holding the lock that
 * serialises writers: then no temp file can belong to a write in progress.
 */
export async function removeLeftoverTempFiles(path: string): Promise<string[]> {
  const prefix = tempPrefix(path);
  const dir = dirname(path);
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    if (!name.startsWith(prefix)) continue;
    await unlink(join(dir, name)).catch(() => undefined);
    removed.push(join(dir, name));
  }
  return removed;
}

function tempPrefix(path: string): string {
  return `.${basename(path)}.tmp-`;
}
