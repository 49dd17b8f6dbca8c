import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { subsystemLogger, type Logger } from "../log/logger.js";
import { HEALTH_PORT, type HealthIdentity } from "./types.js";
import { requireIdentity, requireIpv4, requirePort } from "./validate.js";

/**
 * The `GET /hello` server: the agent runs one on its node IP, the health endpoint's responder one
 * on the health IP. Peers' probers call it; 200 means "this node's stack and this process answer".
 * The body names who answered, so an operator with curl can tell a misrouted probe from a good one.
 */

export type HelloRole = "agent" | "endpoint";

export interface HelloBody {
  readonly cluster: string;
  readonly node: string;
  readonly role: HelloRole;
}

export interface HealthServerOptions {
  readonly ip: string;
  /** Default 4240. 0 picks a free port (tests). */
  readonly port?: number;
  readonly identity: HealthIdentity;
  /** Who answers: the agent on the node IP (default) or the health endpoint's responder. */
  readonly role?: HelloRole;
  readonly logger?: Logger;
}

export class HealthServerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "HealthServerError";
  }
}

export function helloHandler(body: HelloBody): (req: IncomingMessage, res: ServerResponse) => void {
  const json = JSON.stringify(body);
  return (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/hello") {
      send(res, 404, { error: `no such path ${path}; health checks use GET /hello` });
    } else if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      send(res, 405, { error: `${req.method} is not allowed on /hello; use GET` });
    } else {
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(json) });
      res.end(req.method === "HEAD" ? undefined : json);
    }
    // Requests are never read: drain anything sent so the socket can close cleanly.
    req.resume();
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

export class HealthServer {
  readonly ip: string;
  readonly identity: HealthIdentity;
  readonly role: HelloRole;
  private readonly requestedPort: number;
  private readonly log: Logger;
  private server: Server | undefined;

  constructor(options: HealthServerOptions) {
    this.ip = requireIpv4("health server IP", options.ip);
    this.requestedPort = requirePort("health server port", options.port ?? HEALTH_PORT);
    this.identity = requireIdentity("health server identity", options.identity);
    this.role = options.role ?? "agent";
    this.log = options.logger ?? subsystemLogger("health-server", { node: this.identity.node });
  }

  /** The port actually listened on (differs from the requested one only when that was 0). */
  get port(): number {
    const addr = this.server?.address() as AddressInfo | null | undefined;
    return addr?.port ?? this.requestedPort;
  }

  get listening(): boolean {
    return this.server?.listening ?? false;
  }

  async start(): Promise<void> {
    if (this.server) return;
    const server = createServer(helloHandler({ cluster: this.identity.cluster, node: this.identity.node, role: this.role }));
    // Probes are one request per connection; nothing should hold a socket for long.
    server.keepAliveTimeout = 1000;
    server.headersTimeout = 5000;
    server.requestTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once("error", (e: NodeJS.ErrnoException) => reject(this.listenError(e)));
      server.listen({ host: this.ip, port: this.requestedPort, exclusive: true }, () => resolve());
    });
    server.on("error", (e) => this.log.error({ err: e.message }, "health server error"));
    this.server = server;
    this.log.info({ address: `${this.ip}:${this.port}`, role: this.role }, "health server listening");
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private listenError(e: NodeJS.ErrnoException): HealthServerError {
    const where = `${this.ip}:${this.requestedPort}`;
    if (e.code === "EADDRNOTAVAIL") {
      return new HealthServerError(`cannot listen on ${where}: ${this.ip} is not an address of this network namespace; give the node's own IP`, { cause: e });
    }
    if (e.code === "EADDRINUSE") {
      return new HealthServerError(`cannot listen on ${where}: the port is already in use (is another agent or responder running here?)`, { cause: e });
    }
    if (e.code === "EACCES") {
      return new HealthServerError(`cannot listen on ${where}: permission denied`, { cause: e });
    }
    return new HealthServerError(`cannot listen on ${where}: ${e.message}`, { cause: e });
  }
}
