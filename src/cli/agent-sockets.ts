import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { callUnix } from "../util/unix-http.js";
import type { ContextEntry } from "./config-file.js";
import { UserError } from "./user-error.js";

/**
 * The agents of a cluster, reached over their local API sockets under the context's state
 * directory (`<state-dir>/nodes/<node>/agent.sock`, the layout `trellis lab up` makes; on real
 * hosts the same layout on a shared filesystem, or run the CLI on the node itself).
 */
export function agentSockets(context: ContextEntry, node?: string): { node: string; socket: string }[] {
  const dir = join(context.context["state-dir"], "nodes");
  const nodes = existsSync(dir) ? readdirSync(dir).sort((a, b) => a.localeCompare(b, "en", { numeric: true })) : [];
  const found = nodes.map((n) => ({ node: n, socket: join(dir, n, "agent.sock") })).filter((a) => existsSync(a.socket));
  if (node) {
    const one = found.find((a) => a.node === node);
    if (!one) throw new UserError(`no agent socket for node "${node}" under ${dir}; nodes with agents: ${found.map((a) => a.node).join(", ") || "none"}`);
    return [one];
  }
  if (found.length === 0) throw new UserError(`no agent sockets under ${dir}: are the agents of context "${context.name}" running? ("trellis lab status")`);
  return found;
}

export function agentGet<T>(socket: string, path: string): Promise<T> {
  return callUnix<T>(socket, "GET", path, undefined, 10_000);
}
