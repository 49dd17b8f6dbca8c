import { parseArgs } from "node:util";
import { subsystemLogger } from "../log/logger.js";
import { HealthServer } from "./health-server.js";
import { HEALTH_PORT, type HealthIdentity } from "./types.js";
import { requireIpv4, requirePort } from "./validate.js";

/**
 * The process that runs inside the health endpoint's namespace and answers `GET /hello` on the
 * health IP, like Cilium's cilium-health-responder. It is a separate process because a process
 * lives in one network namespace: the agent stays in the node's.
 *
 * The command line is `<prefix> --ip <health IP> --port <port> --cluster <cluster> --node <node>`,
 * where the prefix is whatever the caller configured (the CLI's hidden `trellis health responder`).
 */

export interface ResponderArgs {
  readonly ip: string;
  readonly port: number;
  readonly identity: HealthIdentity;
}

/** The arguments the health endpoint appends to the configured responder command. */
export function responderArgv(ip: string, port: number, identity: HealthIdentity): string[] {
  return ["--ip", ip, "--port", String(port), "--cluster", identity.cluster, "--node", identity.node];
}

/** Parses `responderArgv`'s output; errors name the bad argument and the value given. */
export function parseResponderArgv(argv: readonly string[]): ResponderArgs {
  let values: { ip?: string; port?: string; cluster?: string; node?: string };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { ip: { type: "string" }, port: { type: "string" }, cluster: { type: "string" }, node: { type: "string" } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new RangeError(`health responder: ${(e as Error).message}; usage: --ip <health IP> --port <port> --cluster <name> --node <name>`);
  }
  for (const name of ["ip", "cluster", "node"] as const) {
    if (values[name] === undefined) throw new RangeError(`health responder: --${name} is required`);
  }
  const portText = values.port ?? String(HEALTH_PORT);
  if (!/^\d+$/.test(portText)) throw new RangeError(`health responder: --port must be a number (got ${JSON.stringify(portText)})`);
  return {
    ip: requireIpv4("health responder --ip", values.ip),
    port: requirePort("health responder --port", Number(portText)),
    identity: { cluster: values.cluster!, node: values.node! },
  };
}

/**
 * Serves `GET /hello` on ip:port until SIGTERM or SIGINT, then closes and lets the process end.
 * Resolves once listening; rejects (naming the address) when it cannot listen.
 */
export async function runResponder(ip: string, port: number, identity: HealthIdentity): Promise<HealthServer> {
  const log = subsystemLogger("health-responder", { node: identity.node });
  const server = new HealthServer({ ip, port, identity, role: "endpoint", logger: log });
  await server.start();
  const shutdown = (signal: NodeJS.Signals) => {
    log.info({ signal }, "health responder stopping");
    void server.stop();
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
  return server;
}
