import { readFileSync } from "node:fs";
import { writeFileAtomic } from "../util/atomic-file.js";
import type { Endpoint } from "./api-types.js";

/**
 * The agent's endpoints survive restarts in one JSON file (atomic writes), so a restarted agent
 * keeps programming the pods that still run and can find the ones deleted while it was down.
 */
export class EndpointStore {
  private readonly endpoints = new Map<string, Endpoint>();

  constructor(private readonly path: string) {
    let text: string | undefined;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    if (text) {
      const parsed = JSON.parse(text) as { endpoints?: Endpoint[] };
      for (const ep of parsed.endpoints ?? []) this.endpoints.set(ep.containerId, ep);
    }
  }

  get(containerId: string): Endpoint | undefined {
    return this.endpoints.get(containerId);
  }

  list(): Endpoint[] {
    return [...this.endpoints.values()].sort((a, b) => a.podNamespace.localeCompare(b.podNamespace) || a.podName.localeCompare(b.podName));
  }

  async put(ep: Endpoint): Promise<void> {
    this.endpoints.set(ep.containerId, ep);
    await this.save();
  }

  async remove(containerId: string): Promise<Endpoint | undefined> {
    const ep = this.endpoints.get(containerId);
    if (!ep) return undefined;
    this.endpoints.delete(containerId);
    await this.save();
    return ep;
  }

  private async save(): Promise<void> {
    await writeFileAtomic(this.path, JSON.stringify({ endpoints: this.list() }, null, 2) + "\n");
  }
}
