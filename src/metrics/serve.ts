import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { isIP } from "node:net";
import type { Registry } from "prom-client";
import type { Logger } from "../log/logger.js";

/** Where to listen: host undefined means every address (Cilium's ":9962"). */
export interface ServeAddress {
  readonly host: string | undefined;
  readonly port: number;
}

/**
 * Reads a `--prometheus-serve-addr` value as Cilium does: "<host>:<port>", ":<port>" for every
 * address, "[<IPv6>]:<port>"; "" turns the server off (undefined). Throws a TypeError naming the
 * value otherwise.
 */
export function parseServeAddress(text: string, option = "--prometheus-serve-addr"): ServeAddress | undefined {
  if (text === "") return undefined;
  const bad = (why: string) => new TypeError(`${option} ${JSON.stringify(text)} is not an address to serve metrics on: ${why}; give "<ip>:<port>", ":<port>" for every address, or "" for none`);
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):([0-9]+)$/.exec(text);
  if (!m) throw bad("it must end in :<port>");
  const port = Number(m[3]);
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) throw bad("the port must be from 0 to 65535");
  const v6 = m[1];
  if (v6 !== undefined) {
    if (isIP(v6) !== 6) throw bad(`${v6} is not an IPv6 address`);
    return { host: v6, port };
  }
  const host = m[2]!;
  if (host === "") return { host: undefined, port };
  if (isIP(host) === 0 && !/^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/.test(host)) throw bad(`${host} is neither an IP address nor a host name`);
  return { host, port };
}

export interface MetricsServer {
  /** The address and port actually bound (the port chosen when 0 was asked for). */
  readonly address: AddressInfo;
  /** Where to scrape it from this machine. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `registry` in the Prometheus text format on `GET /metrics` at `addr` (see
 * parseServeAddress); resolves once listening, or to undefined when `addr` is "". A daemon that
 * cannot bind fails to start, saying where and why, as Cilium's do.
 */
export async function serveMetrics(registry: Registry, addr: string, logger?: Logger): Promise<MetricsServer | undefined> {
  const where = parseServeAddress(addr);
  if (where === undefined) return undefined;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://metrics").pathname;
    const text = (status: number, body: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(body), ...headers });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (path !== "/metrics") return text(404, `not found: ${path}; metrics are served at /metrics\n`);
    if (req.method !== "GET" && req.method !== "HEAD") return text(405, `method ${req.method} not allowed; use GET\n`, { allow: "GET, HEAD" });
    registry.metrics().then(
      (body) => text(200, body, { "content-type": registry.contentType }),
      (e: unknown) => {
        logger?.error({ err: (e as Error).message }, "collecting metrics failed");
        text(500, `collecting metrics failed: ${(e as Error).message}\n`);
      },
    );
  });
  await listen(server, where, addr);
  const address = server.address() as AddressInfo;
  const host = where.host ?? "127.0.0.1";
  const url = `http://${isIP(host) === 6 ? `[${host}]` : host}:${address.port}/metrics`;
  logger?.info({ addr, url }, "serving Prometheus metrics");
  return {
    address,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        // Scrapers keep connections alive; they must not hold up a daemon's shutdown.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function listen(server: Server, where: ServeAddress, addr: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) => {
      const why = e.code === "EADDRINUSE" ? "the port is in use (another daemon of the same kind in this network namespace?)" : e.code === "EADDRNOTAVAIL" ? "no interface has that address" : e.message;
      reject(new Error(`cannot serve metrics on ${JSON.stringify(addr)}: ${why}; choose another with --prometheus-serve-addr, or "" to serve none`, { cause: e }));
    });
    server.listen(where.port, where.host, () => resolve());
  });
}
