import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package root (where package.json is), found from this module's location in src/ or dist/src/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find the Trellis package root (no package.json above this module)");
    dir = up;
  }
  return dir;
}

/** How to run the `trellis` CLI as a child process: the daemons the lab starts are `trellis <subcommand>`. */
export function trellisCommand(): { command: string; args: string[] } {
  const entry = join(packageRoot(), "bin", "trellis.js");
  if (!existsSync(join(packageRoot(), "dist", "src", "cli", "main.js"))) {
    throw new Error("the compiled CLI is missing (dist/src/cli/main.js): run `npm run build` first");
  }
  return { command: process.execPath, args: ["--enable-source-maps", entry] };
}

/** Directory holding the CNI plugin executable (`trellis-cni`), for CNI_PATH. */
export function cniBinDir(): string {
  return join(packageRoot(), "bin");
}
