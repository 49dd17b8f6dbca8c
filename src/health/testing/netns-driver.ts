/**
 * Test support: runs one health operation from inside a node's network namespace, as the agent
 * would run it there, and prints the outcome as JSON on stdout. The test process stays in its own
 * namespace; it starts this with `nsenter --net=/run/netns/<node> node netns-driver.js '<request>'`.
 *
 * Requests: {"op":"ensure"|"remove", "spec": HealthEndpointSpec}
 *           {"op":"probe", "targets": HealthTarget[], "timeoutMs": n}
 * Output:   {"ok":true,"result":...} or {"ok":false,"error":"..."}
 */
import { HealthEndpoint, type HealthEndpointSpec } from "../health-endpoint.js";
import { HealthProber } from "../prober.js";
import type { HealthTarget } from "../types.js";

type Request =
  | { op: "ensure" | "remove"; spec: HealthEndpointSpec }
  | { op: "probe"; targets: HealthTarget[]; timeoutMs: number };

async function main(request: Request): Promise<unknown> {
  if (request.op === "probe") {
    const prober = new HealthProber({ targets: request.targets, timeoutMs: request.timeoutMs });
    return prober.probeNow();
  }
  const endpoint = new HealthEndpoint(request.spec);
  if (request.op === "ensure") return endpoint.ensure();
  await endpoint.remove();
  return { removed: true };
}

try {
  const result = await main(JSON.parse(process.argv[2] ?? "{}") as Request);
  process.stdout.write(`${JSON.stringify({ ok: true, result })}\n`);
} catch (e) {
  process.stdout.write(`${JSON.stringify({ ok: false, error: (e as Error).message })}\n`);
}
