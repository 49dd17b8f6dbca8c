import { parseArgs } from "node:util";
import { runPodServer, type PodIdentity } from "./pod-server.js";

/**
 * `trellis lab pod-server` without the rest of the CLI. Every lab pod runs one of these, and
 * loading the whole CLI (every command, the etcd client, x509) costs ~0.9 s of CPU per process
 * against ~0.08 s for this module alone: with 50 pods starting at once on 2 cores, that load was
 * most of the time to Running. bin/trellis.js routes `lab pod-server` here before loading the CLI,
 * so the command line (which `lab down` and the e2e leak check look for) stays the same.
 */

export class PodServerUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PodServerUsageError";
  }
}

/** The pod's identity and ports from `--name --namespace --node --cluster [--ports 80,8080]`. */
export function parsePodServerArgs(args: readonly string[]): { who: PodIdentity; ports: number[] } {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        name: { type: "string" },
        namespace: { type: "string" },
        node: { type: "string" },
        cluster: { type: "string" },
        ports: { type: "string", default: "80" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new PodServerUsageError(`trellis lab pod-server: ${(e as Error).message}`);
  }
  const missing = (["name", "namespace", "node", "cluster"] as const).filter((k) => !values[k]);
  if (missing.length) throw new PodServerUsageError(`trellis lab pod-server: missing ${missing.map((k) => `--${k}`).join(", ")}`);
  const ports = values.ports.split(",").map((p) => {
    const n = Number(p);
    if (!/^\d+$/.test(p) || n < 1 || n > 65535) throw new PodServerUsageError(`trellis lab pod-server: --ports must be comma-separated port numbers 1-65535 (got ${JSON.stringify(values.ports)})`);
    return n;
  });
  return { who: { pod: values.name!, namespace: values.namespace!, node: values.node!, cluster: values.cluster! }, ports };
}

/** Runs the server for `args` (the arguments after `lab pod-server`) until the process is stopped. */
export async function podServerMain(args: readonly string[]): Promise<void> {
  try {
    const { who, ports } = parsePodServerArgs(args);
    await runPodServer(who, ports);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(e instanceof PodServerUsageError ? 2 : 1);
  }
}
