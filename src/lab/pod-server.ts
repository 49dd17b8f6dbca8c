import { createServer, type Server } from "node:http";
import { hostname } from "node:os";

/**
 * The lab's stand-in for a container image: a small HTTP server that answers with who it is, so a
 * test or a user can see which pod, node and cluster served a request. The manifest's `image:` is
 * recorded but never pulled.
 *
 *   GET /            {"pod", "namespace", "node", "cluster", "ip"?, "client"}  (the client's address as seen here)
 *   GET /stream?seconds=N   a chunk every 100 ms for N seconds: a long-lived TCP connection for
 *                           tests that restart things while traffic flows
 */
export interface PodIdentity {
  readonly pod: string;
  readonly namespace: string;
  readonly node: string;
  readonly cluster: string;
}

export function createPodServer(who: PodIdentity): Server {
  return createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://pod");
    if (url.pathname === "/stream") {
      const seconds = Math.min(Number(url.searchParams.get("seconds") ?? "10") || 10, 3600);
      res.writeHead(200, { "content-type": "text/plain" });
      let sent = 0;
      const total = Math.ceil(seconds * 10);
      const timer = setInterval(() => {
        sent++;
        res.write(`${who.pod} chunk ${sent}/${total}\n`);
        if (sent >= total) {
          clearInterval(timer);
          res.end(`${who.pod} done\n`);
        }
      }, 100);
      req.on("close", () => clearInterval(timer));
      return;
    }
    const body = JSON.stringify({ ...who, client: req.socket.remoteAddress?.replace(/^::ffff:/, "") }) + "\n";
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
}

/** Serves on every given port (all addresses) until the process is stopped. */
export async function runPodServer(who: PodIdentity, ports: readonly number[]): Promise<Server[]> {
  const servers: Server[] = [];
  for (const port of ports) {
    const s = createPodServer(who);
    await new Promise<void>((resolve, reject) => {
      s.once("error", reject);
      s.listen(port, "0.0.0.0", () => resolve());
    });
    servers.push(s);
  }
  const stop = () => {
    for (const s of servers) s.close();
    process.exit(0);
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  process.stderr.write(`pod ${who.namespace}/${who.pod} on ${hostname()} serving on ${ports.join(", ")}\n`);
  return servers;
}
