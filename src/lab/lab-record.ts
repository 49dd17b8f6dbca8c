import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { DatapathMode } from "../resources/cluster-settings.js";
import { labPaths } from "./lab-dirs.js";

/** What `lab up` built, so that `status`, a second `up` and `down` agree on it. */
export interface LabRecord {
  readonly datapath: DatapathMode;
  readonly clusters: readonly { readonly index: number; readonly name: string; readonly id: number; readonly nodes: number }[];
  /** Contexts `lab up` wrote into the user's config file, removed again by `lab down`. */
  readonly contexts: readonly string[];
  readonly configFile: string;
  readonly createdAt: string;
}

export function readLabRecord(): LabRecord | undefined {
  const p = labPaths.record();
  if (!existsSync(p)) return undefined;
  return JSON.parse(readFileSync(p, "utf8")) as LabRecord;
}

export function writeLabRecord(r: LabRecord): void {
  const p = labPaths.record();
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, JSON.stringify(r, null, 2) + "\n");
}
